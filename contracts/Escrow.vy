# pragma version 0.4.3
"""
@title Escrow
@notice Escrow auto-contracts. A seller lists a product (`create_listing`) with a
        price in ETH or an allow-listed ERC-20, an auto-complete delay and a ship
        window; a buyer pays (`buy`); the seller ships (`ship`, which starts the
        auto-complete clock); the buyer confirms (`confirm`) or anyone completes
        the order once the clock has run out (`finalize`). Before shipping the
        seller may cancel; after the ship window anyone may cancel an unshipped
        order for the buyer. A buyer who got fake goods disputes (`dispute`, with
        a deposit) and the arbiter rules (`rule`).
        A seller may instead post a listing with no transaction at all: an EIP-712
        `Listing` signed off-chain, bought with `buy_signed` (its first purchase
        registers it as a listing; orders then work exactly as above). Every user
        action can be relayed through the trusted ERC-2771 forwarder.
@dev Storage is packed so a steady-state trade touches few slots:
     listing word  = seller (bits 0-159) | price (160-247, < 2**88) | has-terms (248)
                     | signed (249: registered by `buy_signed`, bought only that way)
     terms word    = token (0-159) | auto_complete (160-191) | ship_window (192-223)
                     | closed (224); only written (and only read) when the has-terms
                     bit is set, i.e. for a token listing, non-default windows or a
                     closed listing, so the common listing costs one slot
     order word    = buyer (0-159) | listing_id (160-207) | status (208-211)
                     | has-share (215) | time (216-255): the ship-by time while paid, the
                     auto-complete deadline once shipped, the dispute timeout
                     while disputed
     relation word = completed trades between two accounts (0-63) | time of the last
                     (64-127) | time of their last trust gain known here (128-191),
                     keyed by the ordered pair; TrustIndex.relation adds it to the
                     trades other writers recorded (`relation_of`)
     Descriptive data (metadata, tracking, evidence) lives in events only.
     Time boundaries are half-open: `ship` needs now < ship_by, the buyer's
     `cancel` now >= ship_by; `dispute` needs now < deadline, `finalize`
     now >= deadline.
@custom:security Payouts are pushed with a bounded gas stipend and credited to
                 `owed` (for `withdraw`) when the receiver refuses, so no receiver
                 can block an order. Every value-moving function is @nonreentrant.
                 Only `arbiter` (governance-set; the Court once it exists) can
                 rule. TrustIndex and ShareRewards failures never block a payment.
                 Invariant: per token, open orders' escrow plus `owed` equals the
                 contract's holdings (donations aside).
@license AGPL-3.0-only
"""

from snekmate.auth import ownable
initializes: ownable
from snekmate.utils import eip712_domain_separator
initializes: eip712_domain_separator
from .modules import erc2771
initializes: erc2771

# `renounce_ownership` is left out: governance must always be able to set the
# arbiter and the token allow-list. eip712Domain (EIP-5267) lets wallets read the
# domain of signed listings.
exports: (
    ownable.owner,
    ownable.transfer_ownership,
    eip712_domain_separator.eip712Domain,
    erc2771.isTrustedForwarder,
    erc2771.FORWARDER,
)

from .interfaces import ITrustIndex
from .interfaces import IShareRewards
from .interfaces import ICourt
from .interfaces import IEscrow
implements: IEscrow
from .modules import payouts


# ---------------------------------------------------------------- #
#                            constants                             #
# ---------------------------------------------------------------- #

STATUS_NONE: constant(uint256) = 0
STATUS_PAID: constant(uint256) = 1
STATUS_SHIPPED: constant(uint256) = 2
STATUS_COMPLETED: constant(uint256) = 3
STATUS_CANCELLED: constant(uint256) = 4
STATUS_DISPUTED: constant(uint256) = 5
STATUS_RULED: constant(uint256) = 6

RULING_NONE: constant(uint8) = 0
RULING_BUYER: constant(uint8) = 1
RULING_SELLER: constant(uint8) = 2

REASON_CANCELLED: constant(uint8) = 1
REASON_MISSED_SHIP_WINDOW: constant(uint8) = 2
REASON_FAKE_GOODS: constant(uint8) = 3
REASON_MALICIOUS_COMPLAINT: constant(uint8) = 4

DEFAULT_AUTO_COMPLETE: public(constant(uint256)) = 7 * 86400
MIN_AUTO_COMPLETE: public(constant(uint256)) = 3600
MAX_AUTO_COMPLETE: public(constant(uint256)) = 90 * 86400
MIN_SHIP_WINDOW: public(constant(uint256)) = 3600
MAX_SHIP_WINDOW: public(constant(uint256)) = 60 * 86400
MAX_PRICE: public(constant(uint256)) = 2**88 - 1
BPS: constant(uint256) = 10_000
# Most of a shared purchase's price that goes to the sharer as commission, whatever
# ShareRewards answers (it asks REWARD_BPS, at most the same 10 %).
MAX_COMMISSION_BPS: public(constant(uint256)) = 1_000

_ADDR: constant(uint256) = 2**160 - 1
_MASK_32: constant(uint256) = 2**32 - 1
_MASK_48: constant(uint256) = 2**48 - 1
_MASK_8: constant(uint256) = 255
_MASK_4: constant(uint256) = 15
_HAS_SHARE: constant(uint256) = 1 << 215
_LOW_208: constant(uint256) = 2**208 - 1
_KEEP: constant(uint256) = _LOW_208 | _HAS_SHARE
MAX_FEE_SPLIT: constant(uint256) = 8
_CLOSED_BIT: constant(uint256) = 1 << 224
_HAS_TERMS: constant(uint256) = 1 << 248
_MASK_88: constant(uint256) = 2**88 - 1
_MASK_64: constant(uint256) = 2**64 - 1
# Listing word bit of a listing registered from a signature: bought only through
# `buy_signed` (which enforces its expiry, quantity and cancellation).
_SIGNED: constant(uint256) = 1 << 249
# Signed-listing word: listing id (bits 0-47, 0 until the first purchase) | orders
# made from it (48-111; only counted when it has a quantity limit) | cancelled (255).
_CANCELLED: constant(uint256) = 1 << 255
# Highest s of a canonical (low-s) secp256k1 signature: n / 2.
_HALF_N: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168
LISTING_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Listing(address seller,uint256 price,address token,uint256 auto_complete,uint256 ship_window,bytes32 metadata,uint256 quantity,uint256 expiry,uint256 salt)"
)


# ---------------------------------------------------------------- #
#                            immutables                            #
# ---------------------------------------------------------------- #

TRUST_INDEX: public(immutable(ITrustIndex))
DEFAULT_SHIP_WINDOW: public(immutable(uint256))
DISPUTE_DEPOSIT_BPS: public(immutable(uint256))
# The least a dispute deposit can be (no free disputes): for ETH and for SEC; other
# allow-listed tokens use `dispute_floor(token)`, set by governance.
DISPUTE_FLOOR_ETH: public(immutable(uint256))
DISPUTE_FLOOR_SEC: public(immutable(uint256))
SEC_TOKEN: public(immutable(address))
BUYER_REFUND_BPS: public(immutable(uint256))
JUDGE_FEE_BPS: public(immutable(uint256))
DISPUTE_TIMEOUT: public(immutable(uint256))
PENALTY_CANCELLED: public(immutable(uint256))
PENALTY_MISSED_SHIP_WINDOW: public(immutable(uint256))
PENALTY_FAKE_GOODS: public(immutable(uint256))
PENALTY_MALICIOUS_COMPLAINT: public(immutable(uint256))
# TrustIndex's relation period when this escrow is its PRIMARY_WRITER (read at deploy):
# then this escrow keeps the relation words of its trades and calls TrustIndex only for
# a trade that may raise the indexes. 0: another escrow is primary, and every completed
# trade is recorded in TrustIndex (`record_trade_valued`, WRITER_ROLE needed).
_RELATION_PERIOD: immutable(uint256)


# ---------------------------------------------------------------- #
#                             storage                              #
# ---------------------------------------------------------------- #

listing_count: public(uint256)
order_count: public(uint256)
arbiter: public(address)
share_rewards: public(address)
court: public(address)
allowed_token: public(HashMap[address, bool])
owed: public(HashMap[address, HashMap[address, uint256]])

# A mirror of TrustIndex's permanent disabled flag, so listing and buying need no
# cross-contract call. Disabling is permanent, so the mirror can lag (until
# `sync_disabled`) but never be wrong the other way; it is set in the same
# transaction whenever this contract's own penalty disables an account.
disabled: public(HashMap[address, bool])

_listings: HashMap[uint256, uint256]
_terms: HashMap[uint256, uint256]
_orders: HashMap[uint256, uint256]
_order_share: HashMap[uint256, uint256]
# Only for tokens other than ETH and SEC (their floor can change while a dispute is
# open); for ETH and SEC the deposit is computed from the price.
_dispute_deposits: HashMap[uint256, uint256]
dispute_floor: public(HashMap[address, uint256])
# Signed listings by EIP-712 digest, see the layout above.
_signed: HashMap[bytes32, uint256]
# Pair relations of the trades completed here, by ordered pair (lower address first).
_relations: HashMap[address, HashMap[address, uint256]]


# ---------------------------------------------------------------- #
#                             structs                              #
# ---------------------------------------------------------------- #

# A listing the seller signed off-chain (EIP-712 `Listing`, domain "SEC Escrow", "1",
# chain id, this contract): bought with `buy_signed`, no transaction to post it.
struct SignedListing:
    seller: address
    price: uint256
    token: address
    auto_complete: uint256
    ship_window: uint256
    metadata: bytes32
    quantity: uint256
    expiry: uint256
    salt: uint256


# ---------------------------------------------------------------- #
#                              events                              #
# ---------------------------------------------------------------- #

event ListingCreated:
    listing_id: indexed(uint256)
    seller: indexed(address)
    token: indexed(address)
    price: uint256
    auto_complete: uint256
    ship_window: uint256
    metadata: bytes32

event SignedListingRegistered:
    digest: indexed(bytes32)
    listing_id: indexed(uint256)
    seller: indexed(address)
    price: uint256
    token: address
    auto_complete: uint256
    ship_window: uint256
    metadata: bytes32
    quantity: uint256
    expiry: uint256
    salt: uint256

event SignedListingCancelled:
    digest: indexed(bytes32)
    seller: indexed(address)

event ListingClosed:
    listing_id: indexed(uint256)
    seller: indexed(address)

event OrderPaid:
    order_id: indexed(uint256)
    listing_id: indexed(uint256)
    buyer: indexed(address)
    price: uint256
    share_id: uint256
    ship_by: uint256

event OrderShipped:
    order_id: indexed(uint256)
    tracking: bytes32
    deadline: uint256

event OrderCompleted:
    order_id: indexed(uint256)
    seller: indexed(address)
    buyer: indexed(address)
    price: uint256

event OrderCancelled:
    order_id: indexed(uint256)
    by: indexed(address)
    missed_ship_window: bool
    refund: uint256

event OrderDisputed:
    order_id: indexed(uint256)
    buyer: indexed(address)
    evidence: bytes32
    deposit: uint256
    timeout_at: uint256

event OrderRuled:
    order_id: indexed(uint256)
    ruling: uint8
    to_buyer: uint256
    to_seller: uint256
    judge_fee: uint256

event PaymentCredited:
    account: indexed(address)
    token: indexed(address)
    amount: uint256

event Withdrawn:
    account: indexed(address)
    token: indexed(address)
    amount: uint256

event DisabledSynced:
    account: indexed(address)

event ShareNotifyFailed:
    order_id: indexed(uint256)

event TrustUpdateFailed:
    order_id: indexed(uint256)

event ArbiterChanged:
    old: indexed(address)
    new: indexed(address)

event CourtChanged:
    old: indexed(address)
    new: indexed(address)

event ShareRewardsChanged:
    old: indexed(address)
    new: indexed(address)

event TokenAllowed:
    token: indexed(address)
    allowed: bool

event DisputeFloorSet:
    token: indexed(address)
    floor: uint256


@deploy
def __init__(
    trust_index: ITrustIndex,
    sec_token: address,
    arbiter: address,
    default_ship_window: uint256,
    dispute_deposit_bps: uint256,
    buyer_refund_bps: uint256,
    judge_fee_bps: uint256,
    dispute_timeout: uint256,
    penalties: uint256[4],
    dispute_floor_eth: uint256,
    dispute_floor_sec: uint256,
    forwarder: address,
):
    """
    @param trust_index The TrustIndex this escrow writes (it needs WRITER_ROLE there).
    @param sec_token The SEC token, allow-listed from the start.
    @param arbiter Who may `rule` (governance until the Court exists).
    @param default_ship_window Ship window for listings that pass 0.
    @param dispute_deposit_bps The buyer's dispute deposit, share of the price.
    @param buyer_refund_bps Share of the price refunded on a fake-goods ruling.
    @param judge_fee_bps Share of the dispute deposit paid to the arbiter on a ruling.
    @param dispute_timeout After this long without a ruling a dispute ends with ruling 0.
    @param penalties Trust penalties: cancelled, missed ship window, fake goods, malicious complaint.
    @param dispute_floor_eth Least dispute deposit of an ETH order (wei).
    @param dispute_floor_sec Least dispute deposit of a SEC order (SEC wei).
    @param forwarder The trusted ERC-2771 forwarder (relayed calls), or empty for none.
    """
    assert default_ship_window >= MIN_SHIP_WINDOW and default_ship_window <= MAX_SHIP_WINDOW, "escrow: bad ship window"
    assert dispute_deposit_bps <= BPS and buyer_refund_bps <= BPS and judge_fee_bps <= BPS, "escrow: bad bps"
    assert dispute_timeout > 0, "escrow: bad dispute timeout"
    ownable.__init__()
    eip712_domain_separator.__init__("SEC Escrow", "1")
    erc2771.__init__(forwarder)
    TRUST_INDEX = trust_index
    DEFAULT_SHIP_WINDOW = default_ship_window
    DISPUTE_DEPOSIT_BPS = dispute_deposit_bps
    DISPUTE_FLOOR_ETH = dispute_floor_eth
    DISPUTE_FLOOR_SEC = dispute_floor_sec
    SEC_TOKEN = sec_token
    BUYER_REFUND_BPS = buyer_refund_bps
    JUDGE_FEE_BPS = judge_fee_bps
    DISPUTE_TIMEOUT = dispute_timeout
    PENALTY_CANCELLED = penalties[0]
    PENALTY_MISSED_SHIP_WINDOW = penalties[1]
    PENALTY_FAKE_GOODS = penalties[2]
    PENALTY_MALICIOUS_COMPLAINT = penalties[3]
    # Keep relation words only as TrustIndex's primary writer: TrustIndex reads back only
    # that escrow's words. (The primary's address is fixed in TrustIndex before this
    # contract exists, so the question is asked here, once.)
    period: uint256 = 0
    if trust_index.address.is_contract:
        ok: bool = False
        response: Bytes[32] = b""
        ok, response = raw_call(
            trust_index.address,
            method_id("PRIMARY_WRITER()"),
            max_outsize=32,
            is_static_call=True,
            revert_on_failure=False,
        )
        if ok and len(response) == 32 and extract32(response, 0, output_type=uint256) == convert(self, uint256):
            period = staticcall trust_index.relation_period()
            assert period > 0, "escrow: bad relation period"
    _RELATION_PERIOD = period
    self.arbiter = arbiter
    log ArbiterChanged(old=empty(address), new=arbiter)
    if sec_token != empty(address):
        assert sec_token.is_contract, "escrow: token is not a contract"
        self.allowed_token[sec_token] = True
        log TokenAllowed(token=sec_token, allowed=True)


# ---------------------------------------------------------------- #
#                            governance                            #
# ---------------------------------------------------------------- #

@external
def set_arbiter(arbiter: address):
    """
    @notice Sets who may `rule` disputes (the Court).
    @custom:security Owner only.
    """
    ownable._check_owner()
    log ArbiterChanged(old=self.arbiter, new=arbiter)
    self.arbiter = arbiter


@external
def set_court(court: address):
    """
    @notice Hands disputes to the Court: every new dispute opens a case there, and the
            Court becomes the only arbiter.
    @custom:security Owner only.
    """
    ownable._check_owner()
    log CourtChanged(old=self.court, new=court)
    log ArbiterChanged(old=self.arbiter, new=court)
    self.court = court
    self.arbiter = court


@external
def set_share_rewards(share_rewards: address):
    """
    @notice Sets the ShareRewards contract notified of shared purchases.
    @custom:security Owner only.
    """
    ownable._check_owner()
    log ShareRewardsChanged(old=self.share_rewards, new=share_rewards)
    self.share_rewards = share_rewards


@external
def set_token_allowed(token: address, allowed: bool):
    """
    @notice Allow-lists an ERC-20 for new listings (existing orders are unaffected).
    @dev Fee-on-transfer tokens are refused at `buy` (exact amount received is checked).
    @custom:security Owner only.
    """
    ownable._check_owner()
    assert token.is_contract, "escrow: token is not a contract"
    self.allowed_token[token] = allowed
    log TokenAllowed(token=token, allowed=allowed)


@external
def set_dispute_floor(token: address, amount: uint256):
    """
    @notice Sets the least dispute deposit for orders in `token` (not ETH or SEC, whose
            floors are fixed at deploy); applies to disputes opened from now on.
    @custom:security Owner only.
    """
    ownable._check_owner()
    assert token != empty(address) and token != SEC_TOKEN, "escrow: floor fixed at deploy"
    self.dispute_floor[token] = amount
    log DisputeFloorSet(token=token, floor=amount)


@external
def sync_disabled(account: address):
    """
    @notice Mirrors an account disabled in TrustIndex by another writer.
    @custom:security Anyone; only ever sets a flag TrustIndex already has.
    """
    assert staticcall TRUST_INDEX.is_disabled(account), "escrow: account is not disabled"
    assert not self.disabled[account], "escrow: already synced"
    self.disabled[account] = True
    log DisabledSynced(account=account)


# ---------------------------------------------------------------- #
#                             listings                             #
# ---------------------------------------------------------------- #

@external
def create_listing(
    price: uint256, token: address, auto_complete: uint256, ship_window: uint256, metadata: bytes32
) -> uint256:
    """
    @notice Creates an auto-contract for a product.
    @param price Price in wei of `token` (ETH when `token` is the zero address).
    @param token The zero address for ETH, or an allow-listed ERC-20.
    @param auto_complete Seconds after shipping until anyone may finalize (0: 7 days).
    @param ship_window Seconds after payment the seller has to ship (0: the default).
    @param metadata Hash of the off-chain product description.
    @return The new listing's id (from 1).
    """
    seller: address = erc2771._sender()
    assert not self.disabled[seller], "escrow: seller is disabled"
    listing_id: uint256 = 0
    complete_after: uint256 = 0
    window: uint256 = 0
    listing_id, complete_after, window = self._register(seller, price, token, auto_complete, ship_window, 0)
    log ListingCreated(
        listing_id=listing_id,
        seller=seller,
        token=token,
        price=price,
        auto_complete=complete_after,
        ship_window=window,
        metadata=metadata,
    )
    return listing_id


@external
def close_listing(listing_id: uint256):
    """
    @notice Stops new purchases of a listing; open orders are unaffected. A signed
            listing is withdrawn with `cancel_signed_listing` instead.
    @custom:security The listing's seller only.
    """
    sender: address = erc2771._sender()
    listing: uint256 = self._listings[listing_id]
    assert listing != 0, "escrow: unknown listing"
    assert convert(convert(listing & _ADDR, uint160), address) == sender, "escrow: caller is not the seller"
    assert listing & _SIGNED == 0, "escrow: signed listing, use cancel_signed_listing"
    terms: uint256 = self._terms_of(listing_id, listing)
    assert terms & _CLOSED_BIT == 0, "escrow: listing closed"
    self._terms[listing_id] = terms | _CLOSED_BIT
    if listing & _HAS_TERMS == 0:
        self._listings[listing_id] = listing | _HAS_TERMS
    log ListingClosed(listing_id=listing_id, seller=sender)


@external
def cancel_signed_listing(listing: SignedListing):
    """
    @notice Withdraws a signed listing for good: no further purchase of it (open
            orders are unaffected). Works before its first purchase too.
    @custom:security The listing's seller only.
    """
    assert erc2771._sender() == listing.seller, "escrow: caller is not the seller"
    digest: bytes32 = self._listing_digest(listing)
    word: uint256 = self._signed[digest]
    assert word & _CANCELLED == 0, "escrow: listing cancelled"
    self._signed[digest] = word | _CANCELLED
    log SignedListingCancelled(digest=digest, seller=listing.seller)


# ---------------------------------------------------------------- #
#                              orders                              #
# ---------------------------------------------------------------- #

@external
@payable
@nonreentrant
def buy(listing_id: uint256, share_id: uint256) -> uint256:
    """
    @notice Pays for a listing. ETH listings take exactly the price as msg.value;
            ERC-20 listings pull exactly the price with `transferFrom` (approve first).
    @param listing_id The listing.
    @param share_id A share of that listing this purchase came through, or 0.
    @return The new order's id (from 1).
    """
    listing: uint256 = self._listings[listing_id]
    assert listing != 0, "escrow: unknown listing"
    assert listing & _SIGNED == 0, "escrow: signed listing, use buy_signed"
    terms: uint256 = self._terms_of(listing_id, listing)
    assert terms & _CLOSED_BIT == 0, "escrow: listing closed"
    return self._open_order(
        listing_id,
        convert(convert(listing & _ADDR, uint160), address),
        (listing >> 160) & _MASK_88,
        convert(convert(terms & _ADDR, uint160), address),
        (terms >> 192) & _MASK_32,
        share_id,
    )


@external
@payable
@nonreentrant
def buy_signed(listing: SignedListing, signature: Bytes[65], share_id: uint256) -> uint256:
    """
    @notice Pays for a listing the seller signed off-chain (EIP-712 `Listing`), like
            `buy`: the order then behaves exactly like one of an on-chain listing.
            The first purchase registers the listing (a listing id, for shares and
            orders) and logs all its terms (`SignedListingRegistered`).
    @dev Refused once cancelled, when now >= expiry, when `quantity` orders were made
         from it (0: unlimited, and not counted), or when the seller is disabled. The signature
         (65 bytes r, s, v; low s; recovering to exactly `listing.seller`) is checked
         at the first purchase; later purchases of the registered listing may pass an
         empty one (the digest already proved it).
    @param listing The signed listing, field by field.
    @param signature The seller's signature of `listing_digest(listing)`.
    @param share_id A share of this listing the purchase came through, or 0.
    @return The new order's id.
    """
    digest: bytes32 = self._listing_digest(listing)
    word: uint256 = self._signed[digest]
    assert word & _CANCELLED == 0, "escrow: listing cancelled"
    assert block.timestamp < listing.expiry, "escrow: listing expired"
    sold: uint256 = (word >> 48) & _MASK_64
    assert listing.quantity == 0 or sold < listing.quantity, "escrow: listing sold out"
    listing_id: uint256 = word & _MASK_48
    window: uint256 = 0
    if listing_id == 0:
        assert self._recover(digest, signature) == listing.seller, "escrow: signer is not the seller"
        complete_after: uint256 = 0
        listing_id, complete_after, window = self._register(
            listing.seller, listing.price, listing.token, listing.auto_complete, listing.ship_window, _SIGNED
        )
        log SignedListingRegistered(
            digest=digest,
            listing_id=listing_id,
            seller=listing.seller,
            price=listing.price,
            token=listing.token,
            auto_complete=complete_after,
            ship_window=window,
            metadata=listing.metadata,
            quantity=listing.quantity,
            expiry=listing.expiry,
            salt=listing.salt,
        )
        if listing.quantity == 0:
            self._signed[digest] = word | listing_id
        else:
            self._signed[digest] = word | (1 << 48) | listing_id
    else:
        window = listing.ship_window
        # Orders of an unlimited listing are not counted (nothing to count them
        # against): a purchase of it writes only its order.
        if listing.quantity != 0:
            self._signed[digest] = (word & ~(_MASK_64 << 48)) | ((sold + 1) << 48)
    return self._open_order(listing_id, listing.seller, listing.price, listing.token, window, share_id)


@external
def ship(order_id: uint256, tracking: bytes32):
    """
    @notice Marks an order shipped and starts its auto-complete clock.
    @param tracking Hash of (or reference to) the shipment tracking data.
    @custom:security The seller only, while now < ship_by.
    """
    order: uint256 = self._orders[order_id]
    assert (order >> 208) & _MASK_4 == STATUS_PAID, "escrow: order is not paid"
    listing_id: uint256 = (order >> 160) & _MASK_48
    listing: uint256 = self._listings[listing_id]
    assert erc2771._sender() == convert(convert(listing & _ADDR, uint160), address), "escrow: caller is not the seller"
    assert block.timestamp < order >> 216, "escrow: ship window has passed"
    complete_after: uint256 = (self._terms_of(listing_id, listing) >> 160) & _MASK_32
    if complete_after == 0:
        complete_after = DEFAULT_AUTO_COMPLETE
    deadline: uint256 = block.timestamp + complete_after
    self._orders[order_id] = (deadline << 216) | (STATUS_SHIPPED << 208) | (order & _KEEP)
    log OrderShipped(order_id=order_id, tracking=tracking, deadline=deadline)


@external
@nonreentrant
def confirm(order_id: uint256):
    """
    @notice The buyer confirms receipt; the seller is paid and the trade recorded.
            For a shipped purchase made through a share, the sharer's commission
            comes out of the seller's proceeds.
    @dev Also accepted before shipping (goods handed over in person); such a purchase
         earns its sharer nothing.
    @custom:security The buyer only.
    """
    order: uint256 = self._orders[order_id]
    status: uint256 = (order >> 208) & _MASK_4
    assert status == STATUS_PAID or status == STATUS_SHIPPED, "escrow: order is not open"
    assert erc2771._sender() == convert(convert(order & _ADDR, uint160), address), "escrow: caller is not the buyer"
    self._complete(order_id, order)


@external
@nonreentrant
def finalize(order_id: uint256):
    """
    @notice Completes a shipped order once its auto-complete deadline has passed
            (now >= deadline), or ends a dispute nobody ruled on by its timeout
            with ruling 0 (split, nobody penalized, deposit returned).
    @custom:security Anyone.
    """
    order: uint256 = self._orders[order_id]
    status: uint256 = (order >> 208) & _MASK_4
    if status == STATUS_DISPUTED:
        assert block.timestamp >= order >> 216, "escrow: dispute still open"
        self._rule(order_id, order, RULING_NONE, False, [])
        return
    assert status == STATUS_SHIPPED, "escrow: order is not shipped"
    assert block.timestamp >= order >> 216, "escrow: auto-complete time not reached"
    self._complete(order_id, order)


@external
@nonreentrant
def cancel(order_id: uint256):
    """
    @notice Cancels an unshipped order with a full refund to the buyer. The seller
            may cancel at any time before shipping (a failed trade, small penalty);
            once the ship window has passed (now >= ship_by) anyone may cancel,
            and the seller is penalized for missing it.
    """
    caller: address = erc2771._sender()
    order: uint256 = self._orders[order_id]
    assert (order >> 208) & _MASK_4 == STATUS_PAID, "escrow: order is not cancellable"
    listing_id: uint256 = (order >> 160) & _MASK_48
    listing: uint256 = self._listings[listing_id]
    seller: address = convert(convert(listing & _ADDR, uint160), address)
    buyer: address = convert(convert(order & _ADDR, uint160), address)
    missed: bool = block.timestamp >= order >> 216
    if caller != seller:
        assert missed, "escrow: ship window still open"

    self._set_status(order_id, order, STATUS_CANCELLED)
    price: uint256 = (listing >> 160) & _MASK_88
    log OrderCancelled(order_id=order_id, by=caller, missed_ship_window=missed, refund=price)

    if missed:
        self._penalize(order_id, seller, PENALTY_MISSED_SHIP_WINDOW, REASON_MISSED_SHIP_WINDOW)
    else:
        self._penalize(order_id, seller, PENALTY_CANCELLED, REASON_CANCELLED)
    self._pay(buyer, self._token_of(listing_id, listing), price)


@external
@payable
@nonreentrant
def dispute(order_id: uint256, evidence: bytes32):
    """
    @notice The buyer disputes a shipped order before its auto-complete deadline
            (now < deadline), posting the dispute deposit (`dispute_deposit`) in
            the listing's currency: msg.value for ETH, `transferFrom` for ERC-20.
    @param evidence Hash of the off-chain evidence.
    @custom:security The buyer only. The deposit pays the judges' fee; the rest is
                     forfeited to the seller when the complaint is judged malicious.
    """
    buyer: address = erc2771._sender()
    order: uint256 = self._orders[order_id]
    assert (order >> 208) & _MASK_4 == STATUS_SHIPPED, "escrow: order is not shipped"
    assert buyer == convert(convert(order & _ADDR, uint160), address), "escrow: caller is not the buyer"
    assert block.timestamp < order >> 216, "escrow: dispute window has passed"
    listing_id: uint256 = (order >> 160) & _MASK_48
    listing: uint256 = self._listings[listing_id]
    token: address = self._token_of(listing_id, listing)
    deposit: uint256 = self._required_deposit((listing >> 160) & _MASK_88, token)
    timeout_at: uint256 = block.timestamp + DISPUTE_TIMEOUT
    self._orders[order_id] = (timeout_at << 216) | (STATUS_DISPUTED << 208) | (order & _KEEP)
    if token != empty(address) and token != SEC_TOKEN:
        self._dispute_deposits[order_id] = deposit
    log OrderDisputed(order_id=order_id, buyer=buyer, evidence=evidence, deposit=deposit, timeout_at=timeout_at)
    court: address = self.court
    if court != empty(address):
        seller: address = convert(convert(listing & _ADDR, uint160), address)
        extcall ICourt(court).open_case(order_id, buyer, seller)

    if token == empty(address):
        assert msg.value == deposit, "escrow: wrong deposit amount"
    else:
        assert msg.value == 0, "escrow: ETH sent to a token listing"
        if deposit > 0:
            self._pull(token, buyer, deposit)


@external
@nonreentrant
def rule(order_id: uint256, ruling: uint8):
    """
    @notice Applies a dispute ruling, exactly once: 1 buyer right (fake goods: the
            buyer refunded BUYER_REFUND_BPS of the price, seller penalized),
            2 seller right (malicious complaint: seller paid, buyer penalized,
            deposit forfeited to the seller), 0 no ruling (split 50/50, nobody
            penalized). The arbiter receives JUDGE_FEE_BPS of the deposit.
    @custom:security The arbiter only.
    """
    assert msg.sender == self.arbiter, "escrow: caller is not the arbiter"
    assert ruling <= RULING_SELLER, "escrow: invalid ruling"
    order: uint256 = self._orders[order_id]
    assert (order >> 208) & _MASK_4 == STATUS_DISPUTED, "escrow: order is not disputed"
    self._rule(order_id, order, ruling, True, [msg.sender])


@external
@nonreentrant
def rule_with_fee_split(order_id: uint256, ruling: uint8, fee_to: DynArray[address, MAX_FEE_SPLIT]):
    """
    @notice `rule`, with the judges' fee shared equally by `fee_to` (the judges who voted
            with the majority; rounding dust to the first) instead of paid to the caller.
            With `fee_to` empty the fee returns to the buyer.
    @custom:security The arbiter (the Court) only.
    """
    assert msg.sender == self.arbiter, "escrow: caller is not the arbiter"
    assert ruling <= RULING_SELLER, "escrow: invalid ruling"
    order: uint256 = self._orders[order_id]
    assert (order >> 208) & _MASK_4 == STATUS_DISPUTED, "escrow: order is not disputed"
    self._rule(order_id, order, ruling, True, fee_to)


@external
@nonreentrant
def withdraw(token: address):
    """
    @notice Withdraws everything owed to the caller in `token` (zero address: ETH).
    """
    account: address = erc2771._sender()
    amount: uint256 = self.owed[account][token]
    assert amount > 0, "escrow: nothing owed"
    self.owed[account][token] = 0
    log Withdrawn(account=account, token=token, amount=amount)
    if token == empty(address):
        payouts._send_eth(account, amount)
    else:
        assert payouts._try_transfer(token, account, amount), "escrow: token transfer failed"


# ---------------------------------------------------------------- #
#                              views                               #
# ---------------------------------------------------------------- #

@view
@external
def order_status(order_id: uint256) -> uint8:
    """
    @notice 0 none, 1 paid, 2 shipped, 3 completed, 4 cancelled, 5 disputed, 6 ruled.
    """
    return convert((self._orders[order_id] >> 208) & _MASK_4, uint8)


@view
@external
def dispute_deposit(order_id: uint256) -> uint256:
    """
    @notice What `dispute(order_id)` must be sent now: max(price * DISPUTE_DEPOSIT_BPS
            / BPS, the token's floor); 0 when the order cannot be disputed.
    """
    order: uint256 = self._orders[order_id]
    if (order >> 208) & _MASK_4 != STATUS_SHIPPED or block.timestamp >= order >> 216:
        return 0
    listing_id: uint256 = (order >> 160) & _MASK_48
    listing: uint256 = self._listings[listing_id]
    return self._required_deposit((listing >> 160) & _MASK_88, self._token_of(listing_id, listing))


@view
@external
def relation_of(a: address, b: address) -> (uint256, uint256, uint256):
    """
    @notice This escrow's part of the trade relation of `a` and `b` (either order):
            trades completed here between them, the time of the last one, and the
            time of their last trust gain known here (0: none). TrustIndex's
            `relation` and `relation_info` add the trades other writers recorded.
    """
    word: uint256 = self._relations[a][b]
    if convert(a, uint256) > convert(b, uint256):
        word = self._relations[b][a]
    return word & _MASK_64, (word >> 64) & _MASK_64, (word >> 128) & _MASK_64


@view
@external
def listing_digest(listing: SignedListing) -> bytes32:
    """
    @notice The EIP-712 digest a seller signs to post `listing` (domain "SEC Escrow",
            "1", this chain, this contract).
    """
    return self._listing_digest(listing)


@view
@external
def sold_count(digest: bytes32) -> uint256:
    """
    @notice Orders made from the signed listing with this digest when it has a
            quantity limit; 0 for an unlimited one (its orders are not counted on
            chain: they are the `OrderPaid` events of its listing id).
    """
    return (self._signed[digest] >> 48) & _MASK_64


@view
@external
def signed_listing(digest: bytes32) -> (uint256, uint256, bool):
    """
    @notice A signed listing's listing id (0 before its first purchase), orders made
            from it (as `sold_count`: 0 for an unlimited listing), and whether its
            seller cancelled it.
    """
    word: uint256 = self._signed[digest]
    return word & _MASK_48, (word >> 48) & _MASK_64, word & _CANCELLED != 0


@view
@external
def get_listing(listing_id: uint256) -> IEscrow.Listing:
    """
    @notice A listing's terms, defaults resolved.
    """
    listing: uint256 = self._listings[listing_id]
    terms: uint256 = self._terms_of(listing_id, listing)
    complete_after: uint256 = (terms >> 160) & _MASK_32
    window: uint256 = (terms >> 192) & _MASK_32
    if listing != 0:
        if complete_after == 0:
            complete_after = DEFAULT_AUTO_COMPLETE
        if window == 0:
            window = DEFAULT_SHIP_WINDOW
    return IEscrow.Listing(
        seller=convert(convert(listing & _ADDR, uint160), address),
        price=(listing >> 160) & _MASK_88,
        token=convert(convert(terms & _ADDR, uint160), address),
        auto_complete=complete_after,
        ship_window=window,
        closed=terms & _CLOSED_BIT != 0,
    )


@view
@external
def get_order(order_id: uint256) -> IEscrow.Order:
    """
    @notice An order with its listing's seller, price and token.
    @dev `ship_by` is known while paid, `deadline` (auto-complete or dispute timeout)
         once shipped or disputed; the other is 0.
    """
    order: uint256 = self._orders[order_id]
    listing_id: uint256 = (order >> 160) & _MASK_48
    listing: uint256 = self._listings[listing_id]
    status: uint256 = (order >> 208) & _MASK_4
    ship_by: uint256 = 0
    deadline: uint256 = 0
    if status == STATUS_PAID:
        ship_by = order >> 216
    elif status == STATUS_SHIPPED or status == STATUS_DISPUTED:
        deadline = order >> 216
    token: address = self._token_of(listing_id, listing)
    deposit: uint256 = 0
    if status == STATUS_DISPUTED or status == STATUS_RULED:
        deposit = self._deposit_of(order_id, (listing >> 160) & _MASK_88, token)
    share_id: uint256 = 0
    if order & _HAS_SHARE != 0:
        share_id = self._order_share[order_id]
    return IEscrow.Order(
        buyer=convert(convert(order & _ADDR, uint160), address),
        seller=convert(convert(listing & _ADDR, uint160), address),
        listing_id=listing_id,
        price=(listing >> 160) & _MASK_88,
        token=token,
        status=convert(status, uint8),
        ship_by=ship_by,
        deadline=deadline,
        share_id=share_id,
        dispute_deposit=deposit,
    )


# ---------------------------------------------------------------- #
#                             internal                             #
# ---------------------------------------------------------------- #


@view
@internal
def _listing_digest(listing: SignedListing) -> bytes32:
    return eip712_domain_separator._hash_typed_data_v4(
        keccak256(
            abi_encode(
                LISTING_TYPEHASH,
                listing.seller,
                listing.price,
                listing.token,
                listing.auto_complete,
                listing.ship_window,
                listing.metadata,
                listing.quantity,
                listing.expiry,
                listing.salt,
            )
        )
    )


@pure
@internal
def _recover(digest: bytes32, signature: Bytes[65]) -> address:
    """
    @dev The signer of a 65-byte r || s || v signature (v 27 or 28, low s); reverts on
         any other form, so a signature has exactly one accepted encoding.
    """
    assert len(signature) == 65, "escrow: malformed signature"
    r: uint256 = extract32(signature, 0, output_type=uint256)
    s: uint256 = extract32(signature, 32, output_type=uint256)
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    assert s <= _HALF_N, "escrow: signature s is not low"
    assert v == 27 or v == 28, "escrow: malformed signature"
    signer: address = ecrecover(digest, v, r, s)
    assert signer != empty(address), "escrow: invalid signature"
    return signer


@internal
def _register(
    seller: address, price: uint256, token: address, auto_complete: uint256, ship_window: uint256, flags: uint256
) -> (uint256, uint256, uint256):
    """
    @dev Validates a listing's terms and stores it under a new listing id. Returns the id
         and the auto-complete delay and ship window with defaults resolved.
    """
    assert price > 0 and price <= MAX_PRICE, "escrow: price out of range"
    assert token == empty(address) or self.allowed_token[token], "escrow: token not allowed"
    complete_after: uint256 = auto_complete
    if complete_after == DEFAULT_AUTO_COMPLETE:
        complete_after = 0
    assert complete_after == 0 or (complete_after >= MIN_AUTO_COMPLETE and complete_after <= MAX_AUTO_COMPLETE), "escrow: auto-complete out of range"
    window: uint256 = ship_window
    if window == DEFAULT_SHIP_WINDOW:
        window = 0
    assert window == 0 or (window >= MIN_SHIP_WINDOW and window <= MAX_SHIP_WINDOW), "escrow: ship window out of range"

    listing_id: uint256 = self.listing_count + 1
    assert listing_id <= _MASK_48, "escrow: too many listings"
    self.listing_count = listing_id
    word: uint256 = (price << 160) | convert(seller, uint256) | flags
    if token != empty(address) or complete_after != 0 or window != 0:
        word |= _HAS_TERMS
        self._terms[listing_id] = convert(token, uint256) | (complete_after << 160) | (window << 192)
    self._listings[listing_id] = word
    if complete_after == 0:
        complete_after = DEFAULT_AUTO_COMPLETE
    if window == 0:
        window = DEFAULT_SHIP_WINDOW
    return listing_id, complete_after, window


@payable
@internal
def _open_order(
    listing_id: uint256, seller: address, price: uint256, token: address, ship_window: uint256, share_id: uint256
) -> uint256:
    """
    @dev Opens a paid order of a listing (`buy` and `buy_signed`) for the caller and
         takes the payment. `ship_window` 0: the default.
    """
    buyer: address = erc2771._sender()
    assert buyer != seller, "escrow: seller cannot buy own listing"
    assert not self.disabled[buyer], "escrow: buyer is disabled"
    assert not self.disabled[seller], "escrow: seller is disabled"

    if share_id != 0:
        share_rewards: address = self.share_rewards
        assert share_rewards != empty(address), "escrow: shares are not enabled"
        assert staticcall IShareRewards(share_rewards).validate_share(share_id, listing_id, buyer, seller), "escrow: invalid share"

    window: uint256 = ship_window
    if window == 0:
        window = DEFAULT_SHIP_WINDOW
    ship_by: uint256 = block.timestamp + window

    order_id: uint256 = self.order_count + 1
    self.order_count = order_id
    word: uint256 = (ship_by << 216) | (STATUS_PAID << 208) | (listing_id << 160) | convert(buyer, uint256)
    if share_id != 0:
        word |= _HAS_SHARE
        self._order_share[order_id] = share_id
    self._orders[order_id] = word

    log OrderPaid(
        order_id=order_id,
        listing_id=listing_id,
        buyer=buyer,
        price=price,
        share_id=share_id,
        ship_by=ship_by,
    )

    if token == empty(address):
        assert msg.value == price, "escrow: wrong payment amount"
    else:
        assert msg.value == 0, "escrow: ETH sent to a token listing"
        self._pull(token, buyer, price)
    return order_id


@view
@internal
def _terms_of(listing_id: uint256, listing: uint256) -> uint256:
    # The terms slot is read only when the listing word says it was written.
    if listing & _HAS_TERMS == 0:
        return 0
    return self._terms[listing_id]


@view
@internal
def _token_of(listing_id: uint256, listing: uint256) -> address:
    return convert(convert(self._terms_of(listing_id, listing) & _ADDR, uint160), address)


@view
@internal
def _required_deposit(price: uint256, token: address) -> uint256:
    """
    @dev max(price * DISPUTE_DEPOSIT_BPS / BPS, the token's floor): what `dispute` takes.
    """
    least: uint256 = 0
    if token == empty(address):
        least = DISPUTE_FLOOR_ETH
    elif token == SEC_TOKEN:
        least = DISPUTE_FLOOR_SEC
    else:
        least = self.dispute_floor[token]
    return max(price * DISPUTE_DEPOSIT_BPS // BPS, least)


@view
@internal
def _deposit_of(order_id: uint256, price: uint256, token: address) -> uint256:
    """
    @dev The deposit a disputed order holds: computed for ETH and SEC (immutable floors),
         recorded at `dispute` for other tokens.
    """
    if token == empty(address) or token == SEC_TOKEN:
        return self._required_deposit(price, token)
    return self._dispute_deposits[order_id]


@internal
def _set_status(order_id: uint256, order: uint256, status: uint256):
    self._orders[order_id] = (order & ~(_MASK_4 << 208)) | (status << 208)


@internal
def _complete(order_id: uint256, order: uint256):
    self._set_status(order_id, order, STATUS_COMPLETED)
    listing_id: uint256 = (order >> 160) & _MASK_48
    listing: uint256 = self._listings[listing_id]
    seller: address = convert(convert(listing & _ADDR, uint160), address)
    buyer: address = convert(convert(order & _ADDR, uint160), address)
    price: uint256 = (listing >> 160) & _MASK_88
    token: address = self._token_of(listing_id, listing)
    log OrderCompleted(order_id=order_id, seller=seller, buyer=buyer, price=price)
    self._record_trade(order_id, seller, buyer, token, price)
    to_seller: uint256 = price
    # A purchase confirmed before shipping earns its sharer nothing: the share is
    # rewarded only for goods that went through shipping.
    if (order >> 208) & _MASK_4 != STATUS_PAID:
        to_seller -= self._notify_share(order_id, order, price, token)
    self._pay(seller, token, to_seller)


@internal
def _rule(
    order_id: uint256, order: uint256, ruling: uint8, by_arbiter: bool, fee_to: DynArray[address, MAX_FEE_SPLIT]
):
    self._set_status(order_id, order, STATUS_RULED)
    listing_id: uint256 = (order >> 160) & _MASK_48
    listing: uint256 = self._listings[listing_id]
    seller: address = convert(convert(listing & _ADDR, uint160), address)
    buyer: address = convert(convert(order & _ADDR, uint160), address)
    price: uint256 = (listing >> 160) & _MASK_88
    token: address = self._token_of(listing_id, listing)
    deposit: uint256 = self._deposit_of(order_id, price, token)
    fee: uint256 = 0
    if by_arbiter and len(fee_to) > 0:
        fee = deposit * JUDGE_FEE_BPS // BPS
    rest: uint256 = deposit - fee

    to_buyer: uint256 = 0
    to_seller: uint256 = 0
    if ruling == RULING_BUYER:
        refund: uint256 = price * BUYER_REFUND_BPS // BPS
        to_buyer = refund + rest
        to_seller = price - refund
    elif ruling == RULING_SELLER:
        to_seller = price + rest
    else:
        to_buyer = price // 2 + rest
        to_seller = price - price // 2

    log OrderRuled(order_id=order_id, ruling=ruling, to_buyer=to_buyer, to_seller=to_seller, judge_fee=fee)

    if fee > 0:
        # Pushed with bounded gas, credited to `owed` when refused (as every payout).
        share: uint256 = fee // len(fee_to)
        self._pay(fee_to[0], token, fee - share * (len(fee_to) - 1))
        for i: uint256 in range(1, MAX_FEE_SPLIT):
            if i >= len(fee_to):
                break
            self._pay(fee_to[i], token, share)
    if ruling == RULING_BUYER:
        self._penalize(order_id, seller, PENALTY_FAKE_GOODS, REASON_FAKE_GOODS)
    elif ruling == RULING_SELLER:
        self._penalize(order_id, buyer, PENALTY_MALICIOUS_COMPLAINT, REASON_MALICIOUS_COMPLAINT)
        self._record_trade(order_id, seller, buyer, token, price)
        to_seller -= self._notify_share(order_id, order, price, token)
    self._pay(buyer, token, to_buyer)
    self._pay(seller, token, to_seller)


@internal
def _notify_share(order_id: uint256, order: uint256, price: uint256, token: address) -> uint256:
    """
    @dev Tells ShareRewards a shipped shared purchase completed and pays the sharer the
         commission it answers (capped at MAX_COMMISSION_BPS of the price) out of the
         seller's proceeds, pushed or credited like any payout. Returns the commission.
         A failing or malformed answer pays no commission and never blocks the order.
    """
    if order & _HAS_SHARE == 0:
        return 0
    ok: bool = False
    response: Bytes[64] = b""
    ok, response = raw_call(
        self.share_rewards,
        abi_encode(
            self._order_share[order_id],
            order_id,
            price,
            token,
            method_id=method_id("on_purchase_completed(uint256,uint256,uint256,address)"),
        ),
        max_outsize=64,
        revert_on_failure=False,
    )
    if not ok or len(response) != 64:
        log ShareNotifyFailed(order_id=order_id)
        return 0
    sharer: address = convert(convert(extract32(response, 0, output_type=uint256) & _ADDR, uint160), address)
    commission: uint256 = min(extract32(response, 32, output_type=uint256), price * MAX_COMMISSION_BPS // BPS)
    if sharer == empty(address) or commission == 0:
        return 0
    self._pay(sharer, token, commission)
    return commission


@internal
def _credit(account: address, token: address, amount: uint256):
    self.owed[account][token] += amount
    log PaymentCredited(account=account, token=token, amount=amount)


@internal
def _pay(to: address, token: address, amount: uint256) -> bool:
    """
    @dev Pushes `amount` to `to` (ETH with a bounded stipend); credits it to
         `owed` when the push fails. Returns whether it was pushed.
    """
    if amount == 0:
        return True
    pushed: bool = False
    if token == empty(address):
        pushed = payouts._try_push_eth(to, amount)
    else:
        pushed = payouts._try_transfer(token, to, amount)
    if not pushed:
        self._credit(to, token, amount)
    return pushed


@internal
def _pull(token: address, owner: address, amount: uint256):
    before: uint256 = payouts._balance_of(token, self)
    assert payouts._try_transfer_from(token, owner, self, amount), "escrow: token transfer failed"
    assert payouts._balance_of(token, self) == before + amount, "escrow: token fee not supported"


@internal
def _record_trade(order_id: uint256, seller: address, buyer: address, token: address, amount: uint256):
    """
    @dev Records the completed trade in the pair's relation word and, when the pair
         has not gained within the relation period, asks TrustIndex to raise the
         indexes (it does for trades at least its floor, unless another writer's
         trade gained within the period) and keeps the last gain it answers. A
         repeat trade of a related pair writes this one word and calls nothing.
         A TrustIndex failure never blocks the order.
    """
    if _RELATION_PERIOD == 0:
        if not raw_call(
            TRUST_INDEX.address,
            abi_encode(
                seller,
                buyer,
                token,
                amount,
                method_id=method_id("record_trade_valued(address,address,address,uint256)"),
            ),
            revert_on_failure=False,
        ):
            log TrustUpdateFailed(order_id=order_id)
        return
    lo: address = seller
    hi: address = buyer
    if convert(seller, uint256) > convert(buyer, uint256):
        lo = buyer
        hi = seller
    word: uint256 = self._relations[lo][hi]
    last_gain: uint256 = (word >> 128) & _MASK_64
    word = (last_gain << 128) | (block.timestamp << 64) | ((word & _MASK_64) + 1)
    self._relations[lo][hi] = word
    # Half-open: no gain before last_gain + period, a gain from then on.
    if last_gain != 0 and block.timestamp < last_gain + _RELATION_PERIOD:
        return
    ok: bool = False
    response: Bytes[32] = b""
    ok, response = raw_call(
        TRUST_INDEX.address,
        abi_encode(seller, buyer, token, amount, method_id=method_id("record_gain(address,address,address,uint256)")),
        max_outsize=32,
        revert_on_failure=False,
    )
    if not ok or len(response) != 32:
        log TrustUpdateFailed(order_id=order_id)
        return
    gained: uint256 = min(extract32(response, 0, output_type=uint256), block.timestamp)
    if gained > last_gain:
        self._relations[lo][hi] = (gained << 128) | (word & (2**128 - 1))


@internal
def _penalize(order_id: uint256, account: address, amount: uint256, reason: uint8):
    ok: bool = raw_call(
        TRUST_INDEX.address,
        abi_encode(account, amount, reason, method_id=method_id("penalize(address,uint256,uint8)")),
        revert_on_failure=False,
    )
    if not ok:
        log TrustUpdateFailed(order_id=order_id)
    elif reason >= REASON_FAKE_GOODS and not self.disabled[account]:
        if staticcall TRUST_INDEX.is_disabled(account):
            self.disabled[account] = True
            log DisabledSynced(account=account)
