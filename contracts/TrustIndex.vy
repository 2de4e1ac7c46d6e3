# pragma version 0.4.3
"""
@title TrustIndex
@notice Per-account trust index 0..100 and pairwise trade relations.
        A NEW account (never traded) becomes ACTIVE with index 1 after its first
        completed trade and gains 1 per completed trade up to 100. Failures (a seller
        cancelling before shipping, missing the ship window) lower an ACTIVE index
        but never below 1 and leave a NEW account untouched; judged offences (fake
        goods, malicious complaint) can reach 0, and an account at 0 after a judged
        offence is DISABLED forever.
@dev Each account is one packed storage word, so a trade costs one SSTORE per
     party: bits 0-7 trust, 8-15 status, 16-47 failures, 48-111 completed trades.
     A pair relation is one word keyed by the ordered pair: bits 0-127 completed
     trades between the two, 128-255 time of the last one.
@custom:security Only PRIMARY_WRITER (the Escrow) and accounts holding
                 WRITER_ROLE change an index. The admin (DEFAULT_ADMIN_ROLE, the deployer)
                 grants and revokes that role and can do nothing else here.
@license AGPL-3.0-only
"""

from snekmate.auth import access_control
initializes: access_control

# Everything of access_control is exported: role administration is the only
# governance this contract has.
exports: access_control.__interface__

from .interfaces import ITrustIndex
implements: ITrustIndex


# ---------------------------------------------------------------- #
#                            constants                             #
# ---------------------------------------------------------------- #

WRITER_ROLE: public(constant(bytes32)) = keccak256("WRITER_ROLE")

MAX_TRUST: public(constant(uint256)) = 100

STATUS_NEW: constant(uint256) = 0
STATUS_ACTIVE: constant(uint256) = 1
STATUS_DISABLED: constant(uint256) = 2

REASON_TRADE: constant(uint8) = 0
REASON_CANCELLED: constant(uint8) = 1
REASON_MISSED_SHIP_WINDOW: constant(uint8) = 2
REASON_FAKE_GOODS: constant(uint8) = 3
REASON_MALICIOUS_COMPLAINT: constant(uint8) = 4

_MASK_8: constant(uint256) = 255
_MASK_32: constant(uint256) = 2**32 - 1
_MASK_64: constant(uint256) = 2**64 - 1
_MASK_128: constant(uint256) = 2**128 - 1


# ---------------------------------------------------------------- #
#                            immutables                            #
# ---------------------------------------------------------------- #

# The Escrow, fixed at deploy (its address is known before it is deployed), so
# the writer check on every trade costs no storage read. Further writers can be
# granted WRITER_ROLE.
PRIMARY_WRITER: public(immutable(address))


# ---------------------------------------------------------------- #
#                             storage                              #
# ---------------------------------------------------------------- #

_accounts: HashMap[address, uint256]
_relations: HashMap[address, HashMap[address, uint256]]


# ---------------------------------------------------------------- #
#                              events                              #
# ---------------------------------------------------------------- #

event TrustChanged:
    account: indexed(address)
    old: uint256
    new: uint256
    reason: uint8

event AccountDisabled:
    account: indexed(address)

event FailureRecorded:
    account: indexed(address)
    failures: uint256
    reason: uint8


@deploy
def __init__(primary_writer: address):
    """
    @param primary_writer The Escrow (its future address); may be empty.
    """
    access_control.__init__()
    PRIMARY_WRITER = primary_writer


# ---------------------------------------------------------------- #
#                              views                               #
# ---------------------------------------------------------------- #

@view
@external
def trust_of(account: address) -> uint256:
    """
    @notice The trust index of `account`, 0..100.
    """
    return self._accounts[account] & _MASK_8


@view
@external
def status_of(account: address) -> uint8:
    """
    @notice 0 NEW (never traded), 1 ACTIVE, 2 DISABLED (permanent).
    """
    return convert((self._accounts[account] >> 8) & _MASK_8, uint8)


@view
@external
def is_disabled(account: address) -> bool:
    """
    @notice Whether `account` is disabled forever.
    """
    return (self._accounts[account] >> 8) & _MASK_8 == STATUS_DISABLED


@view
@external
def disabled_mask(a: address, b: address) -> uint256:
    """
    @notice Both disabled flags in one call: bit 0 `a` is disabled, bit 1 `b` is.
    @dev Lets Escrow check buyer and seller with a single call.
    """
    mask: uint256 = 0
    if (self._accounts[a] >> 8) & _MASK_8 == STATUS_DISABLED:
        mask |= 1
    if (self._accounts[b] >> 8) & _MASK_8 == STATUS_DISABLED:
        mask |= 2
    return mask


@view
@external
def failures_of(account: address) -> uint256:
    """
    @notice How many failed trades (cancellations, missed ship windows) `account` has.
    """
    return (self._accounts[account] >> 16) & _MASK_32


@view
@external
def trades_of(account: address) -> uint256:
    """
    @notice How many completed trades `account` took part in.
    """
    return (self._accounts[account] >> 48) & _MASK_64


@view
@external
def relation(a: address, b: address) -> (uint256, uint256):
    """
    @notice Completed trades between `a` and `b` (either side), and the time of the last one.
    """
    word: uint256 = self._relation_word(a, b)
    return word & _MASK_128, word >> 128


# ---------------------------------------------------------------- #
#                             writers                              #
# ---------------------------------------------------------------- #

@external
def record_trade(seller: address, buyer: address):
    """
    @notice Records a completed trade: NEW accounts become ACTIVE with 1, ACTIVE
            ones gain 1 (cap 100); the pair relation is updated. A disabled
            account's index stays 0.
    @custom:security WRITER_ROLE only.
    """
    self._check_writer()
    assert seller != buyer, "trust: seller is the buyer"
    self._credit_trade(seller)
    self._credit_trade(buyer)

    lo: address = seller
    hi: address = buyer
    if convert(seller, uint256) > convert(buyer, uint256):
        lo = buyer
        hi = seller
    count: uint256 = (self._relations[lo][hi] & _MASK_128) + 1
    # The relation is implied by the writer's own completion event (Escrow's
    # OrderCompleted, same transaction); TrustChanged reports each index move.
    self._relations[lo][hi] = (block.timestamp << 128) | count


@external
def penalize(account: address, amount: uint256, reason: uint8):
    """
    @notice Lowers the trust index of `account` by `amount`, clamped: failures
            (reasons 1, 2) floor at 1 for ACTIVE accounts and leave NEW ones at 0;
            judged offences (3, 4) floor at 0, and 0 disables the account forever.
    @dev Never reverts on a large penalty.
    @custom:security WRITER_ROLE only.
    """
    self._check_writer()
    assert reason >= REASON_CANCELLED and reason <= REASON_MALICIOUS_COMPLAINT, "trust: unknown reason"
    word: uint256 = self._accounts[account]
    status: uint256 = (word >> 8) & _MASK_8
    old: uint256 = word & _MASK_8
    new: uint256 = old

    if reason <= REASON_MISSED_SHIP_WINDOW:
        failures: uint256 = ((word >> 16) & _MASK_32) + 1
        if failures > _MASK_32:
            failures = _MASK_32
        word = (word & ~(_MASK_32 << 16)) | (failures << 16)
        if status == STATUS_ACTIVE:
            new = 1
            if old > amount + 1:
                new = old - amount
        self._accounts[account] = (word & ~_MASK_8) | new
        log FailureRecorded(account=account, failures=failures, reason=reason)
    else:
        if status == STATUS_DISABLED:
            return
        new = 0
        if old > amount:
            new = old - amount
        if new == 0:
            status = STATUS_DISABLED
        word = (word & ~(_MASK_8 | (_MASK_8 << 8))) | new | (status << 8)
        self._accounts[account] = word
        if status == STATUS_DISABLED:
            log AccountDisabled(account=account)

    if new != old:
        log TrustChanged(account=account, old=old, new=new, reason=reason)


# ---------------------------------------------------------------- #
#                             internal                             #
# ---------------------------------------------------------------- #

@view
@internal
def _check_writer():
    if msg.sender != PRIMARY_WRITER:
        assert access_control.hasRole[WRITER_ROLE][msg.sender], "trust: caller is not a writer"


@internal
def _credit_trade(account: address):
    word: uint256 = self._accounts[account]
    status: uint256 = (word >> 8) & _MASK_8
    old: uint256 = word & _MASK_8
    new: uint256 = old
    if status == STATUS_NEW:
        status = STATUS_ACTIVE
        new = 1
    elif status == STATUS_ACTIVE and old < MAX_TRUST:
        new = old + 1
    trades: uint256 = ((word >> 48) & _MASK_64) + 1
    word = (word & ~(_MASK_8 | (_MASK_8 << 8) | (_MASK_64 << 48))) | new | (status << 8) | (trades << 48)
    self._accounts[account] = word
    if new != old:
        log TrustChanged(account=account, old=old, new=new, reason=REASON_TRADE)


@view
@internal
def _relation_word(a: address, b: address) -> uint256:
    if convert(a, uint256) > convert(b, uint256):
        return self._relations[b][a]
    return self._relations[a][b]
