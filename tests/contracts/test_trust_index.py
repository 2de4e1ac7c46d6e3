"""TrustIndex: trades raise the index to a cap of 100; failures floor at 1 and never touch a
NEW account; judged offences reach 0 and disable forever; only writers write."""

import ape
import pytest

CANCELLED, MISSED, FAKE, MALICIOUS = 1, 2, 3, 4


@pytest.fixture
def writer(trust, deployer):
    trust.grantRole(trust.WRITER_ROLE(), deployer, sender=deployer)
    return deployer


def test_record_trade__new_accounts__active_with_one(trust, writer, seller, buyer):
    tx = trust.record_trade(seller, buyer, sender=writer)
    assert tx.events == [
        trust.TrustChanged(account=seller, old=0, new=1, reason=0),
        trust.TrustChanged(account=buyer, old=0, new=1, reason=0),
    ]
    assert (trust.trust_of(seller), trust.status_of(seller), trust.trades_of(seller)) == (1, 1, 1)
    assert trust.relation(seller, buyer)[0] == 1


def test_record_trade__cap__stays_at_100(trust, writer, seller, buyer):
    for _ in range(101):
        trust.record_trade(seller, buyer, sender=writer)
    assert trust.trust_of(seller) == 100
    tx = trust.record_trade(seller, buyer, sender=writer)
    assert tx.events == []  # nothing moved
    assert trust.trades_of(seller) == 102
    assert trust.relation(buyer, seller)[0] == 102


def test_record_trade__self_trade_or_not_writer__reverts(trust, writer, seller, stranger):
    with ape.reverts("trust: seller is the buyer"):
        trust.record_trade(seller, seller, sender=writer)
    with ape.reverts("trust: caller is not a writer"):
        trust.record_trade(seller, stranger, sender=stranger)
    with ape.reverts("trust: caller is not a writer"):
        trust.penalize(seller, 1, FAKE, sender=stranger)


@pytest.mark.parametrize("reason", [CANCELLED, MISSED])
def test_penalize__failure_on_new_account__counted_not_lowered(trust, writer, seller, reason):
    tx = trust.penalize(seller, 1000, reason, sender=writer)
    assert tx.events == [trust.FailureRecorded(account=seller, failures=1, reason=reason)]
    assert (trust.trust_of(seller), trust.status_of(seller), trust.failures_of(seller)) == (0, 0, 1)


def test_penalize__failure_on_active__floors_at_one(trust, writer, seller, buyer):
    for _ in range(5):
        trust.record_trade(seller, buyer, sender=writer)
    trust.penalize(seller, 2, MISSED, sender=writer)
    assert trust.trust_of(seller) == 3
    tx = trust.penalize(seller, 10**30, CANCELLED, sender=writer)  # huge: clamps, never reverts
    assert tx.events == [
        trust.FailureRecorded(account=seller, failures=2, reason=CANCELLED),
        trust.TrustChanged(account=seller, old=3, new=1, reason=CANCELLED),
    ]
    assert trust.status_of(seller) == 1 and not trust.is_disabled(seller)


def test_penalize__offence_to_zero__disabled_forever(trust, writer, seller, buyer):
    for _ in range(25):
        trust.record_trade(seller, buyer, sender=writer)
    trust.penalize(seller, 20, FAKE, sender=writer)
    assert (trust.trust_of(seller), trust.status_of(seller)) == (5, 1)
    tx = trust.penalize(seller, 20, FAKE, sender=writer)
    assert tx.events == [
        trust.AccountDisabled(account=seller),
        trust.TrustChanged(account=seller, old=5, new=0, reason=FAKE),
    ]
    assert trust.is_disabled(seller) and trust.status_of(seller) == 2
    # Forever: trades and further penalties change nothing.
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
