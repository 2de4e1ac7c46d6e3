"""SEC - Social Ecommerce Chain: the off-chain half (contract clients, devchains, CLI)."""

__version__ = "0.1.0"
