"""Keccak-256, the fast way: the C implementation of safe-pysha3 (about 8x pycryptodome's
through ctypes, which eth-hash uses by default); pycryptodome if it is missing."""

from __future__ import annotations

try:
    from sha3 import keccak_256 as _keccak_256
except ImportError:  # pragma: no cover - pycryptodome is always there (eth-hash needs it)
    from Crypto.Hash import keccak as _keccak

    def _keccak_256(data: bytes):  # type: ignore[misc]
        return _keccak.new(digest_bits=256, data=data)


def keccak(data: bytes) -> bytes:
    return _keccak_256(data).digest()
