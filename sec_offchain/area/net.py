"""The framed protocol nodes speak on asyncio streams (DESIGN §4.2a).

A frame is `uint32 length | uint8 type | payload`, the payload RLP. A connection starts with
a signed hello each way (node address, chain id, area, protocol version, time, signature over
those), so a peer's identity is its key. Each connection has one writer task fed by a bounded
queue: a peer that cannot keep up is disconnected, never silently dropped.

The node talks to `Connection`s only, so a different transport (in-memory for a simulator, a
libp2p adapter) can stand in for TCP without touching the node.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import rlp

from sec_offchain.area.records import RecordError, recover_address
from sec_offchain.crypto.hashing import keccak
from sec_offchain.encoding.area_header import AreaHeader, sign_digest
from sec_offchain.exceptions import SecError

PROTOCOL_VERSION = 1
MAX_FRAME = 16 * 1024 * 1024
QUEUE_DEPTH = 4096
HELLO_MAX_SKEW = 300

HELLO, RECORD, BLOCK, GET_BLOCKS, STATUS_REQ, STATUS, SUBMIT, ACK, ATTEST, GET_ATTEST = range(1, 11)
RECORDS_OF, RECORDS = 11, 12
SUBMIT_TX, TX, LEDGER_REQ, LEDGER = 13, 14, 15, 16
SHARE = 17
GET_ATTESTS = 18  # pull: [first, last] height; answered with one ATTEST frame per signature
SIGNED_HEADER = 19  # a header with a validator's signature over it (relayed; judges watch it)


def free_listen_port(kind: int = socket.SOCK_STREAM) -> int:
    """A free 127.0.0.1 port below Linux's ephemeral range (32768+), so an outgoing
    connection made between choosing it and binding it cannot take it."""
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(20_000, 32_000)
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise OSError("no free port in 20000-32000")


def encode_signed_header(header: AreaHeader, validator: bytes, signature: bytes) -> bytes:
    return rlp.encode([*header.as_tuple(), validator, signature])


def decode_signed_header(payload: bytes) -> tuple[AreaHeader, bytes, bytes]:
    """(header, validator, signature) of a SIGNED_HEADER frame; ValueError if malformed."""
    items = rlp.decode(payload)
    if len(items) != 9:
        raise ValueError("a signed header has 9 fields")
    area, height, parent, tx, credit, egress, ts, validator, sig = items
    header = AreaHeader(
        int.from_bytes(area, "big"),
        int.from_bytes(height, "big"),
        parent,
        tx,
        credit,
        egress,
        int.from_bytes(ts, "big"),
    )
    return header, validator, sig


class ProtocolError(SecError):
    """A peer sent something the protocol does not allow."""


@dataclass(frozen=True)
class Hello:
    node: bytes
    chain_id: int
    area_id: int
    version: int
    timestamp: int
    height: int
    signature: bytes

    def body(self) -> bytes:
        return rlp.encode([self.node, self.chain_id, self.area_id, self.version, self.timestamp])

    @classmethod
    def make(cls, key: bytes, node: bytes, chain_id: int, area_id: int, height: int) -> Hello:
        unsigned = cls(node, chain_id, area_id, PROTOCOL_VERSION, int(time.time()), height, b"")
        sig = sign_digest(key, keccak(unsigned.body()))
        return cls(
            node,
            chain_id,
            area_id,
            PROTOCOL_VERSION,
            unsigned.timestamp,
            height,
            sig,
        )

    def encode(self) -> bytes:
        return rlp.encode(
            [
                self.node,
                self.chain_id,
                self.area_id,
                self.version,
                self.timestamp,
                self.height,
                self.signature,
            ]
        )

    @classmethod
    def decode(cls, data: bytes) -> Hello:
        try:
            node, chain_id, area, version, ts, height, sig = rlp.decode(data)
            hello = cls(
                node,
                int.from_bytes(chain_id, "big"),
                int.from_bytes(area, "big"),
                int.from_bytes(version, "big"),
                int.from_bytes(ts, "big"),
                int.from_bytes(height, "big"),
                sig,
            )
        except Exception as exc:  # noqa: BLE001
            raise ProtocolError(f"bad hello: {exc}") from exc
        try:
            signer = recover_address(keccak(hello.body()), hello.signature)
        except RecordError as exc:
            raise ProtocolError(f"bad hello signature: {exc}") from exc
        if signer != hello.node:
            raise ProtocolError("hello is not signed by the node it names")
        return hello


class Connection:
    """One peer over one stream pair."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, depth: int = QUEUE_DEPTH
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(depth)
        self.hello: Hello | None = None
        self.closed = False
        self._writer_task: asyncio.Task | None = None

    @property
    def peer(self) -> bytes:
        return self.hello.node if self.hello else b""

    def start_writer(self) -> None:
        self._writer_task = asyncio.get_running_loop().create_task(self._write_loop())

    async def _write_loop(self) -> None:
        try:
            while True:
                frame = await self.queue.get()
                if frame is None:
                    break
                self.writer.write(frame)
                await self.writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.close()

    def send(self, kind: int, payload: bytes) -> bool:
        """Queues a frame; a full queue means a slow peer, which is disconnected."""
        if self.closed:
            return False
        try:
            self.queue.put_nowait(struct.pack(">IB", len(payload) + 1, kind) + payload)
            return True
        except asyncio.QueueFull:
            self.close()
            return False

    async def send_now(self, kind: int, payload: bytes) -> None:
        self.writer.write(struct.pack(">IB", len(payload) + 1, kind) + payload)
        await self.writer.drain()

    async def read(self) -> tuple[int, bytes]:
        head = await self.reader.readexactly(4)
        (length,) = struct.unpack(">I", head)
        if not 1 <= length <= MAX_FRAME:
            raise ProtocolError(f"frame of {length} bytes")
        body = await self.reader.readexactly(length)
        return body[0], body[1:]

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.queue.put_nowait(None)
        except asyncio.QueueFull:
            pass
        try:
            self.writer.close()
        except Exception:  # noqa: BLE001 - already gone
            pass


async def handshake(conn: Connection, mine: Hello, chain_id: int, area_id: int) -> Hello:
    await conn.send_now(HELLO, mine.encode())
    kind, payload = await asyncio.wait_for(conn.read(), 10)
    if kind != HELLO:
        raise ProtocolError("expected a hello first")
    theirs = Hello.decode(payload)
    if theirs.version != PROTOCOL_VERSION:
        raise ProtocolError(f"protocol version {theirs.version}")
    if theirs.chain_id != chain_id or theirs.area_id not in (0, area_id):
        raise ProtocolError("peer is on another chain or area")
    if abs(theirs.timestamp - time.time()) > HELLO_MAX_SKEW:
        raise ProtocolError("hello is stale")
    conn.hello = theirs
    return theirs


Handler = Callable[[Connection, int, bytes], Awaitable[None]]


async def request(
    host: str,
    port: int,
    key: bytes,
    node: bytes,
    chain_id: int,
    area_id: int,
    kind: int,
    payload: bytes,
    reply: int,
    timeout: float = 10.0,
) -> bytes:
    """One request-reply exchange as a short-lived client (used by the CLI and relayers)."""
    replies = await request_many(
        host, port, key, node, chain_id, area_id, kind, [payload], reply, timeout
    )
    return replies[0]


async def request_many(
    host: str,
    port: int,
    key: bytes,
    node: bytes,
    chain_id: int,
    area_id: int,
    kind: int,
    payloads: list[bytes],
    reply: int,
    timeout: float = 10.0,
) -> list[bytes]:
    """Several requests of one kind over one connection, sent at once; the replies in the
    order asked (a node answers a connection's frames in turn). A reader far from the node
    pays one handshake and one round trip for all of them."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    conn = Connection(reader, writer)
    try:
        await handshake(conn, Hello.make(key, node, chain_id, 0, 0), chain_id, area_id)
        for payload in payloads:
            await conn.send_now(kind, payload)
        out: list[bytes] = []
        while len(out) < len(payloads):
            got, body = await asyncio.wait_for(conn.read(), timeout)
            if got == reply:
                out.append(body)
        return out
    finally:
        conn.close()


async def request_blocks(
    host: str,
    port: int,
    key: bytes,
    node: bytes,
    chain_id: int,
    area_id: int,
    first: int,
    count: int,
    timeout: float = 10.0,
) -> list[bytes]:
    """Up to `count` encoded blocks from height `first` on, over one connection: the node's
    height first (STATUS), then exactly the blocks it holds (GET_BLOCKS). A reader far from
    the node pays a few round trips per batch instead of per block."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    conn = Connection(reader, writer)
    try:
        await handshake(conn, Hello.make(key, node, chain_id, 0, 0), chain_id, area_id)
        await conn.send_now(STATUS_REQ, b"")
        while True:
            got, body = await asyncio.wait_for(conn.read(), timeout)
            if got == STATUS:
                break
        try:
            height = int(json.loads(body)["height"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ProtocolError("malformed status") from exc
        wanted = min(count, height - first + 1)
        out: list[bytes] = []
        if wanted <= 0:
            return out
        await conn.send_now(GET_BLOCKS, rlp.encode([first, wanted]))
        while len(out) < wanted:
            try:
                got, body = await asyncio.wait_for(conn.read(), timeout)
            except TimeoutError:
                break  # fewer than it said it holds: what came is still good
            if got == BLOCK:
                out.append(body)
        return out
    finally:
        conn.close()


# ---------------------------------------------------------------------- transports

StreamHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Transport:
    """How a node listens and dials: streams in, streams out. The node never touches
    sockets itself, so TCP, an in-process transport or a libp2p adapter are alike to it."""

    async def listen(self, handler: StreamHandler) -> None:
        raise NotImplementedError

    async def dial(self, address: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    @property
    def address(self) -> str:
        raise NotImplementedError


class TcpTransport(Transport):
    """TCP on `host:port`; peers are dialled as "host:port"."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._server: asyncio.AbstractServer | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def listen(self, handler: StreamHandler) -> None:
        self._server = await asyncio.start_server(handler, self.host, self.port)

    async def dial(self, address: str):
        host, port = address.rsplit(":", 1)
        return await asyncio.wait_for(asyncio.open_connection(host, int(port)), 2)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()


class MemoryTransport(Transport):
    """In-process: nodes of one event loop find each other by name in a shared registry and
    talk over socket pairs (no ports, nothing leaves the process)."""

    def __init__(self, name: str, registry: dict[str, StreamHandler]) -> None:
        self.name = name
        self.registry = registry

    @property
    def address(self) -> str:
        return self.name

    async def listen(self, handler: StreamHandler) -> None:
        self.registry[self.name] = handler

    async def dial(self, address: str):
        handler = self.registry.get(address)
        if handler is None:
            raise ConnectionRefusedError(f"no node {address!r}")
        ours, theirs = socket.socketpair()
        reader, writer = await asyncio.open_connection(sock=ours)
        their_reader, their_writer = await asyncio.open_connection(sock=theirs)
        asyncio.get_running_loop().create_task(handler(their_reader, their_writer))
        return reader, writer

    def close(self) -> None:
        self.registry.pop(self.name, None)
