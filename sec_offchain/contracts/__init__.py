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
    "Forwarder",
    "AreaDirectory",
)

# Chains where dev:0 signs by default and the deployer funds test accounts (anvil, eth-tester).
DEV_CHAIN_IDS = (31337, 1337)
