"""Encodings the contracts recompute: EIP-712 typed data."""
