"""TrustIndex: valued trades (at least the token's floor) raise the index to a cap of 100, at
most once per pair per relation period; every trade counts in the relation; failures floor at
1 and never touch a NEW account; judged offences reach 0 and disable forever; only writers
write."""

import ape
import pytest
from ape import chain

from tests.fixtures.suite import DAY, ETH, at

CANCELLED, MISSED, FAKE, MALICIOUS = 1, 2, 3, 4
PERIOD = 90 * DAY
ETH_FLOOR = 10**16
SEC_FLOOR = 100 * 10**18


@pytest.fixture
def writer(trust, deployer):
    trust.grantRole(trust.WRITER_ROLE(), deployer, sender=deployer)
    return deployer


def raise_to(trust, writer, seller, buyer, n):
    """`n` gaining trades between `seller` and `buyer`, one relation period apart."""
    t = chain.pending_timestamp
    for i in range(n):
        at(t + i * PERIOD)
        trust.record_trade(seller, buyer, sender=writer)


def test_deploy__params__exposed(trust, token):
    assert trust.relation_period() == PERIOD == trust.RELATION_PERIOD()
    assert trust.value_floor(ETH) == ETH_FLOOR == trust.ETH_VALUE_FLOOR()
    assert trust.value_floor(token) == SEC_FLOOR == trust.SEC_VALUE_FLOOR()
    assert trust.SEC_TOKEN() == token.address


@pytest.mark.parametrize(
    "floors,period,reason",
    [
        ((0, 1), 1, "trust: zero floor"),
        ((1, 0), 1, "trust: zero floor"),
        ((1, 1), 0, "trust: bad relation period"),
        ((1, 1), 2**32, "trust: bad relation period"),
    ],
)
def test_deploy__bad_params__reverts(project, deployer, token, floors, period, reason):
    with ape.reverts(reason):
        project.TrustIndex.deploy(deployer, token, *floors, period, sender=deployer)


def test_record_trade__new_accounts__active_with_one(trust, writer, seller, buyer):
    tx = trust.record_trade(seller, buyer, sender=writer)
    now = chain.blocks.head.timestamp
    assert tx.events == [
        trust.TrustChanged(account=seller, old=0, new=1, reason=0),
        trust.TrustChanged(account=buyer, old=0, new=1, reason=0),
    ]
    assert (trust.trust_of(seller), trust.status_of(seller)) == (1, 1)
    assert trust.relation(seller, buyer) == (1, now)
    assert trust.relation_info(buyer, seller) == (1, now, now)
    assert trust.next_gain_at(seller, buyer) == now + PERIOD


def test_record_trade__cap__stays_at_100(trust, writer, seller, buyer):
    raise_to(trust, writer, seller, buyer, 101)
    assert trust.trust_of(seller) == 100 and trust.trust_of(buyer) == 100
    at(chain.blocks.head.timestamp + PERIOD)
    tx = trust.record_trade(seller, buyer, sender=writer)
    assert tx.events == []  # nothing moved
    assert trust.relation(buyer, seller)[0] == 102


def test_record_trade__same_pair_within_period__counted_not_raised(trust, writer, seller, buyer):
    trust.record_trade(seller, buyer, sender=writer)
    first = chain.blocks.head.timestamp
    for _ in range(5):
        assert trust.record_trade(seller, buyer, sender=writer).events == []
    last = chain.blocks.head.timestamp
    assert (trust.trust_of(seller), trust.trust_of(buyer)) == (1, 1)
    assert trust.relation_info(seller, buyer) == (6, last, first)


@pytest.mark.parametrize("offset,gains", [(-1, False), (0, True), (1, True)])
def test_record_trade_valued__at_relation_period_offset__gains_once(
    trust, writer, seller, buyer, offset, gains
):
    trust.record_trade_valued(seller, buyer, ETH, ETH_FLOOR, sender=writer)
    last_gain = chain.blocks.head.timestamp
    at(last_gain + PERIOD // 2)
    trust.record_trade_valued(seller, buyer, ETH, ETH_FLOOR, sender=writer)  # no gain
    at(last_gain + PERIOD + offset)
    tx = trust.record_trade_valued(buyer, seller, ETH, ETH_FLOOR, sender=writer)
    if gains:
        assert tx.events == [
            trust.TrustChanged(account=buyer, old=1, new=2, reason=0),
            trust.TrustChanged(account=seller, old=1, new=2, reason=0),
        ]
        assert trust.relation_info(seller, buyer)[2] == last_gain + PERIOD + offset
    else:
        assert tx.events == []
        assert (trust.trust_of(seller), trust.trust_of(buyer)) == (1, 1)
        assert trust.relation_info(seller, buyer)[2] == last_gain


def test_record_trade_valued__distinct_counterparties__each_gains(
    trust, writer, seller, buyer, buyer2, stranger
):
    for who in (buyer, buyer2, stranger):
        trust.record_trade_valued(seller, who, ETH, ETH_FLOOR, sender=writer)
    assert trust.trust_of(seller) == 3
    assert [trust.trust_of(w) for w in (buyer, buyer2, stranger)] == [1, 1, 1]


def test_record_trade_valued__below_floor__new_stays_new(trust, token, writer, seller, buyer):
    """A NEW account becomes ACTIVE only with a valued trade; tiny ones are only counted."""
    for tok, amount in ((ETH, 1), (ETH, ETH_FLOOR - 1), (token.address, SEC_FLOOR - 1)):
        assert trust.record_trade_valued(seller, buyer, tok, amount, sender=writer).events == []
    now = chain.blocks.head.timestamp
    for a in (seller, buyer):
        assert (trust.trust_of(a), trust.status_of(a)) == (0, 0)
    assert trust.relation_info(seller, buyer) == (3, now, 0)
    assert trust.is_live_relation(seller, buyer)
    tx = trust.record_trade_valued(seller, buyer, token, SEC_FLOOR, sender=writer)
    assert tx.events == [
        trust.TrustChanged(account=seller, old=0, new=1, reason=0),
        trust.TrustChanged(account=buyer, old=0, new=1, reason=0),
    ]


def test_record_trade_valued__other_token__gains_only_with_admin_floor(
    project, trust, writer, deployer, seller, buyer
):
    other = project.NoReturnToken.deploy(sender=deployer)
    assert trust.value_floor(other) == 0
    assert trust.record_trade_valued(seller, buyer, other, 10**30, sender=writer).events == []
    assert trust.status_of(seller) == 0
    tx = trust.set_value_floor(other, 5, sender=deployer)
    assert tx.events == [trust.ValueFloorSet(token=other, min_amount=5)]
    assert trust.record_trade_valued(seller, buyer, other, 4, sender=writer).events == []
    trust.record_trade_valued(seller, buyer, other, 5, sender=writer)
    assert (trust.trust_of(seller), trust.trust_of(buyer)) == (1, 1)


def test_set_value_floor__eth_sec_or_not_admin__reverts(trust, token, deployer, stranger):
    with ape.reverts("trust: floor is fixed"):
        trust.set_value_floor(ETH, 1, sender=deployer)
    with ape.reverts("trust: floor is fixed"):
        trust.set_value_floor(token, 1, sender=deployer)
    with ape.reverts("access_control: account is missing role"):
        trust.set_value_floor(stranger, 1, sender=stranger)


def test_is_live_relation__no_trade_for_a_period__lapses(trust, writer, seller, buyer):
    assert not trust.is_live_relation(seller, buyer)
    trust.record_trade(seller, buyer, sender=writer)
    last = chain.blocks.head.timestamp
    chain.mine(timestamp=last + PERIOD - 1)
    assert trust.is_live_relation(buyer, seller)
    chain.mine(timestamp=last + PERIOD)
    assert not trust.is_live_relation(buyer, seller)


def test_record_trade__self_trade_or_not_writer__reverts(trust, writer, seller, stranger):
    with ape.reverts("trust: seller is the buyer"):
        trust.record_trade(seller, seller, sender=writer)
    with ape.reverts("trust: seller is the buyer"):
        trust.record_trade_valued(seller, seller, ETH, ETH_FLOOR, sender=writer)
    with ape.reverts("trust: caller is not a writer"):
        trust.record_trade(seller, stranger, sender=stranger)
    with ape.reverts("trust: caller is not a writer"):
        trust.record_trade_valued(seller, stranger, ETH, ETH_FLOOR, sender=stranger)
    with ape.reverts("trust: caller is not a writer"):
        trust.penalize(seller, 1, FAKE, sender=stranger)


@pytest.mark.parametrize("reason", [CANCELLED, MISSED])
def test_penalize__failure_on_new_account__counted_not_lowered(trust, writer, seller, reason):
    tx = trust.penalize(seller, 1000, reason, sender=writer)
    assert tx.events == [trust.FailureRecorded(account=seller, failures=1, reason=reason)]
    assert (trust.trust_of(seller), trust.status_of(seller), trust.failures_of(seller)) == (0, 0, 1)


def test_penalize__failure_on_active__floors_at_one(trust, writer, seller, buyer):
    raise_to(trust, writer, seller, buyer, 5)
    trust.penalize(seller, 2, MISSED, sender=writer)
    assert trust.trust_of(seller) == 3
    tx = trust.penalize(seller, 10**30, CANCELLED, sender=writer)  # huge: clamps, never reverts
    assert tx.events == [
        trust.FailureRecorded(account=seller, failures=2, reason=CANCELLED),
        trust.TrustChanged(account=seller, old=3, new=1, reason=CANCELLED),
    ]
    assert trust.status_of(seller) == 1 and not trust.is_disabled(seller)


@pytest.mark.parametrize("amount", [2, 3])
def test_penalize__failure_of_the_whole_index__floors_at_one(trust, writer, seller, buyer, amount):
    raise_to(trust, writer, seller, buyer, 3)
    trust.penalize(seller, amount, MISSED, sender=writer)  # 3 - 2 and 3 - 3: both land on 1
    assert (trust.trust_of(seller), trust.status_of(seller)) == (1, 1)


def test_penalize__offence_to_zero__disabled_forever(trust, writer, seller, buyer):
    raise_to(trust, writer, seller, buyer, 25)
    trust.penalize(seller, 20, FAKE, sender=writer)
    assert (trust.trust_of(seller), trust.status_of(seller)) == (5, 1)
    tx = trust.penalize(seller, 20, FAKE, sender=writer)
    assert tx.events == [
        trust.AccountDisabled(account=seller),
        trust.TrustChanged(account=seller, old=5, new=0, reason=FAKE),
    ]
    assert trust.is_disabled(seller) and trust.status_of(seller) == 2
    # Forever: trades and further penalties change nothing.
    at(chain.blocks.head.timestamp + PERIOD)
    trust.record_trade(seller, buyer, sender=writer)
    assert trust.trust_of(seller) == 0 and trust.is_disabled(seller)
    assert trust.penalize(seller, 1, MALICIOUS, sender=writer).events == []
    assert trust.disabled_mask(seller, buyer) == 1
    assert trust.disabled_mask(buyer, seller) == 2


def test_penalize__offence_on_new_account__disabled(trust, writer, buyer):
    trust.penalize(buyer, 10, MALICIOUS, sender=writer)
    assert trust.is_disabled(buyer)


@pytest.mark.parametrize("reason", [0, 5, 255])
def test_penalize__unknown_reason__reverts(trust, writer, seller, reason):
    with ape.reverts("trust: unknown reason"):
        trust.penalize(seller, 1, reason, sender=writer)


def test_primary_writer__is_the_escrow(trust, escrow):
    assert trust.PRIMARY_WRITER() == escrow.address
