"""BorderGateway: messages proven against anchored headers' egress roots, exactly once and in
order per channel, area totals conserved, deposits and withdrawals, the guardian's pause,
the outflow limit a captured quorum runs into, deposits only into areas with validators,
odd tokens; proofs made by @openzeppelin/merkle-tree verified by the contract."""

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
from tests.fixtures.suite import DAY, at, race, stake_validators

SEC = 10**18
MIN_VALIDATOR = 100_000 * SEC
ROOT = Path(__file__).resolve().parents[2]
VALIDATORS = {1: (1, 2, 3, 4), 2: (5, 6, 7, 8)}
OUTFLOW_BPS, OUTFLOW_FLOOR = 2_000, 1_000 * SEC  # SuiteParams' defaults (20 %, 1,000 SEC/day)


def bond_validator(staking, token, account, area, amount=MIN_VALIDATOR):
    """Makes `account` a quorum-counted validator of `area`: stakes, waits out the
    activation delay and activates."""
    stake_validators(staking, token, [(account, area, amount)])


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


def anchor_block(anchor, keys, area, messages, stranger, signing=3):
    """Anchors the next header of `area` with an egress tree over `messages`, signed by the
    first `signing` of `keys[area]`."""
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
    sigs = sorted(
        (sign_digest(k, digest) for k in keys[area][:signing]),
        key=lambda s: int(_recover(digest, s), 16),
    )
    anchor.anchor(header.as_tuple(), sigs, sender=stranger)
    return header, tree


def _recover(digest, sig):
    from sec_offchain.encoding.area_header import recover_signer

    return recover_signer(digest, sig)


@pytest.fixture
def funded(bgc, token, accounts, areas):
    """Area 1 (with its validators) holds 100 SEC (deposited by accounts[9])."""
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


def test_deposit__rules(bgc, token, accounts, areas):
    with ape.reverts("bgc: area 0 is the main chain"):
        bgc.deposit_to_area(0, SEC, sender=accounts[9])
    with ape.reverts("bgc: zero amount"):
        bgc.deposit_to_area(1, 0, sender=accounts[9])
    with ape.reverts("erc20: insufficient allowance"):
        bgc.deposit_to_area(1, SEC, sender=accounts[9])
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


# ---------------------------------------------------------------------------- outflow limit

CAPTURED = 7  # an area whose quorum the attacker holds


@pytest.fixture
def captured(accounts, staking, token, bgc):
    """Area 7: one honest validator (accounts[1]) and three the attacker bonded freshly
    (accounts[4], [5], [6]: 3/4 of the stake, more than the 2/3 quorum); honest users
    deposited 30,000 + 20,000 SEC. Returns the attacker's keys by area."""
    bond_validator(staking, token, accounts[1], CAPTURED)
    for i in (4, 5, 6):
        bond_validator(staking, token, accounts[i], CAPTURED)
    for i, amount in ((7, 30_000 * SEC), (8, 20_000 * SEC)):
        token.approve(bgc, amount, sender=accounts[i])
        bgc.deposit_to_area(CAPTURED, amount, sender=accounts[i])
    return {CAPTURED: [get_dev_account(i).key for i in (4, 5, 6)]}


def out(nonce, amount, dst=0, recipient=4):
    """A message leaving the captured area (to the main chain unless `dst`)."""
    return msg(src=CAPTURED, dst=dst, nonce=nonce, sender=4, recipient=recipient, amount=amount)


def test_forged_root__captured_quorum__takes_exactly_one_allowance_per_window(
    bgc, anchor, captured, token, accounts, deployer
):
    attacker = accounts[4]
    assert bgc.area_balance(CAPTURED) == 50_000 * SEC
    assert bgc.outflow_limit(CAPTURED) == 10_000 * SEC  # 20 % of 50,000
    assert bgc.outflow_window(CAPTURED) == (10_000 * SEC, 0)
    # an egress root the honest validator never saw: everything to the attacker
    first, over, rest = (
        out(1, 6_000 * SEC),
        out(1, 4_000 * SEC + 1, dst=8),
        out(1, 4_000 * SEC, dst=8),
    )
    late, next_over, next_all = out(2, 1), out(2, 8_000 * SEC + 1), out(2, 8_000 * SEC)
    forged = [first, over, rest, late, next_over, next_all]
    header, tree = anchor_block(anchor, captured, CAPTURED, forged, attacker)
    before = token.balanceOf(attacker)

    def send(i, fn):
        return fn(forged[i].as_tuple(), header.as_tuple(), proof(tree, i), sender=attacker)

    t0 = send(0, bgc.withdraw_from_area).timestamp  # opens the window
    assert bgc.outflow_window(CAPTURED) == (4_000 * SEC, t0 + DAY)
    assert bgc.outflow_limit(CAPTURED) == 4_000 * SEC
    with ape.reverts("bgc: outflow limit"):
        send(1, bgc.deliver)  # one wei more than what is left
    send(2, bgc.deliver)  # exactly what is left
    assert bgc.outflow_limit(CAPTURED) == 0
    assert bgc.area_balance(CAPTURED) == 40_000 * SEC and bgc.area_balance(8) == 4_000 * SEC
    at(t0 + DAY - 1)  # the last second of the window: not even one wei
    with ape.reverts("bgc: outflow limit"):
        send(3, bgc.withdraw_from_area)
    # the window has ended: a fresh one of 20 % of the 40,000 left, to the wei
    race(
        t0 + DAY,
        lambda: send(4, bgc.withdraw_from_area),
        "bgc: outflow limit",
        lambda: send(5, bgc.withdraw_from_area),
    )
    assert bgc.outflow_window(CAPTURED) == (0, t0 + 2 * DAY)
    assert token.balanceOf(attacker) == before + 14_000 * SEC
    assert bgc.area_balance(CAPTURED) == 32_000 * SEC
    # the guardian, warned by the first window, stops the rest
    bgc.pause_area(CAPTURED, sender=deployer)
    assert bgc.outflow_limit(CAPTURED) == 0
    at(t0 + 3 * DAY)
    with ape.reverts("bgc: source area is paused"):
        send(3, bgc.withdraw_from_area)
    assert token.balanceOf(bgc) == 32_000 * SEC + 4_000 * SEC


def test_outflow_limit__view__is_exactly_what_passes(bgc, anchor, areas, token, accounts, stranger):
    odd = 12_345 * SEC + 7
    token.approve(bgc, odd, sender=accounts[9])
    bgc.deposit_to_area(1, odd, sender=accounts[9])
    limit = bgc.outflow_limit(1)
    assert limit == odd * OUTFLOW_BPS // 10_000 == 2_469 * SEC + 1
    over, exact = msg(dst=0, amount=limit + 1), msg(dst=0, amount=limit)
    header, tree = anchor_block(anchor, areas, 1, [over, exact], stranger)
    with ape.reverts("bgc: outflow limit"):
        bgc.withdraw_from_area(over.as_tuple(), header.as_tuple(), proof(tree, 0), sender=stranger)
    assert bgc.outflow_limit(1) == limit  # a refused withdrawal opens no window
    bgc.withdraw_from_area(exact.as_tuple(), header.as_tuple(), proof(tree, 1), sender=stranger)
    assert bgc.outflow_limit(1) == 0 and bgc.area_balance(1) == odd - limit


def test_outflow_limit__view_at_the_window_end__agrees_with_the_action(
    bgc, anchor, areas, funded, stranger
):
    first, second = msg(dst=0, amount=30 * SEC), msg(dst=0, nonce=2, amount=70 * SEC)
    header, tree = anchor_block(anchor, areas, 1, [first, second], stranger)
    t0 = bgc.withdraw_from_area(
        first.as_tuple(), header.as_tuple(), proof(tree, 0), sender=stranger
    ).timestamp
    assert bgc.outflow_window(1) == (OUTFLOW_FLOOR - 30 * SEC, t0 + DAY)
    chain.mine(timestamp=t0 + DAY - 1)  # views run at the head block's time
    assert chain.blocks.head.timestamp == t0 + DAY - 1
    assert bgc.outflow_window(1) == (OUTFLOW_FLOOR - 30 * SEC, t0 + DAY)
    chain.mine(timestamp=t0 + DAY)
    assert bgc.outflow_window(1) == (OUTFLOW_FLOOR, 0)  # ended: a fresh window's allowance
    assert bgc.outflow_limit(1) == 70 * SEC  # the whole balance (under the floor)
    bgc.withdraw_from_area(second.as_tuple(), header.as_tuple(), proof(tree, 1), sender=stranger)
    assert bgc.area_balance(1) == 0


def test_withdraw__whole_balance_under_the_floor__passes_and_deposits_refill_only_the_balance(
    bgc, anchor, areas, funded, token, accounts, stranger
):
    assert bgc.outflow_limit(1) == funded  # min(100 SEC balance, 1,000 SEC floor)
    everything = msg(dst=0, recipient=7, amount=funded)
    more = msg(dst=0, nonce=2, recipient=7, amount=900 * SEC + 1)
    rest = msg(dst=0, nonce=2, recipient=7, amount=900 * SEC)
    header, tree = anchor_block(anchor, areas, 1, [everything, more, rest], stranger)
    before = token.balanceOf(accounts[7])
    t0 = bgc.withdraw_from_area(
        everything.as_tuple(), header.as_tuple(), proof(tree, 0), sender=stranger
    ).timestamp
    assert bgc.area_balance(1) == 0 and bgc.outflow_limit(1) == 0
    assert bgc.outflow_window(1) == (900 * SEC, t0 + DAY)
    # a deposit inside the window: balance up, allowance not (900 of the floor are left)
    token.approve(bgc, 2_000 * SEC, sender=accounts[9])
    bgc.deposit_to_area(1, 2_000 * SEC, sender=accounts[9])
    assert bgc.outflow_limit(1) == 900 * SEC
    with ape.reverts("bgc: outflow limit"):
        bgc.withdraw_from_area(more.as_tuple(), header.as_tuple(), proof(tree, 1), sender=stranger)
    bgc.withdraw_from_area(rest.as_tuple(), header.as_tuple(), proof(tree, 2), sender=stranger)
    assert token.balanceOf(accounts[7]) == before + 1_000 * SEC
    assert bgc.area_balance(1) == 1_100 * SEC and token.balanceOf(bgc) == 1_100 * SEC


def test_deposit__before_a_window_raises_its_allowance__inside_it_does_not(
    bgc, anchor, captured, token, accounts
):
    attacker = accounts[4]
    # before any outflow: the allowance follows the balance (the attacker's own 10,000 SEC
    # buy it 2,000 SEC more allowance: inflating the base costs more than it frees)
    token.approve(bgc, 60_000 * SEC, sender=attacker)
    bgc.deposit_to_area(CAPTURED, 10_000 * SEC, sender=attacker)
    assert bgc.outflow_limit(CAPTURED) == 12_000 * SEC  # 20 % of 60,000
    take, over = out(1, 1_000 * SEC), out(2, 11_000 * SEC + 1)
    header, tree = anchor_block(anchor, captured, CAPTURED, [take, over], attacker)
    t0 = bgc.withdraw_from_area(
        take.as_tuple(), header.as_tuple(), proof(tree, 0), sender=attacker
    ).timestamp
    # inside the window: 50,000 SEC more raise the balance, not the 11,000 SEC left
    bgc.deposit_to_area(CAPTURED, 50_000 * SEC, sender=attacker)
    assert bgc.area_balance(CAPTURED) == 109_000 * SEC
    assert bgc.outflow_limit(CAPTURED) == 11_000 * SEC
    with ape.reverts("bgc: outflow limit"):
        bgc.withdraw_from_area(over.as_tuple(), header.as_tuple(), proof(tree, 1), sender=attacker)
    # they count towards the next window: 20 % of 109,000
    chain.mine(timestamp=t0 + DAY)
    assert bgc.outflow_limit(CAPTURED) == 21_800 * SEC


def test_pause__outflow_limit_is_zero_and_unpausing_does_not_refill(
    bgc, anchor, areas, funded, deployer, stranger
):
    first, second = msg(dst=0, amount=40 * SEC), msg(dst=0, nonce=2, amount=60 * SEC)
    header, tree = anchor_block(anchor, areas, 1, [first, second], stranger)
    t0 = bgc.withdraw_from_area(
        first.as_tuple(), header.as_tuple(), proof(tree, 0), sender=stranger
    ).timestamp
    bgc.pause_area(1, sender=deployer)
    assert bgc.outflow_limit(1) == 0
    assert bgc.outflow_window(1) == (OUTFLOW_FLOOR - 40 * SEC, t0 + DAY)
    bgc.unpause_area(1, sender=deployer)
    assert bgc.outflow_window(1) == (OUTFLOW_FLOOR - 40 * SEC, t0 + DAY)
    assert bgc.outflow_limit(1) == 60 * SEC
    bgc.withdraw_from_area(second.as_tuple(), header.as_tuple(), proof(tree, 1), sender=stranger)


def test_constructor__bad_outflow_parameters__refused(project, anchor, token, deployer):
    for bps, period, floor, reason in (
        (0, DAY, 0, "bgc: bad outflow share"),
        (10_001, DAY, 0, "bgc: bad outflow share"),
        (2_000, 0, 0, "bgc: bad outflow period"),
        (2_000, 2**32 + 1, 0, "bgc: bad outflow period"),
        (2_000, DAY, 2**96, "bgc: bad outflow floor"),
    ):
        with ape.reverts(reason):
            project.BorderGateway.deploy(
                anchor, token, deployer, bps, period, floor, sender=deployer
            )
    gw = project.BorderGateway.deploy(
        anchor, token, deployer, 10_000, 1, 2**96 - 1, sender=deployer
    )
    assert (gw.OUTFLOW_BPS(), gw.OUTFLOW_PERIOD(), gw.OUTFLOW_FLOOR()) == (10_000, 1, 2**96 - 1)


# ---------------------------------------------------------------------------- live areas


def test_deposit__area_without_validators__reverts_and_changes_nothing(
    bgc, anchor, token, staking, accounts
):
    depositor = accounts[9]
    token.approve(bgc, SEC, sender=depositor)
    before = (token.balanceOf(depositor), token.balanceOf(bgc))
    assert anchor.area_stake(3) == 0
    with ape.reverts("bgc: area has no validators"):
        bgc.deposit_to_area(3, SEC, sender=depositor)
    # an area whose only validator has left is as dead
    bond_validator(staking, token, accounts[5], 3)
    assert anchor.area_stake(3) == MIN_VALIDATOR
    staking.unbond(MIN_VALIDATOR, sender=accounts[5])
    assert anchor.area_stake(3) == 0
    with ape.reverts("bgc: area has no validators"):
        bgc.deposit_to_area(3, SEC, sender=depositor)
    assert (token.balanceOf(depositor), token.balanceOf(bgc)) == before
    assert bgc.area_balance(3) == 0 and token.allowance(depositor, bgc) == SEC


# ---------------------------------------------------------------------------- odd tokens


def gateway_for(project, anchor, token, deployer):
    return project.BorderGateway.deploy(
        anchor, token, deployer, OUTFLOW_BPS, DAY, OUTFLOW_FLOOR, sender=deployer
    )


def test_deposit__fee_taking_token__refused(project, anchor, areas, accounts, deployer):
    tok = project.FeeToken.deploy(sender=deployer)
    gw = gateway_for(project, anchor, tok, deployer)
    tok.mint(accounts[9], 100 * SEC, sender=deployer)
    tok.approve(gw, 100 * SEC, sender=accounts[9])
    with ape.reverts("bgc: token took a fee"):
        gw.deposit_to_area(1, 100 * SEC, sender=accounts[9])
    assert gw.area_balance(1) == 0 and tok.balanceOf(accounts[9]) == 100 * SEC


def test_deposit_and_withdraw__false_returning_token__refused(
    project, anchor, areas, accounts, deployer, stranger
):
    tok = project.FalseToken.deploy(sender=deployer)
    gw = gateway_for(project, anchor, tok, deployer)
    tok.mint(accounts[9], 100 * SEC, sender=deployer)
    tok.approve(gw, 100 * SEC, sender=accounts[9])
    tok.set_failing(True, sender=deployer)
    with ape.reverts("bgc: transfer failed"):
        gw.deposit_to_area(1, 100 * SEC, sender=accounts[9])
    assert gw.area_balance(1) == 0 and tok.balanceOf(gw) == 0
    tok.set_failing(False, sender=deployer)
    gw.deposit_to_area(1, 100 * SEC, sender=accounts[9])
    w = msg(dst=0, recipient=7, amount=10 * SEC)
    header, tree = anchor_block(anchor, areas, 1, [w], stranger)
    tok.set_failing(True, sender=deployer)
    with ape.reverts("bgc: transfer failed"):
        gw.withdraw_from_area(w.as_tuple(), header.as_tuple(), proof(tree, 0), sender=stranger)
    assert gw.area_balance(1) == 100 * SEC and gw.next_nonce(1, 0) == 1
    assert gw.outflow_limit(1) == 100 * SEC


def test_deposit_and_withdraw__no_return_token__exact_amounts_once(
    project, anchor, areas, accounts, deployer, stranger
):
    tok = project.NoReturnToken.deploy(sender=deployer)
    gw = gateway_for(project, anchor, tok, deployer)
    tok.mint(accounts[9], 100 * SEC, sender=deployer)
    tok.approve(gw, 100 * SEC, sender=accounts[9])
    gw.deposit_to_area(1, 100 * SEC, sender=accounts[9])
    assert gw.area_balance(1) == 100 * SEC == tok.balanceOf(gw)
    w = msg(dst=0, recipient=7, amount=10 * SEC)
    header, tree = anchor_block(anchor, areas, 1, [w], stranger)
    gw.withdraw_from_area(w.as_tuple(), header.as_tuple(), proof(tree, 0), sender=stranger)
    assert tok.balanceOf(accounts[7]) == 10 * SEC and gw.area_balance(1) == 90 * SEC
    with ape.reverts("bgc: message already delivered"):
        gw.withdraw_from_area(w.as_tuple(), header.as_tuple(), proof(tree, 0), sender=stranger)
    assert tok.balanceOf(accounts[7]) == 10 * SEC and tok.balanceOf(gw) == 90 * SEC


def test_deposit_and_withdraw__reverting_token__its_reason_and_nothing_moves(
    project, anchor, areas, accounts, deployer, stranger
):
    tok = project.FalseToken.deploy(sender=deployer)
    gw = gateway_for(project, anchor, tok, deployer)
    tok.mint(accounts[9], 100 * SEC, sender=deployer)
    tok.approve(gw, 100 * SEC, sender=accounts[9])
    tok.set_reverting(True, sender=deployer)
    with ape.reverts("token: transfers frozen"):
        gw.deposit_to_area(1, 100 * SEC, sender=accounts[9])
    assert gw.area_balance(1) == 0 and tok.balanceOf(accounts[9]) == 100 * SEC
    tok.set_reverting(False, sender=deployer)
    gw.deposit_to_area(1, 100 * SEC, sender=accounts[9])
    w = msg(dst=0, recipient=7, amount=10 * SEC)
    header, tree = anchor_block(anchor, areas, 1, [w], stranger)
    tok.set_reverting(True, sender=deployer)
    with ape.reverts("token: transfers frozen"):
        gw.withdraw_from_area(w.as_tuple(), header.as_tuple(), proof(tree, 0), sender=stranger)
    assert gw.area_balance(1) == 100 * SEC and gw.next_nonce(1, 0) == 1
    tok.set_reverting(False, sender=deployer)
    gw.withdraw_from_area(w.as_tuple(), header.as_tuple(), proof(tree, 0), sender=stranger)
    assert tok.balanceOf(accounts[7]) == 10 * SEC and gw.area_balance(1) == 90 * SEC
