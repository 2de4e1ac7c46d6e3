"""BorderGateway: messages proven against anchored headers' egress roots, exactly once and in
order per channel, area totals conserved, deposits and withdrawals, the guardian's pause;
proofs made by @openzeppelin/merkle-tree verified by the contract."""

import json
import shutil
import subprocess
from pathlib import Path

import ape
import pytest
from ape import chain

from sec_offchain.area.block import MESSAGE_LEAF, Message
from sec_offchain.area.merkle import StandardMerkleTree, node_hash
from sec_offchain.crypto.keys import get_dev_account
from sec_offchain.encoding.area_header import AreaHeader, hash_area_header, sign_digest
from tests.fixtures.suite import stake_validators

SEC = 10**18
MIN_VALIDATOR = 100_000 * SEC
ROOT = Path(__file__).resolve().parents[2]
VALIDATORS = {1: (1, 2, 3, 4), 2: (5, 6, 7, 8)}


@pytest.fixture(scope="session")
def anchor(project, deployment):
    return project.AnchorHub.at(deployment.address_of("AnchorHub"))


@pytest.fixture(scope="session")
def bgc(project, deployment):
    return project.BorderGateway.at(deployment.address_of("BorderGateway"))


@pytest.fixture
def areas(accounts, staking, token):
    """Areas 1 and 2, four equal validators each; their keys by area."""
    keys = {}
    for area, ids in VALIDATORS.items():
        stake_validators(staking, token, [(accounts[i], area, MIN_VALIDATOR) for i in ids])
        keys[area] = [get_dev_account(i).key for i in ids]
    return keys


def addr(i) -> bytes:
    return bytes.fromhex(get_dev_account(i).address[2:])


def msg(src=1, dst=2, nonce=1, sender=9, recipient=8, amount=5 * SEC, payload=b"\x07" * 32):
    return Message(src, dst, nonce, addr(sender), addr(recipient), amount, payload)


def anchor_block(anchor, keys, area, messages, stranger):
    """Anchors the next header of `area` with an egress tree over `messages`."""
    height = anchor.latest_height(area) + 1
    tree = StandardMerkleTree.of([m.leaf_values() for m in messages], MESSAGE_LEAF)
    header = AreaHeader(
        area,
        height,
        bytes(anchor.anchored_hash(area, height - 1)),
        egress_root=tree.root,
        timestamp=1_700_000_000 + height,
    )
    digest = hash_area_header(header, chain.chain_id, anchor.address)
    signers = sorted(keys[area][:3], key=lambda k: int(ape.accounts.test_accounts[0].address, 16))
    sigs = sorted(
        (sign_digest(k, digest) for k in signers),
        key=lambda s: int(_recover(digest, s), 16),
    )
    anchor.anchor(header.as_tuple(), sigs, sender=stranger)
    return header, tree


def _recover(digest, sig):
    from sec_offchain.encoding.area_header import recover_signer

    return recover_signer(digest, sig)


@pytest.fixture
def funded(bgc, token, accounts):
    """Area 1 holds 100 SEC (deposited by accounts[9])."""
    token.approve(bgc, 100 * SEC, sender=accounts[9])
    bgc.deposit_to_area(1, 100 * SEC, sender=accounts[9])
    return 100 * SEC


def proof(tree, i):
    return tree.proof(i)


# ---------------------------------------------------------------------------- deliver


def test_deliver__proven_message__delivered_once_and_totals_move(
    bgc, anchor, areas, funded, stranger
):
    messages = [msg(nonce=1), msg(nonce=2, amount=1 * SEC), msg(dst=3, nonce=1)]
    header, tree = anchor_block(anchor, areas, 1, messages, stranger)
    assert bgc.next_nonce(1, 2) == 1
    tx = bgc.deliver(messages[0].as_tuple(), header.as_tuple(), proof(tree, 0), sender=stranger)
    m = messages[0]
    assert tx.events == [
        bgc.MessageDelivered(
            src_area=1,
            dst_area=2,
            nonce=1,
            sender=get_dev_account(9).address,
            recipient=get_dev_account(8).address,
            amount=5 * SEC,
            payload_hash=m.payload_hash,
        )
    ]
    assert bgc.area_balance(1) == 95 * SEC and bgc.area_balance(2) == 5 * SEC
    assert bgc.next_nonce(1, 2) == 2
    with ape.reverts("bgc: message already delivered"):
        bgc.deliver(m.as_tuple(), header.as_tuple(), proof(tree, 0), sender=stranger)
    bgc.deliver(messages[2].as_tuple(), header.as_tuple(), proof(tree, 2), sender=stranger)
    bgc.deliver(messages[1].as_tuple(), header.as_tuple(), proof(tree, 1), sender=stranger)
    assert bgc.area_balance(1) + bgc.area_balance(2) + bgc.area_balance(3) == funded
    assert (bgc.area_balance(2), bgc.area_balance(3)) == (6 * SEC, 5 * SEC)


def test_deliver__out_of_order_nonce__refused(bgc, anchor, areas, funded, stranger):
    messages = [msg(nonce=1), msg(nonce=2)]
    header, tree = anchor_block(anchor, areas, 1, messages, stranger)
    with ape.reverts("bgc: nonce out of order"):
        bgc.deliver(messages[1].as_tuple(), header.as_tuple(), proof(tree, 1), sender=stranger)
    bgc.deliver(messages[0].as_tuple(), header.as_tuple(), proof(tree, 0), sender=stranger)
    bgc.deliver(messages[1].as_tuple(), header.as_tuple(), proof(tree, 1), sender=stranger)


def test_deliver__same_nonce_under_a_different_root__refused(bgc, anchor, areas, funded, stranger):
    first = msg(nonce=1, amount=1 * SEC)
    h1, t1 = anchor_block(anchor, areas, 1, [first], stranger)
    bgc.deliver(first.as_tuple(), h1.as_tuple(), proof(t1, 0), sender=stranger)
    other = msg(nonce=1, amount=50 * SEC)  # a second message claiming nonce 1, next block
    h2, t2 = anchor_block(anchor, areas, 1, [other, msg(nonce=2)], stranger)
    with ape.reverts("bgc: message already delivered"):
        bgc.deliver(other.as_tuple(), h2.as_tuple(), proof(t2, 0), sender=stranger)
    assert bgc.area_balance(2) == 1 * SEC


def test_deliver__unknown_zero_or_mismatched_header__refused(bgc, anchor, areas, funded, stranger):
    m = msg()
    header, tree = anchor_block(anchor, areas, 1, [m, msg(nonce=2)], stranger)
    p = proof(tree, 0)
    unanchored = AreaHeader(1, header.height + 1, b"\x00" * 32, egress_root=tree.root)
    with ape.reverts("bgc: header is not anchored"):
        bgc.deliver(m.as_tuple(), unanchored.as_tuple(), p, sender=stranger)
    forged = AreaHeader(
        1,
        header.height,
        header.parent_hash,
        tx_root=b"\x01" * 32,
        egress_root=tree.root,
        timestamp=header.timestamp,
    )
    with ape.reverts("bgc: header does not match the anchored digest"):
        bgc.deliver(m.as_tuple(), forged.as_tuple(), p, sender=stranger)
    zero_root = AreaHeader(1, header.height, header.parent_hash, timestamp=header.timestamp)
    with ape.reverts("bgc: empty egress root"):
        bgc.deliver(m.as_tuple(), zero_root.as_tuple(), [], sender=stranger)
    other_area = AreaHeader(2, 1, b"\x00" * 32, egress_root=tree.root)
    with ape.reverts("bgc: header is not of the source area"):
        bgc.deliver(m.as_tuple(), other_area.as_tuple(), p, sender=stranger)
    bgc.deliver(m.as_tuple(), header.as_tuple(), p, sender=stranger)


def test_deliver__wrong_proofs_and_inner_node_as_leaf__refused(
    bgc, anchor, areas, funded, stranger
):
    messages = [msg(nonce=n) for n in (1, 2, 3, 4)]
    header, tree = anchor_block(anchor, areas, 1, messages, stranger)
    p = proof(tree, 0)
    for bad in (p[:-1], p + [b"\x00" * 32], [], list(reversed(p)), proof(tree, 1)):
        with ape.reverts("bgc: invalid proof"):
            bgc.deliver(messages[0].as_tuple(), header.as_tuple(), bad, sender=stranger)
    # an inner node (64 bytes: its two children) presented as a message: the contract
    # hashes whatever message it is given as a leaf, so the shorter proof fails
    left, right = tree.tree[3], tree.tree[4]
    assert node_hash(left, right) == tree.tree[1]
    lo, hi = sorted((left, right))
    fake = Message(1, 2, 1, lo[:20], hi[:20], int.from_bytes(hi, "big") % 2**64, lo)
    with ape.reverts("bgc: invalid proof"):
        bgc.deliver(fake.as_tuple(), header.as_tuple(), [tree.tree[2]], sender=stranger)
    assert bgc.next_nonce(1, 2) == 1


def test_deliver__more_than_the_area_holds__refused(bgc, anchor, areas, funded, stranger):
    big = msg(amount=101 * SEC)
    header, tree = anchor_block(anchor, areas, 1, [big], stranger)
    with ape.reverts("bgc: source area holds less than the amount"):
        bgc.deliver(big.as_tuple(), header.as_tuple(), proof(tree, 0), sender=stranger)
    assert bgc.next_nonce(1, 2) == 1 and bgc.area_balance(1) == funded


def test_deliver__to_own_area_or_main_chain__refused(bgc, anchor, areas, funded, stranger):
    own, main = msg(dst=1), msg(dst=0)
    header, tree = anchor_block(anchor, areas, 1, [own, main], stranger)
    with ape.reverts("bgc: message to its own area"):
        bgc.deliver(own.as_tuple(), header.as_tuple(), proof(tree, 0), sender=stranger)
    with ape.reverts("bgc: area 0 is the main chain: use withdraw_from_area"):
        bgc.deliver(main.as_tuple(), header.as_tuple(), proof(tree, 1), sender=stranger)


# ---------------------------------------------------------------------------- pause


def test_pause__paused_area_sends_nothing_until_unpaused(
    bgc, anchor, areas, funded, stranger, deployer
):
    m, w = msg(), msg(dst=0, nonce=1, recipient=7, amount=1 * SEC)
    header, tree = anchor_block(anchor, areas, 1, [m, w], stranger)
    with ape.reverts("bgc: caller is not a guardian"):
        bgc.pause_area(1, sender=stranger)
    bgc.pause_area(1, sender=deployer)
    assert bgc.is_paused(1)
    with ape.reverts("bgc: source area is paused"):
        bgc.deliver(m.as_tuple(), header.as_tuple(), proof(tree, 0), sender=stranger)
    with ape.reverts("bgc: source area is paused"):
        bgc.withdraw_from_area(w.as_tuple(), header.as_tuple(), proof(tree, 1), sender=stranger)
    with ape.reverts("bgc: area is already paused"):
        bgc.pause_area(1, sender=deployer)
    assert bgc.area_balance(1) == funded  # the pause bit does not change the total
    with ape.reverts("bgc: caller is not a guardian"):
        bgc.unpause_area(1, sender=stranger)
    bgc.unpause_area(1, sender=deployer)
    bgc.deliver(m.as_tuple(), header.as_tuple(), proof(tree, 0), sender=stranger)


# ---------------------------------------------------------------------------- deposits


def test_deposit_and_withdraw__sec_in_and_out_exactly_once(
    bgc, anchor, areas, funded, token, accounts, stranger
):
    w = msg(dst=0, nonce=1, recipient=7, amount=3 * SEC)
    header, tree = anchor_block(anchor, areas, 1, [w], stranger)
    before = token.balanceOf(accounts[7])
    tx = bgc.withdraw_from_area(w.as_tuple(), header.as_tuple(), proof(tree, 0), sender=stranger)
    assert token.balanceOf(accounts[7]) == before + 3 * SEC
    assert bgc.area_balance(1) == funded - 3 * SEC
    assert token.balanceOf(bgc) == funded - 3 * SEC  # the contract holds exactly the totals
    assert tx.events == [
        bgc.WithdrawnFromArea(area_id=1, nonce=1, recipient=accounts[7].address, amount=3 * SEC),
        token.Transfer(sender=bgc.address, receiver=accounts[7].address, value=3 * SEC),
    ]
    with ape.reverts("bgc: message already delivered"):
        bgc.withdraw_from_area(w.as_tuple(), header.as_tuple(), proof(tree, 0), sender=stranger)
    m = msg()
    h2, t2 = anchor_block(anchor, areas, 1, [m], stranger)
    with ape.reverts("bgc: not a message to the main chain"):
        bgc.withdraw_from_area(m.as_tuple(), h2.as_tuple(), proof(t2, 0), sender=stranger)


def test_deposit__rules(bgc, token, accounts):
    with ape.reverts("bgc: area 0 is the main chain"):
        bgc.deposit_to_area(0, SEC, sender=accounts[9])
    with ape.reverts("bgc: zero amount"):
        bgc.deposit_to_area(1, 0, sender=accounts[9])
    with ape.reverts():
        bgc.deposit_to_area(1, SEC, sender=accounts[9])  # no allowance
    token.approve(bgc, SEC, sender=accounts[9])
    tx = bgc.deposit_to_area(2, SEC, sender=accounts[9])
    assert bgc.DepositedToArea(area_id=2, account=accounts[9].address, amount=SEC) in tx.events
    assert bgc.area_balance(2) == SEC


# ---------------------------------------------------------------------------- reference


def test_proofs_from_openzeppelin_merkle_tree_verify_on_chain(bgc, anchor, areas, funded, stranger):
    messages = [msg(nonce=n, amount=n * SEC) for n in range(1, 12)]
    values = [
        [
            str(m.src_area),
            str(m.dst_area),
            str(m.nonce),
            "0x" + m.sender.hex(),
            "0x" + m.recipient.hex(),
            str(m.amount),
            "0x" + m.payload_hash.hex(),
        ]
        for m in messages
    ]
    node = shutil.which("node")
    assert node
    out = subprocess.run(
        [node, str(ROOT / "tests" / "fixtures" / "oz_merkle.cjs")],
        input=json.dumps({"op": "build", "types": list(MESSAGE_LEAF), "values": values}),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    ref = json.loads(out.stdout)
    header, tree = anchor_block(anchor, areas, 1, messages, stranger)
    assert "0x" + tree.root.hex() == ref["root"]
    for i, m in enumerate(messages):
        assert bytes(bgc.message_leaf(m.as_tuple())) == tree.leaf(i)
        oz_proof = [bytes.fromhex(p[2:]) for p in ref["proofs"][i]]
        bgc.deliver(m.as_tuple(), header.as_tuple(), oz_proof, sender=stranger)
    assert bgc.next_nonce(1, 2) == 12 and bgc.area_balance(2) == 66 * SEC
