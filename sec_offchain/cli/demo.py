"""`sec demo`: the narrated trust loop on the embedded devchain."""

from __future__ import annotations

from sec_offchain.cli.common import console, guarded


def demo() -> None:
    """Narrated walk through the escrow trust loop on the embedded devchain."""
    from sec_offchain.demo import run_demo

    guarded(lambda: run_demo(console))
