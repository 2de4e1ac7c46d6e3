"""The validator signer's slashing protection: never two headers at one height, also across
a restart and after a kill -9 between recording and signing; and the equivocation watcher."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from sec_offchain.consensus.evidence import EquivocationWatcher, Evidence
from sec_offchain.consensus.signer import SlashingProtectionError, ValidatorSigner
from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.encoding.area_header import AreaHeader, hash_area_header, recover_signer

HUB = "0x" + "12" * 20
KEY = get_dev_account(3).key


def header(height, root=b"\x01"):
    return AreaHeader(1, height, tx_root=root * 32)


@pytest.fixture
def signer(tmp_path):
    s = ValidatorSigner(KEY, tmp_path / "protect.sqlite", 31337, HUB)
    yield s
    s.close()


def test_sign__recovers_to_the_validator(signer):
    sig = signer.sign(header(1))
    assert len(sig) == 65 and sig[64] in (27, 28)
    assert recover_signer(hash_area_header(header(1), 31337, HUB), sig) == signer.address


def test_sign__second_header_at_a_height__refused(signer):
    signer.sign(header(1))
    with pytest.raises(SlashingProtectionError, match="already signed a different header"):
        signer.sign(header(1, b"\x02"))


def test_sign__same_header_again__same_signature(signer):
    assert signer.sign(header(4)) == signer.sign(header(4))


def test_sign__below_highest__refused(signer):
    signer.sign(header(5))
    with pytest.raises(SlashingProtectionError, match="below the highest signed"):
        signer.sign(header(3))


def test_sign__record_survives_restart(tmp_path):
    path = tmp_path / "protect.sqlite"
    first = ValidatorSigner(KEY, path, 31337, HUB)
    first.sign(header(2))
    first.close()
    again = ValidatorSigner(KEY, path, 31337, HUB)
    with pytest.raises(SlashingProtectionError):
        again.sign(header(2, b"\x09"))
    again.close()


CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from sec_offchain.consensus.signer import ValidatorSigner
    from sec_offchain.crypto.keys import get_dev_account
    from sec_offchain.encoding.area_header import AreaHeader
    s = ValidatorSigner(get_dev_account(3).key, Path(sys.argv[1]), 31337, "0x" + "12" * 20)
    s.record(AreaHeader(1, int(sys.argv[2]), tx_root=b"\\x01" * 32))
    os.kill(os.getpid(), signal.SIGKILL)  # between recording and signing
    """
)


@pytest.mark.parametrize("run", range(5))
def test_kill_9_between_record_and_sign__protection_holds(tmp_path, run):
    path = tmp_path / "protect.sqlite"
    height = 10 + run
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(height)], capture_output=True, timeout=60
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    restarted = ValidatorSigner(KEY, path, 31337, HUB)
    with pytest.raises(SlashingProtectionError):
        restarted.sign(AreaHeader(1, height, tx_root=b"\x02" * 32))
    # The header it had recorded can still be signed (it was never signed twice).
    assert len(restarted.sign(AreaHeader(1, height, tx_root=b"\x01" * 32))) == 65
    restarted.close()
    assert os.path.exists(path)


def test_watcher__two_headers_one_height__evidence_round_trips(tmp_path):
    from sec_offchain.encoding.area_header import sign_digest

    watcher = EquivocationWatcher(31337, HUB)
    a, b = header(7), header(7, b"\x02")
    sa = sign_digest(KEY, hash_area_header(a, 31337, HUB))
    sb = sign_digest(KEY, hash_area_header(b, 31337, HUB))
    assert watcher.observe(a, sa) is None
    assert watcher.observe(a, sa) is None  # the same header again is no offence
    assert (
        watcher.observe(header(8), sign_digest(KEY, hash_area_header(header(8), 31337, HUB)))
        is None
    )
    evidence = watcher.observe(b, sb)
    assert evidence is not None and evidence.validator == get_dev_account(3).address
    loaded = Evidence.from_file(evidence.save(tmp_path / "ev.json"))
    assert loaded == evidence
    assert watcher.observe(a, b"\x00" * 65) is None  # garbage proves nothing
