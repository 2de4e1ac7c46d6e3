"""Development chains: the embedded py-evm chain (eth-tester, the engine of Ape's local
network) in this process, and anvil (npm @foundry-rs/anvil) as a real JSON-RPC node that
this module starts on a free 127.0.0.1 port and stops again."""

from __future__ import annotations

import abc
import logging
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from web3 import Web3

from sec_offchain.crypto.keys import TEST_MNEMONIC
from sec_offchain.exceptions import DevchainError

log = logging.getLogger(__name__)

DEV_BALANCE_ETH = 100_000
ANVIL_START_TIMEOUT = 20.0


class ChainControl(abc.ABC):
    """A chain whose clock a development tool may move."""

    w3: Web3

    def now(self) -> int:
        """The timestamp of the latest block."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    @abc.abstractmethod
    def set_next_timestamp(self, timestamp: int) -> None:
        """The next transaction (or mined block) gets exactly `timestamp`."""

    @abc.abstractmethod
    def mine_blocks(self, count: int) -> None:
        """Mines `count` empty blocks (a Court draw waits for a later block's hash)."""

    def advance_time(self, seconds: int) -> int:
        """The next transaction runs `seconds` after the latest block; returns that time."""
        target = self.now() + seconds
        self.set_next_timestamp(target)
        return target


class EmbeddedChain(ChainControl):
    """Ape's local network: py-evm in this process through eth-tester (Prague rules),
    chain id 1337, the first ten accounts of the test mnemonic funded."""

    def __init__(self) -> None:
        import warnings

        warnings.filterwarnings("ignore", module="pydantic_settings")
        logging.getLogger("ape").setLevel(logging.WARNING)
        from ape import networks

        self._network = networks.parse_network_choice("ethereum:local:test")
        self.provider = self._network.__enter__()
        self.w3 = self.provider.web3

    def set_next_timestamp(self, timestamp: int) -> None:
        self.provider.set_timestamp(timestamp)

    def mine_blocks(self, count: int) -> None:
        self.provider.mine(count)

    def close(self) -> None:
        self._network.__exit__(None, None, None)


class RpcChain(ChainControl):
    """Any JSON-RPC endpoint; time control uses anvil's/hardhat's evm_* methods."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))

    def fetch_chain_id(self) -> int:
        """The node's chain id; DevchainError when nothing answers at the URL."""
        try:
            return int(self.w3.eth.chain_id)
        except Exception as exc:  # noqa: BLE001 - any transport error means the same here
            raise DevchainError(
                f"cannot reach a node at {self.url}: {exc.__class__.__name__}"
            ) from exc

    def set_next_timestamp(self, timestamp: int) -> None:
        self.w3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])  # type: ignore[arg-type]

    def mine(self) -> None:
        self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    def mine_blocks(self, count: int) -> None:
        for _ in range(count):
            self.mine()


def find_anvil() -> str:
    """The anvil binary: $SEC_ANVIL, the project's node_modules, or PATH."""
    candidates = [os.environ.get("SEC_ANVIL", "")]
    root = Path(__file__).resolve().parents[1]
    candidates.append(str(root / "node_modules" / ".bin" / "anvil"))
    candidates.append(shutil.which("anvil") or "")
    for c in candidates:
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return c
    raise DevchainError("anvil not found: run `make setup` (npm install @foundry-rs/anvil)")


def get_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Anvil(RpcChain):
    """An anvil process on a free 127.0.0.1 port; a context manager that stops it.
    Mines on every transaction (automine) unless `block_time` is given."""

    def __init__(
        self,
        block_time: float | None = None,
        chain_id: int = 31337,
        extra_args: tuple[str, ...] = (),
        die_with_parent: bool = False,
    ) -> None:
        self.port = get_free_port()
        super().__init__(f"http://127.0.0.1:{self.port}")
        cmd = [
            find_anvil(),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--chain-id",
            str(chain_id),
            "--hardfork",
            "prague",
            "--balance",
            str(DEV_BALANCE_ETH),
            "--mnemonic",
            TEST_MNEMONIC,
        ]
        if block_time:
            cmd += ["--block-time", str(block_time)]
        cmd += list(extra_args)
        preexec = None
        if die_with_parent:  # `sec devnet up`: anvil must not outlive it, even after SIGKILL
            from sec_offchain.procs import parent_death_signal

            preexec = parent_death_signal()
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=preexec,  # noqa: PLW1509 - started before any thread
        )
        deadline = time.monotonic() + ANVIL_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise DevchainError(f"anvil exited at start: {err.strip()[:300]}")
            try:
                self.fetch_chain_id()
                log.info("anvil ready at %s", self.url)
                return
            except DevchainError:  # not up yet
                pass
            time.sleep(0.05)
        self.stop()
        raise DevchainError(f"anvil did not answer on {self.url} within {ANVIL_START_TIMEOUT} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Anvil:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
