"""Shared fixtures live in tests/fixtures/ and are loaded here."""

import warnings

warnings.filterwarnings("ignore", module="pydantic_settings")

pytest_plugins = [
    "tests.fixtures.accounts",
    "tests.fixtures.suite",
    "tests.fixtures.gateway",
]


def pytest_collection_finish(session):
    """Refuses a fixture name defined at two scopes anywhere in the suite. Ape orders a
    test's fixtures by every definition of a name in the session, not only the one the test
    sees: a module-scoped `funded` in one file made another file's function-scoped `funded`
    run before Ape's per-test snapshot, so that file's tests leaked chain state into each
    other whenever both files were collected (a whole-suite run, never the file alone)."""
    import pytest

    mixed = {
        name: sorted({d.scope for d in defs})
        for name, defs in session._fixturemanager._arg2fixturedefs.items()
        if len({d.scope for d in defs}) > 1
    }
    if mixed:
        raise pytest.UsageError(f"fixtures defined at more than one scope: {mixed}")
