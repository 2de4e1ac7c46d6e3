# pragma version 0.4.3
"""
@title RiggedTrustIndex
@notice Test-only: a TrustIndex that names an Escrow its primary writer, so the Escrow
        keeps its relation words, and then answers `record_gain` as told: revert, or a
        set timestamp. Counts the calls, so a test sees which trades called at all.
@license AGPL-3.0-only
"""

PRIMARY_WRITER: public(immutable(address))

reverts: public(bool)
answer: public(uint256)
calls: public(uint256)


@deploy
def __init__(primary_writer: address):
    PRIMARY_WRITER = primary_writer


@external
def set_answer(reverts: bool, answer: uint256):
    """
    @notice What `record_gain` does next: revert, or return `answer`.
    """
    self.reverts = reverts
    self.answer = answer


@view
@external
def relation_period() -> uint256:
    """
    @notice 90 days, as the real TrustIndex by default.
    """
    return 90 * 86400


@view
@external
def is_disabled(account: address) -> bool:
    """
    @notice Nobody is disabled.
    """
    return False


@external
def record_gain(seller: address, buyer: address, token: address, amount: uint256) -> uint256:
    """
    @notice Reverts or answers the set timestamp; counts the call.
    """
    assert not self.reverts, "rigged: record_gain"
    self.calls += 1
    return self.answer
