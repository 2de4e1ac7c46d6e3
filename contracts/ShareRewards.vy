# pragma version 0.4.3
"""
@title ShareRewards
@notice The buyer of a completed order may share it once (`share`). A purchase of the
        shared listing made through the share within 72 hours of it (now < created_at +
        72 h), by an account that is neither the sharer nor the seller, earns the sharer
        REWARD_BPS of the price in SEC (ETH prices converted at ETH_TO_SEC_RATE) once that
        purchase completes; nothing when it is cancelled or ruled for the buyer.
        Rewards are paid from a pool anyone may fund; an empty pool never blocks a
        completion (the reward is then paid only up to what the pool holds).
@custom:security Only the Escrow reports completions, once per order. Payouts are pulled
                 (`claim`). What is not prevented: a buyer sharing to a second account
                 of his own pays full price to earn REWARD_BPS of it back; see
                 docs/decisions.md.
@license AGPL-3.0-only
"""

from ethereum.ercs import IERC20
from .interfaces import IEscrow
from .interfaces import IShareRewards
from .interfaces import ITrustIndex

implements: IShareRewards


# ---------------------------------------------------------------- #
#                            constants                             #
# ---------------------------------------------------------------- #

SHARE_WINDOW: public(constant(uint256)) = 72 * 3600
BPS: constant(uint256) = 10_000
STATUS_COMPLETED: constant(uint8) = 3
_ADDR: constant(uint256) = 2**160 - 1
_MASK_48: constant(uint256) = 2**48 - 1


# ---------------------------------------------------------------- #
#                            immutables                            #
# ---------------------------------------------------------------- #

ESCROW: public(immutable(IEscrow))
SEC_TOKEN: public(immutable(IERC20))
TRUST_INDEX: public(immutable(ITrustIndex))
REWARD_BPS: public(immutable(uint256))
ETH_TO_SEC_RATE: public(immutable(uint256))


# ---------------------------------------------------------------- #
#                             storage                              #
# ---------------------------------------------------------------- #

share_count: public(uint256)
share_of_order: public(HashMap[uint256, uint256])
rewarded: public(HashMap[uint256, bool])
claimable: public(HashMap[address, uint256])
pool: public(uint256)
total_funded: public(uint256)
total_rewarded: public(uint256)
# sharer (bits 0-159) | listing_id (160-207) | created_at (208-255)
_shares: HashMap[uint256, uint256]


# ---------------------------------------------------------------- #
#                              events                              #
# ---------------------------------------------------------------- #

event Shared:
    share_id: indexed(uint256)
    order_id: indexed(uint256)
    sharer: indexed(address)
    listing_id: uint256
    expires_at: uint256

event ShareRewarded:
    share_id: indexed(uint256)
    order_id: indexed(uint256)
    sharer: indexed(address)
    reward: uint256
    paid: uint256

event PoolFunded:
    funder: indexed(address)
    amount: uint256

event RewardClaimed:
    account: indexed(address)
    amount: uint256


@deploy
def __init__(escrow: IEscrow, sec_token: IERC20, trust_index: ITrustIndex, reward_bps: uint256, eth_to_sec_rate: uint256):
    """
    @param reward_bps The sharer's reward, share of the price.
    @param eth_to_sec_rate SEC per ETH for ETH prices (the whitepaper's 11,000).
    """
    assert reward_bps <= BPS, "share: bad reward"
    ESCROW = escrow
    SEC_TOKEN = sec_token
    TRUST_INDEX = trust_index
    REWARD_BPS = reward_bps
    ETH_TO_SEC_RATE = eth_to_sec_rate


@external
def share(order_id: uint256) -> uint256:
    """
    @notice Shares a completed purchase; friends who buy the same listing through it
            within 72 hours earn the caller a reward.
    @custom:security The order's buyer only, once per order.
    """
    order: IEscrow.Order = staticcall ESCROW.get_order(order_id)
    assert order.status == STATUS_COMPLETED, "share: order is not completed"
    assert order.buyer == msg.sender, "share: caller is not the buyer"
    assert self.share_of_order[order_id] == 0, "share: order already shared"
    assert not staticcall TRUST_INDEX.is_disabled(msg.sender), "share: sharer is disabled"
    share_id: uint256 = self.share_count + 1
    self.share_count = share_id
    self.share_of_order[order_id] = share_id
    self._shares[share_id] = (block.timestamp << 208) | (order.listing_id << 160) | convert(msg.sender, uint256)
    log Shared(share_id=share_id, order_id=order_id, sharer=msg.sender, listing_id=order.listing_id, expires_at=block.timestamp + SHARE_WINDOW)
    return share_id


@view
@external
def share_info(share_id: uint256) -> (address, uint256, uint256):
    """
    @notice The sharer, the shared listing and the time of sharing.
    """
    word: uint256 = self._shares[share_id]
    return convert(convert(word & _ADDR, uint160), address), (word >> 160) & _MASK_48, word >> 208


@view
@external
def validate_share(share_id: uint256, listing_id: uint256, buyer: address, seller: address) -> bool:
    """
    @notice Reverts unless a purchase of `listing_id` by `buyer` may go through `share_id`.
    """
    word: uint256 = self._shares[share_id]
    assert word != 0, "share: unknown share"
    sharer: address = convert(convert(word & _ADDR, uint160), address)
    assert (word >> 160) & _MASK_48 == listing_id, "share: share is for another listing"
    assert block.timestamp < (word >> 208) + SHARE_WINDOW, "share: share expired"
    assert buyer != sharer, "share: sharer cannot buy through own share"
    assert buyer != seller and sharer != seller, "share: seller cannot refer"
    return True


@external
def on_purchase_completed(share_id: uint256, order_id: uint256, price: uint256, token: address):
    """
    @notice Credits the sharer's reward for a completed shared purchase, from the pool.
    @custom:security Escrow only; once per order.
    """
    assert msg.sender == ESCROW.address, "share: caller is not the escrow"
    assert not self.rewarded[order_id], "share: already rewarded"
    self.rewarded[order_id] = True
    word: uint256 = self._shares[share_id]
    sharer: address = convert(convert(word & _ADDR, uint160), address)
    reward: uint256 = 0
    if token == empty(address):
        reward = price * ETH_TO_SEC_RATE * REWARD_BPS // BPS
    elif token == SEC_TOKEN.address:
        reward = price * REWARD_BPS // BPS
    paid: uint256 = min(reward, self.pool)
    self.pool -= paid
    self.claimable[sharer] += paid
    self.total_rewarded += paid
    log ShareRewarded(share_id=share_id, order_id=order_id, sharer=sharer, reward=reward, paid=paid)


@external
@nonreentrant
def fund(amount: uint256):
    """
    @notice Adds `amount` SEC to the reward pool (approve first).
    """
    assert amount > 0, "share: nothing to fund"
    self.pool += amount
    self.total_funded += amount
    log PoolFunded(funder=msg.sender, amount=amount)
    assert extcall SEC_TOKEN.transferFrom(msg.sender, self, amount, default_return_value=True), "share: transfer failed"


@external
@nonreentrant
def claim():
    """
    @notice Pays the caller every reward credited to it.
    """
    amount: uint256 = self.claimable[msg.sender]
    assert amount > 0, "share: nothing to claim"
    self.claimable[msg.sender] = 0
    log RewardClaimed(account=msg.sender, amount=amount)
    assert extcall SEC_TOKEN.transfer(msg.sender, amount, default_return_value=True), "share: transfer failed"
