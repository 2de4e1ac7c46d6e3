"""Consensus: validator signing with slashing protection."""
