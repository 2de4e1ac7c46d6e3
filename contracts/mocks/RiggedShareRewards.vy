# pragma version 0.4.3
"""
@title RiggedShareRewards
@notice Test-only: stands in for ShareRewards (accepts every share, answers a set sharer
        and commission, or reverts) and, through `__default__`, for a TrustIndex whose
        every write reverts.
@license AGPL-3.0-only
"""

MODE_ANSWER: constant(uint256) = 0
MODE_REVERT: constant(uint256) = 1

mode: public(uint256)
sharer: public(address)
commission: public(uint256)


@external
def set_answer(mode: uint256, sharer: address, commission: uint256):
    """
    @notice What `on_purchase_completed` does next: answer (`sharer`, `commission`) or revert.
    """
    self.mode = mode
    self.sharer = sharer
    self.commission = commission


@view
@external
def validate_share(share_id: uint256, listing_id: uint256, buyer: address, seller: address) -> bool:
    """
    @notice Accepts every share.
    """
    return True


@view
@external
def is_disabled(account: address) -> bool:
    """
    @notice Nobody is disabled.
    """
    return False


@external
def on_purchase_completed(share_id: uint256, order_id: uint256, price: uint256, token: address) -> (address, uint256):
    """
    @notice Answers the configured sharer and commission, or reverts.
    """
    assert self.mode == MODE_ANSWER, "rigged: refused"
    return self.sharer, self.commission


@external
def __default__():
    raise "rigged: refused"
