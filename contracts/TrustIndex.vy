# pragma version 0.4.3
"""
@title TrustIndex
@notice Per-account trust index 0..100 and pairwise trade relations.
        A completed trade raises both parties' indexes only when it is *valued*
        (its value is at least the floor of its token) and the pair has not gained
        within the last relation period: a NEW account (no gaining trade yet)
        becomes ACTIVE with index 1 on its first gaining trade, an ACTIVE one gains
        1 per gaining trade up to 100. Every completed trade, gaining or not, counts
        in the pair relation (count, last trade). Failures (a seller
        cancelling before shipping, missing the ship window) lower an ACTIVE index
        but never below 1 and leave a NEW account untouched; judged offences (fake
        goods, malicious complaint) can reach 0, and an account at 0 after a judged
        offence is DISABLED forever.
@dev Each account is one packed storage word, written only when its index or
     failures change: bits 0-7 trust, 8-15 status, 16-47 failures. There is no
     per-account trade count (it would cost every trade two more cold words);
     completed orders are in Escrow's `OrderCompleted` events.
     A pair relation is one word keyed by the ordered pair: bits 0-63 completed
     trades between the two, 64-127 time of the last one, 128-191 time of the
     last trade that raised the indexes (0: none yet). The relation has two
     parts: PRIMARY_WRITER (the Escrow) keeps the word of the trades it completes
     (`relation_of`, the same layout) and calls here only for a trade that may
     raise the indexes (`record_gain`), so a repeat trade of a related pair writes
     one word; trades recorded by other writers (`record_trade`,
     `record_trade_valued`) are kept here. Every view combines both parts (counts
     add, times are the later one), and a gain needs both parts' last gain to be
     a relation period old, so no path gains twice per pair per period.
     Floors: ETH_VALUE_FLOOR for ETH, SEC_VALUE_FLOOR for SEC (immutable), the
     admin's `set_value_floor` for other tokens; a token without a floor never
     raises an index.
@custom:security Only PRIMARY_WRITER (the Escrow) and accounts holding
                 WRITER_ROLE change an index. The admin (DEFAULT_ADMIN_ROLE, the deployer)
                 grants and revokes that role and sets floors for tokens other than ETH
                 and SEC; it can do nothing else here.
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


# ---------------------------------------------------------------- #
#                            immutables                            #
# ---------------------------------------------------------------- #

# The Escrow, fixed at deploy (its address is known before it is deployed), so
# the writer check costs no storage read. It keeps the relation words of its own
# trades (read back with its `relation_of`). Further writers can be granted
# WRITER_ROLE.
PRIMARY_WRITER: public(immutable(address))

# The SEC token, whose floor is SEC_VALUE_FLOOR.
SEC_TOKEN: public(immutable(address))
# Smallest trade value (wei of the token) that can raise an index.
ETH_VALUE_FLOOR: public(immutable(uint256))
SEC_VALUE_FLOOR: public(immutable(uint256))
# A pair raises its indexes at most once per this many seconds; a relation with no
# trade for this long has lapsed.
RELATION_PERIOD: public(immutable(uint256))


# ---------------------------------------------------------------- #
#                             storage                              #
# ---------------------------------------------------------------- #

_accounts: HashMap[address, uint256]
_relations: HashMap[address, HashMap[address, uint256]]
# Floors of tokens other than ETH and SEC (0: the token never raises an index).
_floors: HashMap[address, uint256]


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

event ValueFloorSet:
    token: indexed(address)
    min_amount: uint256


@deploy
def __init__(
    primary_writer: address,
    sec_token: address,
    eth_value_floor: uint256,
    sec_value_floor: uint256,
    relation_period: uint256,
):
    """
    @param primary_writer The Escrow (its future address); may be empty.
    @param sec_token The SEC token (its floor is `sec_value_floor`).
    @param eth_value_floor Smallest ETH trade (wei) that can raise an index.
    @param sec_value_floor Smallest SEC trade (wei) that can raise an index.
    @param relation_period Seconds between two gains of the same pair; a relation
           with no trade for this long has lapsed.
    """
    assert eth_value_floor > 0 and sec_value_floor > 0, "trust: zero floor"
    assert relation_period > 0 and relation_period < 2**32, "trust: bad relation period"
    access_control.__init__()
    PRIMARY_WRITER = primary_writer
    SEC_TOKEN = sec_token
    ETH_VALUE_FLOOR = eth_value_floor
    SEC_VALUE_FLOOR = sec_value_floor
    RELATION_PERIOD = relation_period


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
    @notice 0 NEW (no trust-raising trade yet), 1 ACTIVE, 2 DISABLED (permanent).
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
def relation(a: address, b: address) -> (uint256, uint256):
    """
    @notice Completed trades between `a` and `b` (either side), and the time of the last one.
    """
    count: uint256 = 0
    last: uint256 = 0
    last_gain: uint256 = 0
    count, last, last_gain = self._relation(a, b)
    return count, last


@view
@external
def relation_info(a: address, b: address) -> (uint256, uint256, uint256):
    """
    @notice Completed trades between `a` and `b`, the time of the last one and the
            time of the last one that raised their indexes (0: none did).
    """
    return self._relation(a, b)


@view
@external
def is_live_relation(a: address, b: address) -> bool:
    """
    @notice Whether `a` and `b` traded within the last relation period
            (now < last trade + RELATION_PERIOD).
    """
    count: uint256 = 0
    last: uint256 = 0
    last_gain: uint256 = 0
    count, last, last_gain = self._relation(a, b)
    return last != 0 and block.timestamp < last + RELATION_PERIOD


@view
@external
def relation_period() -> uint256:
    """
    @notice Seconds between two index gains of the same pair; also how long a
            relation stays live after its last trade.
    """
    return RELATION_PERIOD


@view
@external
def value_floor(token: address) -> uint256:
    """
    @notice The smallest trade value in `token` (zero address: ETH) that can raise
            an index; 0 when trades in `token` never do.
    """
    return self._floor_of(token)


@view
@external
def next_gain_at(a: address, b: address) -> uint256:
    """
    @notice The earliest time a valued trade between `a` and `b` raises their
            indexes (0: their next valued trade does).
    """
    count: uint256 = 0
    last: uint256 = 0
    last_gain: uint256 = 0
    count, last, last_gain = self._relation(a, b)
    if last_gain == 0:
        return 0
    return last_gain + RELATION_PERIOD


# ---------------------------------------------------------------- #
#                             writers                              #
# ---------------------------------------------------------------- #

@external
def record_trade(seller: address, buyer: address):
    """
    @notice Records a completed trade the writer vouches is valued (at least the
            floor): unless the pair already gained within the relation period
            (through any writer), NEW accounts become ACTIVE with 1 and ACTIVE ones
            gain 1 (cap 100). The pair relation is always updated. A disabled
            account's index stays 0.
    @custom:security WRITER_ROLE only. The primary writer (Escrow) calls `record_gain`.
    """
    self._check_writer()
    self._record(seller, buyer, True)


@external
def record_trade_valued(seller: address, buyer: address, token: address, amount: uint256):
    """
    @notice Records a completed trade of `amount` wei of `token` (zero address: ETH):
            it raises the indexes (as `record_trade`) only when `amount` is at least
            the token's floor and the pair has not gained within the relation
            period; the relation is always updated.
    @dev For writers that keep no relation of their own (a second escrow); the
         primary writer keeps its relation words and calls `record_gain`.
    @custom:security WRITER_ROLE only.
    """
    self._check_writer()
    self._record(seller, buyer, self._is_valued(token, amount))


@external
def record_gain(seller: address, buyer: address, token: address, amount: uint256) -> uint256:
    """
    @notice A completed trade of PRIMARY_WRITER, which counted it in its own part of
            the relation and found that part had not gained within the relation
            period: raises both indexes (NEW accounts to ACTIVE with 1, ACTIVE ones
            +1, cap 100) when `amount` is at least the token's floor and the pair
            did not gain within the period through another writer either.
    @return The pair's last gain: now when this trade raised the indexes, else the
            last one recorded by the other writers (0: none), for the primary
            writer to keep in its part.
    @custom:security PRIMARY_WRITER only: it must call this only when its own part's
                     last gain is 0 or at least a relation period old, and must
                     store the answer (`relation_of` reports it).
    """
    assert msg.sender == PRIMARY_WRITER, "trust: caller is not the primary writer"
    assert seller != buyer, "trust: seller is the buyer"
    last_gain: uint256 = (self._relation_word(seller, buyer) >> 128) & _MASK_64
    if not self._is_valued(token, amount) or not self._may_gain(last_gain):
        return last_gain
    self._credit_gain(seller)
    self._credit_gain(buyer)
    return block.timestamp


@external
def set_value_floor(token: address, min_amount: uint256):
    """
    @notice Sets the smallest trade value in `token` that can raise an index
            (0: trades in `token` never do). ETH and SEC floors are fixed at deploy.
    @custom:security DEFAULT_ADMIN_ROLE only.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    assert token != empty(address) and token != SEC_TOKEN, "trust: floor is fixed"
    self._floors[token] = min_amount
    log ValueFloorSet(token=token, min_amount=min_amount)


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


@view
@internal
def _is_valued(token: address, amount: uint256) -> bool:
    min_amount: uint256 = self._floor_of(token)
    return min_amount != 0 and amount >= min_amount


@view
@internal
def _may_gain(last_gain: uint256) -> bool:
    # Half-open: no gain at last_gain + RELATION_PERIOD - 1, a gain at + RELATION_PERIOD.
    return last_gain == 0 or block.timestamp >= last_gain + RELATION_PERIOD


@view
@internal
def _floor_of(token: address) -> uint256:
    if token == empty(address):
        return ETH_VALUE_FLOOR
    if token == SEC_TOKEN:
        return SEC_VALUE_FLOOR
    return self._floors[token]


@internal
def _record(seller: address, buyer: address, valued: bool):
    assert seller != buyer, "trust: seller is the buyer"
    lo: address = seller
    hi: address = buyer
    if convert(seller, uint256) > convert(buyer, uint256):
        lo = buyer
        hi = seller
    word: uint256 = self._relations[lo][hi]
    last_gain: uint256 = (word >> 128) & _MASK_64
    gain: bool = False
    if valued and self._may_gain(last_gain):
        # The primary writer's part may hold a later gain.
        primary_count: uint256 = 0
        primary_last: uint256 = 0
        primary_gain: uint256 = 0
        primary_count, primary_last, primary_gain = self._primary_part(lo, hi)
        gain = self._may_gain(max(last_gain, primary_gain))
    if gain:
        last_gain = block.timestamp
    count: uint256 = (word & _MASK_64) + 1
    # The relation is implied by the writer's own completion event (Escrow's
    # OrderCompleted, same transaction); TrustChanged reports each index move.
    self._relations[lo][hi] = (last_gain << 128) | (block.timestamp << 64) | count
    if gain:
        self._credit_gain(seller)
        self._credit_gain(buyer)


@internal
def _credit_gain(account: address):
    word: uint256 = self._accounts[account]
    status: uint256 = (word >> 8) & _MASK_8
    old: uint256 = word & _MASK_8
    new: uint256 = old
    if status == STATUS_NEW:
        status = STATUS_ACTIVE
        new = 1
    elif status == STATUS_ACTIVE and old < MAX_TRUST:
        new = old + 1
    else:
        return  # disabled, or at the cap: nothing to write
    self._accounts[account] = (word & ~(_MASK_8 | (_MASK_8 << 8))) | new | (status << 8)
    log TrustChanged(account=account, old=old, new=new, reason=REASON_TRADE)


@view
@internal
def _primary_part(lo: address, hi: address) -> (uint256, uint256, uint256):
    """
    @dev PRIMARY_WRITER's part of the relation of the ordered pair (lo, hi): (0, 0, 0)
         while it has no code (not deployed yet) or answers malformed data.
    """
    if not PRIMARY_WRITER.is_contract:
        return 0, 0, 0
    ok: bool = False
    response: Bytes[96] = b""
    ok, response = raw_call(
        PRIMARY_WRITER,
        abi_encode(lo, hi, method_id=method_id("relation_of(address,address)")),
        max_outsize=96,
        is_static_call=True,
        revert_on_failure=False,
    )
    if not ok or len(response) != 96:
        return 0, 0, 0
    return (
        extract32(response, 0, output_type=uint256) & _MASK_64,
        extract32(response, 32, output_type=uint256) & _MASK_64,
        extract32(response, 64, output_type=uint256) & _MASK_64,
    )


@view
@internal
def _relation(a: address, b: address) -> (uint256, uint256, uint256):
    """
    @dev The whole relation of a and b: trades recorded here plus the primary writer's,
         the later last trade, the later last gain.
    """
    lo: address = a
    hi: address = b
    if convert(a, uint256) > convert(b, uint256):
        lo = b
        hi = a
    word: uint256 = self._relations[lo][hi]
    count: uint256 = 0
    last: uint256 = 0
    last_gain: uint256 = 0
    count, last, last_gain = self._primary_part(lo, hi)
    return (
        (word & _MASK_64) + count,
        max((word >> 64) & _MASK_64, last),
        max((word >> 128) & _MASK_64, last_gain),
    )


@view
@internal
def _relation_word(a: address, b: address) -> uint256:
    if convert(a, uint256) > convert(b, uint256):
        return self._relations[b][a]
    return self._relations[a][b]
