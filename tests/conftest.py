"""Shared fixtures live in tests/fixtures/ and are loaded here."""

import warnings

warnings.filterwarnings("ignore", module="pydantic_settings")

pytest_plugins = [
    "tests.fixtures.accounts",
    "tests.fixtures.suite",
    "tests.fixtures.gateway",
]
