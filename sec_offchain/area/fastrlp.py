"""RLP for flat lists of byte strings, the shape of a trade record, without the generic
encoder's sedes inference (≈ 20x faster; the tests check it against the `rlp` package).
Decoding is strict: canonical lengths only, and exactly one list that spans the input."""

from __future__ import annotations


def _prefix(length: int, short: int) -> bytes:
    if length < 56:
        return bytes([short + length])
    n = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([short + 55 + len(n)]) + n


def encode_item(b: bytes) -> bytes:
    if len(b) == 1 and b[0] < 0x80:
        return b
    return _prefix(len(b), 0x80) + b


def encode_int(i: int) -> bytes:
    return encode_item(i.to_bytes((i.bit_length() + 7) // 8, "big") if i else b"")


def encode_list(items: list[bytes]) -> bytes:
    """`items` already encoded (encode_item / encode_int)."""
    body = b"".join(items)
    return _prefix(len(body), 0xC0) + body


def _length(data: bytes, pos: int, short: int) -> tuple[int, int]:
    """(payload length, payload start) of the item whose prefix byte is at `pos`."""
    first = data[pos]
    if first < short + 56:
        return first - short, pos + 1
    n = first - short - 55
    raw = data[pos + 1 : pos + 1 + n]
    if len(raw) != n or raw[:1] == b"\0":
        raise ValueError("non-canonical length")
    length = int.from_bytes(raw, "big")
    if length < 56:
        raise ValueError("non-canonical length")
    return length, pos + 1 + n


def decode_flat_list(data: bytes) -> list[bytes]:
    if not data or data[0] < 0xC0:
        raise ValueError("not an RLP list")
    length, pos = _length(data, 0, 0xC0)
    end = pos + length
    if end != len(data):
        raise ValueError("trailing bytes or truncated list")
    out = []
    append = out.append
    while pos < end:
        first = data[pos]
        if first < 0x80:
            append(data[pos : pos + 1])
            pos += 1
            continue
        if first < 0xB8:  # short string, inline
            start = pos + 1
            length = first - 0x80
            if length == 1 and data[start] < 0x80:
                raise ValueError("non-canonical single byte")
        elif first < 0xC0:
            length, start = _length(data, pos, 0x80)
        else:
            raise ValueError("nested list where a string was expected")
        stop = start + length
        if stop > end:
            raise ValueError("truncated item")
        append(data[start:stop])
        pos = stop
    return out
