"""Every store that keeps chain data or what a process acknowledged reads back WAL and
synchronous=FULL (2): a change that weakens either (and with it "acknowledged means on disk,
also after kill -9") fails here."""

import pytest
from web3 import Web3

from sec_offchain.area.chain import AreaChain
from sec_offchain.consensus.signer import ValidatorSigner
from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.relayers.anchor import AnchorRelayer
from sec_offchain.relayers.bgc import BgcRelayer
from sec_offchain.relayers.bridge import BridgeConfig, EscrowBridge
from sec_offchain.storage import open_db
from tests.offchain.test_area_chain import CONFIG, POLICY

ZERO = "0x" + "00" * 20
ABI: list = []


def offline_w3():
    return Web3(Web3.HTTPProvider("http://127.0.0.1:9", request_kwargs={"timeout": 1}))


def stores(tmp_path):
    w3 = offline_w3()
    account = get_dev_account(9)
    chain = AreaChain(tmp_path / "chain.db", CONFIG, POLICY)
    signer = ValidatorSigner(account.key, tmp_path / "slashing.db", 31337, ZERO)
    anchor = AnchorRelayer(
        w3, ZERO, ABI, ZERO, ABI, account, 1, lambda h: None, tmp_path / "anchor.db"
    )
    bridge = EscrowBridge(
        w3,
        ZERO,
        ABI,
        BridgeConfig(key=account.key, index=0),
        b"\0" * 20,
        CONFIG.record_separator,
        lambda seller: 1,
        lambda r: True,
        tmp_path / "bridge.db",
    )
    bgc = BgcRelayer(w3, None, None, account, [1], lambda a, h: None, b"", tmp_path / "bgc.db")
    return {
        "open_db": open_db(tmp_path / "plain.db"),
        "area chain": chain.db,
        "validator signer": signer._db,
        "anchor relayer": anchor.db,
        "escrow bridge": bridge.db,
        "bgc relayer": bgc.db,
    }


def test_every_store__wal_and_synchronous_full(tmp_path):
    found = stores(tmp_path)
    assert len(found) == 6
    for name, db in found.items():
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",), name
        assert db.execute("PRAGMA synchronous").fetchone() == (2,), name
        assert db.isolation_level is None, name  # autocommit: a write is committed at once
        db.close()


@pytest.mark.parametrize("shared", [False, True])
def test_open_db__creates_the_directory_and_reopens_as_wal(tmp_path, shared):
    path = tmp_path / "deep" / "er" / "x.db"
    db = open_db(path, shared=shared)
    db.execute("CREATE TABLE t (v INTEGER)")
    db.execute("INSERT INTO t VALUES (7)")
    db.close()
    again = open_db(path)
    assert again.execute("SELECT v FROM t").fetchall() == [(7,)]
    assert again.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    again.close()
