"""kill -9 of a running `sec gateway up` in the middle of indexing, then a restart on the same
store: the index equals one built from scratch (SQLite and PostgreSQL)."""

import os
import signal
import time

import httpx
import pytest

from sec_offchain.gateway.indexer import Indexer
from sec_offchain.gateway.store import open_store
from tests.fixtures.gateway import GatewayProcess


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_kill_9_while_indexing__restart__equals_a_fresh_index(
    gateway_chain, tmp_path, request, backend
):
    chain = gateway_chain
    w3 = chain.anvil.w3
    db = (
        str(tmp_path / "killed.db")
        if backend == "sqlite"
        else request.getfixturevalue("postgres")()
    )
    head = int(w3.eth.block_number)
    first, mid = chain.deployment.block, (chain.deployment.block + head) // 2
    # one block per batch: indexing the history takes many batches, so the kill lands in
    # the middle of it
    proc = GatewayProcess(
        w3.provider.endpoint_uri, chain.deployment_path, db, "--batch-blocks", "1"
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        indexed = httpx.get(proc.url + "/v1/status", timeout=5).json()["indexed_block"]
        if indexed >= mid:
            break
    os.kill(proc.proc.pid, signal.SIGKILL)
    proc.proc.wait()
    assert first <= indexed < head
    store = open_store(db)
    at_kill = store.get_cursor()
    assert indexed <= at_kill < head
    store.close()

    again = GatewayProcess(w3.provider.endpoint_uri, chain.deployment_path, db)
    try:
        again.wait_indexed(head)
    finally:
        again.stop()
    fresh = open_store(str(tmp_path / "fresh.db"))
    Indexer(w3, chain.deployment, fresh).catch_up()
    restarted = open_store(db)
    try:
        assert restarted.dump() == fresh.dump()
    finally:
        restarted.close()
        fresh.close()
