# pragma version 0.4.3
"""
@title ShareRewards
@notice The buyer of a completed order may share it once (`share`). A purchase of the
        shared listing made through the share within 72 hours of it (now < created_at +
        72 h), by an account that is neither the sharer nor the seller, earns the sharer
        a commission of REWARD_BPS of the price, in the order's own token (ETH or SEC),
        out of the seller's proceeds, paid by the Escrow when that purchase completes
        after having been shipped; nothing when it is cancelled, ruled for the buyer or
        confirmed before shipping.
        On top, the pool (SEC anyone may fund) may add a bonus equal to the commission
        (ETH converted at ETH_TO_SEC_RATE), at most BONUS_CAP SEC per sharer per
        BONUS_PERIOD and never more than the pool holds; bonuses are claimed (`claim`).
@dev Self-dealing never pays: a loop of seller, sharer and buyer run by one person
     moves the commission from its seller account to its sharer account (net 0) and
     pays gas for every transaction; only the bonus is new money, at most BONUS_CAP
     per sharer account per period (0 by default). See docs/decisions.md.
@custom:security Only the Escrow reports completions, once per order; this contract
                 only computes the commission (the Escrow pays it and caps it at its
                 MAX_COMMISSION_BPS). Bonuses are pulled (`claim`).
@license AGPL-3.0-only
"""

from ethereum.ercs import IERC20
from .interfaces import IEscrow
from .interfaces import IShareRewards
from .interfaces import ITrustIndex

implements: IShareRewards

# ERC-2771: a user may share and claim through the trusted forwarder.
from .modules import erc2771
initializes: erc2771
exports: (erc2771.isTrustedForwarder, erc2771.FORWARDER)


# ---------------------------------------------------------------- #
#                            constants                             #
# ---------------------------------------------------------------- #

SHARE_WINDOW: public(constant(uint256)) = 72 * 3600
BPS: constant(uint256) = 10_000
# Escrow caps the commission at its MAX_COMMISSION_BPS, the same 10 %.
MAX_REWARD_BPS: public(constant(uint256)) = 1_000
STATUS_COMPLETED: constant(uint8) = 3
_ADDR: constant(uint256) = 2**160 - 1
_MASK_48: constant(uint256) = 2**48 - 1
_MASK_192: constant(uint256) = 2**192 - 1


# ---------------------------------------------------------------- #
#                            immutables                            #
# ---------------------------------------------------------------- #

ESCROW: public(immutable(IEscrow))
SEC_TOKEN: public(immutable(IERC20))
TRUST_INDEX: public(immutable(ITrustIndex))
REWARD_BPS: public(immutable(uint256))
ETH_TO_SEC_RATE: public(immutable(uint256))
# Most SEC of pool bonus one sharer earns per BONUS_PERIOD (0: no bonus).
BONUS_CAP: public(immutable(uint256))
BONUS_PERIOD: public(immutable(uint256))


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
# bonus earned in the current period (bits 0-191) | period index (192-255)
_bonus_used: HashMap[address, uint256]


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
    token: address
    commission: uint256
    bonus: uint256

event PoolFunded:
    funder: indexed(address)
    amount: uint256

event RewardClaimed:
    account: indexed(address)
    amount: uint256


@deploy
def __init__(
    escrow: IEscrow,
    sec_token: IERC20,
    trust_index: ITrustIndex,
    reward_bps: uint256,
    eth_to_sec_rate: uint256,
    bonus_cap: uint256,
    bonus_period: uint256,
    forwarder: address,
):
    """
    @param reward_bps The sharer's commission, share of the price (at most 10 %).
    @param eth_to_sec_rate SEC per ETH, to size the bonus of ETH prices (the whitepaper's 11,000).
    @param bonus_cap Most SEC of pool bonus per sharer per `bonus_period` (0: none).
    @param bonus_period Length of a bonus period in seconds.
    @param forwarder The trusted ERC-2771 forwarder (relayed calls), or empty for none.
    """
    assert reward_bps <= MAX_REWARD_BPS, "share: bad reward"
    assert bonus_period > 0, "share: bad bonus period"
    assert bonus_cap <= _MASK_192, "share: bad bonus cap"
    ESCROW = escrow
    SEC_TOKEN = sec_token
    TRUST_INDEX = trust_index
    REWARD_BPS = reward_bps
    ETH_TO_SEC_RATE = eth_to_sec_rate
    BONUS_CAP = bonus_cap
    BONUS_PERIOD = bonus_period
    erc2771.__init__(forwarder)


@external
def share(order_id: uint256) -> uint256:
    """
    @notice Shares a completed purchase; friends who buy the same listing through it
            within 72 hours earn the caller a reward.
    @custom:security The order's buyer only, once per order.
    """
    sharer: address = erc2771._sender()
    order: IEscrow.Order = staticcall ESCROW.get_order(order_id)
    assert order.status == STATUS_COMPLETED, "share: order is not completed"
    assert order.buyer == sharer, "share: caller is not the buyer"
    assert self.share_of_order[order_id] == 0, "share: order already shared"
    assert not staticcall TRUST_INDEX.is_disabled(sharer), "share: sharer is disabled"
    share_id: uint256 = self.share_count + 1
    self.share_count = share_id
    self.share_of_order[order_id] = share_id
    self._shares[share_id] = (block.timestamp << 208) | (order.listing_id << 160) | convert(sharer, uint256)
    log Shared(share_id=share_id, order_id=order_id, sharer=sharer, listing_id=order.listing_id, expires_at=block.timestamp + SHARE_WINDOW)
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
def on_purchase_completed(share_id: uint256, order_id: uint256, price: uint256, token: address) -> (address, uint256):
    """
    @notice Records a completed, shipped purchase made through `share_id`: returns the
            sharer and its commission (REWARD_BPS of `price`, in `token`), which the
            Escrow pays out of the seller's proceeds, and credits the pool bonus.
    @dev The Escrow calls this only for orders that were shipped.
    @return The sharer and the commission in wei of `token`.
    @custom:security Escrow only; once per order.
    """
    assert msg.sender == ESCROW.address, "share: caller is not the escrow"
    assert not self.rewarded[order_id], "share: already rewarded"
    self.rewarded[order_id] = True
    word: uint256 = self._shares[share_id]
    sharer: address = convert(convert(word & _ADDR, uint160), address)
    commission: uint256 = price * REWARD_BPS // BPS
    bonus: uint256 = 0
    if BONUS_CAP != 0:
        bonus = self._credit_bonus(sharer, commission, token)
    log ShareRewarded(share_id=share_id, order_id=order_id, sharer=sharer, token=token, commission=commission, bonus=bonus)
    return sharer, commission


@view
@external
def bonus_left(sharer: address) -> uint256:
    """
    @notice How much more pool bonus `sharer` may earn in the current period (before
            the pool's own limit).
    """
    used: uint256 = self._bonus_used[sharer]
    if used >> 192 != block.timestamp // BONUS_PERIOD:
        return BONUS_CAP
    return BONUS_CAP - (used & _MASK_192)


@external
@nonreentrant
def fund(amount: uint256):
    """
    @notice Adds `amount` SEC to the reward pool (approve first).
    """
    assert amount > 0, "share: nothing to fund"
    funder: address = erc2771._sender()
    self.pool += amount
    self.total_funded += amount
    log PoolFunded(funder=funder, amount=amount)
    assert extcall SEC_TOKEN.transferFrom(funder, self, amount, default_return_value=True), "share: transfer failed"


@external
@nonreentrant
def claim():
    """
    @notice Pays the caller every reward credited to it.
    """
    account: address = erc2771._sender()
    amount: uint256 = self.claimable[account]
    assert amount > 0, "share: nothing to claim"
    self.claimable[account] = 0
    log RewardClaimed(account=account, amount=amount)
    assert extcall SEC_TOKEN.transfer(account, amount, default_return_value=True), "share: transfer failed"


# ---------------------------------------------------------------- #
#                             internal                             #
# ---------------------------------------------------------------- #

@internal
def _credit_bonus(sharer: address, commission: uint256, token: address) -> uint256:
    """
    @dev Credits the sharer the commission's worth in SEC from the pool, within the
         sharer's cap for the current period and what the pool holds.
    """
    worth: uint256 = 0
    if token == empty(address):
        worth = commission * ETH_TO_SEC_RATE
    elif token == SEC_TOKEN.address:
        worth = commission
    period: uint256 = block.timestamp // BONUS_PERIOD
    used: uint256 = self._bonus_used[sharer]
    if used >> 192 != period:
        used = 0
    else:
        used = used & _MASK_192
    bonus: uint256 = min(min(worth, BONUS_CAP - used), self.pool)
    if bonus == 0:
        return 0
    self._bonus_used[sharer] = (period << 192) | (used + bonus)
    self.pool -= bonus
    self.claimable[sharer] += bonus
    self.total_rewarded += bonus
    return bonus
