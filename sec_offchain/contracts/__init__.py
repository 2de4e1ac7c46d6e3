"""Typed clients over the compiled contracts, the deployments file and the deployer."""

SUITE = (
    "SECToken",
    "Vesting",
    "TrustIndex",
    "Escrow",
    "ShareRewards",
    "Staking",
    "Court",
    "AnchorHub",
    "BorderGateway",
    "AreaDirectory",
)
