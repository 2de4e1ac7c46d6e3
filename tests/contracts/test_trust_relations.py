"""Pair relations kept in two parts (DESIGN §3.3): Escrow, TrustIndex's primary writer, keeps
the relation word of the trades it completes and calls TrustIndex only for a trade that may
raise the indexes; trades recorded by other writers stay in TrustIndex. The views add both
parts, and an attacker who trades one pair through every path (an on-chain listing, a signed
listing, a writer's `record_trade`, a second escrow) still gains once per relation period,
at exactly last gain + period (not a second earlier)."""

import ape
import pytest
from ape import chain

from sec_offchain.contracts.deploy import get_create_address
from tests.fixtures.signed import as_tuple, key_of, make_listing, sign_listing
from tests.fixtures.suite import DAY, ETH, PRICE, at, new_listing, new_order

PERIOD = 90 * DAY
SEC = 10**18


@pytest.fixture
def writer(trust, deployer):
    trust.grantRole(trust.WRITER_ROLE(), deployer, sender=deployer)
    return deployer


def deploy_escrow(project, trust_index, token, deployer):
    """An Escrow with the suite's terms over `trust_index`."""
    return project.Escrow.deploy(
        trust_index,
        token,
        deployer,
        3 * DAY,
        200,
        10_000,
        5_000,
        30 * DAY,
        [1, 2, 20, 10],
        10**15,
        10 * SEC,
        ETH,
        sender=deployer,
    )


def onchain_trade(escrow, seller, buyer, when):
    """A trade of an on-chain listing, confirmed at exactly `when`."""
    order_id = new_order(escrow, new_listing(escrow, seller), buyer)
    at(when)
    return escrow.confirm(order_id, sender=buyer)


def signed_trade(escrow, seller, buyer, when):
    """A trade of a fresh signed listing (no quantity limit), confirmed at exactly `when`."""
    listing = make_listing(seller, quantity=0, salt=when)
    signature = sign_listing(key_of(seller), listing, escrow)
    tx = escrow.buy_signed(as_tuple(listing), signature, 0, value=PRICE, sender=buyer)
    at(when)
    return escrow.confirm(tx.events.filter(escrow.OrderPaid)[0].order_id, sender=buyer)


TRADE = {"onchain": onchain_trade, "signed": signed_trade}


def gains(trust, tx, seller, buyer, old):
    return tx.events.filter(trust.TrustChanged) == [
        trust.TrustChanged(account=seller, old=old, new=old + 1, reason=0),
        trust.TrustChanged(account=buyer, old=old, new=old + 1, reason=0),
    ]


def test_relation__escrow_and_writer_trades__views_add_both_parts(
    escrow, trust, writer, seller, buyer
):
    t1 = chain.blocks.head.timestamp + 100
    assert gains(trust, onchain_trade(escrow, seller, buyer, t1), seller, buyer, 0)
    at(t1 + 3600)
    assert trust.record_trade(buyer, seller, sender=writer).events == []  # gained at t1
    assert escrow.relation_of(seller, buyer) == (1, t1, t1) == escrow.relation_of(buyer, seller)
    assert trust.relation(buyer, seller) == (2, t1 + 3600) == trust.relation(seller, buyer)
    assert trust.relation_info(seller, buyer) == (2, t1 + 3600, t1)
    assert trust.next_gain_at(buyer, seller) == t1 + PERIOD
    chain.mine(timestamp=t1 + 3600 + PERIOD - 1)
    assert trust.is_live_relation(seller, buyer)
    chain.mine(timestamp=t1 + 3600 + PERIOD)
    assert not trust.is_live_relation(seller, buyer)


@pytest.mark.parametrize("path,offset", [("onchain", -1), ("onchain", 0), ("signed", 0)])
def test_gain__writer_gained_first__escrow_path_waits_the_whole_period(
    escrow, trust, writer, seller, buyer, path, offset
):
    t = chain.blocks.head.timestamp + 100
    at(t)
    assert gains(trust, trust.record_trade(seller, buyer, sender=writer), seller, buyer, 0)
    # Escrow's part had no gain: it asks TrustIndex, which refuses and answers t.
    tx = TRADE[path](escrow, seller, buyer, t + 10)
    assert tx.events.filter(trust.TrustChanged) == []
    assert escrow.relation_of(seller, buyer) == (1, t + 10, t)
    tx = TRADE[path](escrow, seller, buyer, t + PERIOD + offset)
    if offset < 0:
        assert tx.events.filter(trust.TrustChanged) == []
        assert (trust.trust_of(seller), trust.trust_of(buyer)) == (1, 1)
        assert trust.relation_info(seller, buyer) == (3, t + PERIOD - 1, t)
    else:
        assert gains(trust, tx, seller, buyer, 1)
        assert trust.relation_info(seller, buyer) == (3, t + PERIOD, t + PERIOD)
        assert escrow.relation_of(buyer, seller) == (2, t + PERIOD, t + PERIOD)


@pytest.mark.parametrize("offset", [-1, 0])
def test_gain__escrow_gained_first__writer_waits_the_whole_period(
    escrow, trust, writer, seller, buyer, offset
):
    t = chain.blocks.head.timestamp + 100
    assert gains(trust, signed_trade(escrow, seller, buyer, t), seller, buyer, 0)
    at(t + PERIOD + offset)
    tx = trust.record_trade_valued(buyer, seller, ETH, PRICE, sender=writer)
    if offset < 0:
        assert tx.events == []
        assert trust.relation_info(seller, buyer) == (2, t + PERIOD - 1, t)
    else:
        assert gains(trust, tx, buyer, seller, 1)
        assert trust.relation_info(seller, buyer) == (2, t + PERIOD, t + PERIOD)
    assert escrow.relation_of(seller, buyer) == (1, t, t)


def test_gain__every_path_in_one_period__once(escrow, trust, writer, seller, buyer):
    """The attacker's round: on-chain listing, signed listing, writer, again and again."""
    t = chain.blocks.head.timestamp + 100
    assert gains(trust, onchain_trade(escrow, seller, buyer, t), seller, buyer, 0)
    assert signed_trade(escrow, seller, buyer, t + 3600).events.filter(trust.TrustChanged) == []
    at(t + 7200)
    assert trust.record_trade(seller, buyer, sender=writer).events == []
    tx = onchain_trade(escrow, buyer, seller, t + PERIOD - 1)  # roles swapped: the same pair
    assert tx.events.filter(trust.TrustChanged) == []
    assert (trust.trust_of(seller), trust.trust_of(buyer)) == (1, 1)
    assert trust.relation_info(seller, buyer) == (4, t + PERIOD - 1, t)
    # Once the period is over, the first path to trade gains; the others wait again.
    t2 = t + PERIOD + 100
    assert gains(trust, signed_trade(escrow, seller, buyer, t2), seller, buyer, 1)
    at(t2 + 1)
    assert trust.record_trade(seller, buyer, sender=writer).events == []
    assert onchain_trade(escrow, seller, buyer, t2 + 10).events.filter(trust.TrustChanged) == []
    assert (trust.trust_of(seller), trust.trust_of(buyer)) == (2, 2)
    assert trust.relation_info(buyer, seller) == (7, t2 + 10, t2)


def test_record_gain__not_the_primary_writer__reverts(trust, writer, attacker, seller, buyer):
    for who in (writer, attacker):
        with ape.reverts("trust: caller is not the primary writer"):
            trust.record_gain(seller, buyer, ETH, PRICE, sender=who)


def test_second_escrow__not_primary__trust_index_keeps_its_trades_one_gain_per_period(
    project, escrow, trust, token, deployer, seller, buyer
):
    other = deploy_escrow(project, trust, token, deployer)
    trust.grantRole(trust.WRITER_ROLE(), other, sender=deployer)
    t = chain.blocks.head.timestamp + 100
    assert gains(trust, onchain_trade(other, seller, buyer, t), seller, buyer, 0)
    assert other.relation_of(seller, buyer) == (0, 0, 0)  # recorded in TrustIndex
    assert trust.relation_info(seller, buyer) == (1, t, t)
    assert onchain_trade(escrow, seller, buyer, t + 10).events.filter(trust.TrustChanged) == []
    assert onchain_trade(other, seller, buyer, t + 20).events.filter(trust.TrustChanged) == []
    assert escrow.relation_of(seller, buyer) == (1, t + 10, t)
    assert trust.relation_info(seller, buyer) == (3, t + 20, t)
    assert (trust.trust_of(seller), trust.trust_of(buyer)) == (1, 1)


@pytest.fixture
def rigged(project, token, deployer):
    """An Escrow whose TrustIndex (a rigged one naming it primary writer) answers as set."""
    nonce = deployer.nonce
    rigged = project.RiggedTrustIndex.deploy(
        get_create_address(deployer.address, nonce + 1), sender=deployer
    )
    return rigged, deploy_escrow(project, rigged, token, deployer)


def test_trust_index_fails__primary_escrow__trade_counted_seller_paid(
    rigged, deployer, seller, buyer
):
    trust_index, escrow = rigged
    trust_index.set_answer(True, 0, sender=deployer)
    t = chain.blocks.head.timestamp + 100
    oid = new_order(escrow, new_listing(escrow, seller), buyer)
    before = seller.balance
    at(t)
    tx = escrow.confirm(oid, sender=buyer)
    assert seller.balance == before + PRICE
    assert tx.events == [
        escrow.OrderCompleted(order_id=oid, seller=seller, buyer=buyer, price=PRICE),
        escrow.TrustUpdateFailed(order_id=oid),
    ]
    assert escrow.relation_of(seller, buyer) == (1, t, 0)  # no gain: the next trade asks again
    # An answer from the future is taken as now; then repeats within the period call nothing.
    trust_index.set_answer(False, 2**70, sender=deployer)
    onchain_trade(escrow, seller, buyer, t + 10)
    assert escrow.relation_of(seller, buyer) == (2, t + 10, t + 10)
    onchain_trade(escrow, buyer, seller, t + PERIOD + 9)
    assert trust_index.calls() == 1
    onchain_trade(escrow, seller, buyer, t + PERIOD + 20)
    assert trust_index.calls() == 2
    assert escrow.relation_of(seller, buyer) == (4, t + PERIOD + 20, t + PERIOD + 20)
