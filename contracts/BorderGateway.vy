# pragma version 0.4.3
"""
@title BorderGateway
@notice Border Gateway Communication (BGC): cross-area messages proven against anchored
        area headers. A message leaves its source area's egress queue (a leaf of the egress
        Merkle tree of an anchored block), is delivered here exactly once and in nonce order
        per (src, dst) channel, and enters the destination area's ingress queue as a
        `MessageDelivered` event. Each area's SEC total is kept here: deposits add to it,
        messages move it between areas, withdrawals (messages to area 0) pay it out.
@dev Message(uint256 src_area, uint256 dst_area, uint256 nonce, address sender,
     address recipient, uint256 amount, bytes32 payload_hash); leaf =
     keccak256(keccak256(abi.encode(message))), internal nodes keccak256 of the sorted pair:
     OpenZeppelin's StandardMerkleTree. The leaf is always computed from `message`, never
     taken from the caller, so a 64-byte inner node cannot pass for a leaf. The header's
     EIP-712 digest is computed here with AnchorHub's domain and compared with the digest
     AnchorHub stored: one call, and a zero (unanchored) digest never matches.
     Outflow limit (round 2): what leaves an area (`deliver` out of it,
     `withdraw_from_area`) is limited per window. A window opens with the first outflow
     after the previous one ended and lasts OUTFLOW_PERIOD seconds; its allowance is
     max(balance * OUTFLOW_BPS // 10_000, OUTFLOW_FLOOR), the balance taken just before
     that first outflow. Deposits and inflows during a window add to the balance but not
     to the allowance; they count towards the base of the next window. So a forged egress
     root (a captured quorum) takes at most one allowance per window, at most two
     allowances inside any span shorter than OUTFLOW_PERIOD, before the guardian pauses.
     Deposits only go into areas with bonded validators (AnchorHub.area_stake > 0), so no
     SEC is locked in an area nobody can anchor.
@custom:security Anyone may deliver (relayers are untrusted); the guardian can stop
                 messages and withdrawals out of an attacked area; a captured quorum
                 moves at most the outflow allowance per window.
@license AGPL-3.0-only
"""

from snekmate.auth import access_control

initializes: access_control

exports: access_control.__interface__

from ethereum.ercs import IERC20


interface IAnchorHub:
    def anchored_hash(area_id: uint256, height: uint256) -> bytes32: view
    def area_stake(area_id: uint256) -> uint256: view


# ---------------------------------------------------------------- #
#                            constants                             #
# ---------------------------------------------------------------- #

GUARDIAN_ROLE: public(constant(bytes32)) = keccak256("GUARDIAN_ROLE")
MAX_PROOF: public(constant(uint256)) = 32
AREA_HEADER_TYPEHASH: constant(bytes32) = keccak256(
    "AreaHeader(uint256 area_id,uint256 height,bytes32 parent_hash,bytes32 tx_root,bytes32 credit_root,bytes32 egress_root,uint256 timestamp)"
)
_DOMAIN_TYPEHASH: constant(bytes32) = keccak256(
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
# area word: balance (bits 0-95) | window allowance left (96-191) | window end (192-254)
#            | paused (255). 2**96 - 1 wei is about 79 billion SEC: the whole supply fits.
_AMOUNT: constant(uint256) = (1 << 96) - 1
_LEFT_SHIFT: constant(uint256) = 96
_END_SHIFT: constant(uint256) = 192
_TIME: constant(uint256) = (1 << 63) - 1
_PAUSED: constant(uint256) = 1 << 255
_BPS: constant(uint256) = 10_000
_MAX_PERIOD: constant(uint256) = 1 << 32


# ---------------------------------------------------------------- #
#                            immutables                            #
# ---------------------------------------------------------------- #

ANCHOR_HUB: public(immutable(IAnchorHub))
TOKEN: public(immutable(IERC20))
OUTFLOW_BPS: public(immutable(uint256))
OUTFLOW_PERIOD: public(immutable(uint256))
OUTFLOW_FLOOR: public(immutable(uint256))
_CACHED_CHAIN_ID: immutable(uint256)
_CACHED_SEPARATOR: immutable(bytes32)


# ---------------------------------------------------------------- #
#                             storage                              #
# ---------------------------------------------------------------- #

struct Message:
    src_area: uint256
    dst_area: uint256
    nonce: uint256
    sender: address
    recipient: address
    amount: uint256
    payload_hash: bytes32

struct AreaHeader:
    area_id: uint256
    height: uint256
    parent_hash: bytes32
    tx_root: bytes32
    credit_root: bytes32
    egress_root: bytes32
    timestamp: uint256

# area -> balance | window allowance left | window end | paused (see the constants)
_areas: HashMap[uint256, uint256]
# src -> dst -> nonces delivered so far
_delivered: HashMap[uint256, HashMap[uint256, uint256]]


# ---------------------------------------------------------------- #
#                              events                              #
# ---------------------------------------------------------------- #

event MessageDelivered:
    src_area: indexed(uint256)
    dst_area: indexed(uint256)
    nonce: uint256
    sender: address
    recipient: indexed(address)
    amount: uint256
    payload_hash: bytes32

event DepositedToArea:
    area_id: indexed(uint256)
    account: indexed(address)
    amount: uint256

event WithdrawnFromArea:
    area_id: indexed(uint256)
    nonce: uint256
    recipient: indexed(address)
    amount: uint256

event AreaPaused:
    area_id: indexed(uint256)
    by: indexed(address)

event AreaUnpaused:
    area_id: indexed(uint256)
    by: indexed(address)


@deploy
def __init__(
    anchor_hub: IAnchorHub,
    token: IERC20,
    guardian: address,
    outflow_bps: uint256,
    outflow_period: uint256,
    outflow_floor: uint256,
):
    """
    @param anchor_hub The AnchorHub whose stored digests prove headers.
    @param token SEC, the token areas hold.
    @param guardian Holds GUARDIAN_ROLE (pause/unpause); the deployer is the role admin.
    @param outflow_bps Share of an area's balance that may leave it per window (1..10,000).
    @param outflow_period Length of an outflow window in seconds (1..2**32).
    @param outflow_floor Allowance per window whatever the share gives, so small areas are
           not frozen (wei, below 2**96).
    """
    assert outflow_bps > 0 and outflow_bps <= _BPS, "bgc: bad outflow share"
    assert outflow_period > 0 and outflow_period <= _MAX_PERIOD, "bgc: bad outflow period"
    assert outflow_floor <= _AMOUNT, "bgc: bad outflow floor"
    OUTFLOW_BPS = outflow_bps
    OUTFLOW_PERIOD = outflow_period
    OUTFLOW_FLOOR = outflow_floor
    access_control.__init__()
    access_control._grant_role(GUARDIAN_ROLE, guardian)
    ANCHOR_HUB = anchor_hub
    TOKEN = token
    _CACHED_CHAIN_ID = chain.id
    _CACHED_SEPARATOR = self._separator()


# ---------------------------------------------------------------- #
#                              views                               #
# ---------------------------------------------------------------- #

@view
@external
def area_balance(area_id: uint256) -> uint256:
    """
    @notice The SEC the area holds here.
    """
    return self._areas[area_id] & _AMOUNT


@view
@external
def is_paused(area_id: uint256) -> bool:
    """
    @notice Whether the guardian has stopped everything leaving `area_id`.
    """
    return self._areas[area_id] & _PAUSED != 0


@view
@external
def outflow_limit(area_id: uint256) -> uint256:
    """
    @notice What can still leave `area_id` now (one `deliver` out of it or one
            `withdraw_from_area` of at most this amount passes the limit and balance
            checks; one wei more reverts): 0 while paused, else the smaller of the balance
            and the allowance left in the window in force (a fresh window's allowance
            when the last one has ended).
    """
    word: uint256 = self._areas[area_id]
    if word & _PAUSED != 0:
        return 0
    left: uint256 = 0
    ends_at: uint256 = 0
    left, ends_at = self._window(word)
    return min(word & _AMOUNT, left)


@view
@external
def outflow_window(area_id: uint256) -> (uint256, uint256):
    """
    @notice The outflow window of `area_id` as it stands now.
    @return The allowance left in the open window (or the allowance a window opened now
            would get) and when the open window ends (0 when none is open: the next
            outflow opens one ending OUTFLOW_PERIOD later).
    """
    word: uint256 = self._areas[area_id]
    ends_at: uint256 = (word >> _END_SHIFT) & _TIME
    if block.timestamp >= ends_at:
        return self._allowance(word & _AMOUNT), 0
    return (word >> _LEFT_SHIFT) & _AMOUNT, ends_at


@view
@external
def next_nonce(src_area: uint256, dst_area: uint256) -> uint256:
    """
    @notice The nonce the next delivered message from `src_area` to `dst_area` must carry.
    """
    return self._delivered[src_area][dst_area] + 1


@view
@external
def message_leaf(message: Message) -> bytes32:
    """
    @notice The StandardMerkleTree leaf of `message`.
    """
    return self._leaf(message)


# ---------------------------------------------------------------- #
#                             messages                             #
# ---------------------------------------------------------------- #

@external
def deliver(message: Message, header: AreaHeader, proof: DynArray[bytes32, MAX_PROOF]):
    """
    @notice Delivers a message from the egress tree of an anchored header of its source
            area: moves `amount` of the source area's total to the destination area and
            emits `MessageDelivered` (the destination's ingress).
    @custom:security Anyone. Exactly once and in nonce order per channel; a paused
                     source area sends nothing; at most `outflow_limit(src_area)`.
    """
    assert message.dst_area != 0, "bgc: area 0 is the main chain: use withdraw_from_area"
    assert message.dst_area != message.src_area, "bgc: message to its own area"
    self._areas[message.src_area] = self._take(message, header, proof)
    # cannot carry out of the balance bits: all balances together stay below 2**96
    # (deposit_to_area checks what the contract holds)
    self._areas[message.dst_area] = self._areas[message.dst_area] + message.amount
    log MessageDelivered(
        src_area=message.src_area,
        dst_area=message.dst_area,
        nonce=message.nonce,
        sender=message.sender,
        recipient=message.recipient,
        amount=message.amount,
        payload_hash=message.payload_hash,
    )


@external
@nonreentrant
def withdraw_from_area(message: Message, header: AreaHeader, proof: DynArray[bytes32, MAX_PROOF]):
    """
    @notice Pays out a message to area 0 (the main chain): `amount` SEC to `recipient`.
    @custom:security Anyone (the recipient is in the proven message). Exactly once; at
                     most `outflow_limit(src_area)`.
    """
    assert message.dst_area == 0, "bgc: not a message to the main chain"
    self._areas[message.src_area] = self._take(message, header, proof)
    log WithdrawnFromArea(
        area_id=message.src_area, nonce=message.nonce, recipient=message.recipient, amount=message.amount
    )
    assert extcall TOKEN.transfer(message.recipient, message.amount, default_return_value=True), "bgc: transfer failed"


@external
@nonreentrant
def deposit_to_area(area_id: uint256, amount: uint256):
    """
    @notice Moves `amount` SEC of the caller into `area_id` (approve first). The area
            must have bonded validators, or nobody could anchor a withdrawal of it.
    @dev The deposit raises the area's balance now and the outflow allowance of its next
         window, not of the window in force.
    """
    assert area_id != 0, "bgc: area 0 is the main chain"
    assert amount > 0, "bgc: zero amount"
    assert staticcall ANCHOR_HUB.area_stake(area_id) > 0, "bgc: area has no validators"
    before: uint256 = staticcall TOKEN.balanceOf(self)
    # every area balance is at most the sum of all, which is at most what the contract
    # holds: bounding that keeps each balance inside its 96 bits
    assert before + amount <= _AMOUNT, "bgc: area total overflows"
    word: uint256 = self._areas[area_id]
    self._areas[area_id] = word + amount
    log DepositedToArea(area_id=area_id, account=msg.sender, amount=amount)
    assert extcall TOKEN.transferFrom(msg.sender, self, amount, default_return_value=True), "bgc: transfer failed"
    assert staticcall TOKEN.balanceOf(self) == before + amount, "bgc: token took a fee"


# ---------------------------------------------------------------- #
#                             guardian                             #
# ---------------------------------------------------------------- #

@external
def pause_area(area_id: uint256):
    """
    @notice Emergency stop: no message or withdrawal leaves `area_id` until unpaused.
            The outflow window is kept: unpausing does not refill it.
    @custom:security GUARDIAN_ROLE only.
    """
    assert access_control.hasRole[GUARDIAN_ROLE][msg.sender], "bgc: caller is not a guardian"
    word: uint256 = self._areas[area_id]
    assert word & _PAUSED == 0, "bgc: area is already paused"
    self._areas[area_id] = word | _PAUSED
    log AreaPaused(area_id=area_id, by=msg.sender)


@external
def unpause_area(area_id: uint256):
    """
    @custom:security GUARDIAN_ROLE only.
    """
    assert access_control.hasRole[GUARDIAN_ROLE][msg.sender], "bgc: caller is not a guardian"
    word: uint256 = self._areas[area_id]
    assert word & _PAUSED != 0, "bgc: area is not paused"
    self._areas[area_id] = word & (_PAUSED - 1)
    log AreaUnpaused(area_id=area_id, by=msg.sender)


# ---------------------------------------------------------------- #
#                             internal                             #
# ---------------------------------------------------------------- #

@internal
def _take(message: Message, header: AreaHeader, proof: DynArray[bytes32, MAX_PROOF]) -> uint256:
    """
    @dev Every check of a message leaving its area; consumes its nonce and returns the
         source area's new word: balance less the amount, the window in force (opened
         now if the last one has ended) less the amount.
    """
    assert header.area_id == message.src_area, "bgc: header is not of the source area"
    src_word: uint256 = self._areas[message.src_area]
    assert src_word & _PAUSED == 0, "bgc: source area is paused"
    delivered: uint256 = self._delivered[message.src_area][message.dst_area]
    assert message.nonce > delivered, "bgc: message already delivered"
    assert message.nonce == delivered + 1, "bgc: nonce out of order"
    assert header.egress_root != empty(bytes32), "bgc: empty egress root"
    anchored: bytes32 = staticcall ANCHOR_HUB.anchored_hash(header.area_id, header.height)
    assert anchored != empty(bytes32), "bgc: header is not anchored"
    assert self._digest(header) == anchored, "bgc: header does not match the anchored digest"
    node: bytes32 = self._leaf(message)
    for sibling: bytes32 in proof:
        if convert(node, uint256) < convert(sibling, uint256):
            node = keccak256(concat(node, sibling))
        else:
            node = keccak256(concat(sibling, node))
    assert node == header.egress_root, "bgc: invalid proof"
    balance: uint256 = src_word & _AMOUNT
    assert balance >= message.amount, "bgc: source area holds less than the amount"
    left: uint256 = 0
    ends_at: uint256 = 0
    left, ends_at = self._window(src_word)
    assert message.amount <= left, "bgc: outflow limit"
    self._delivered[message.src_area][message.dst_area] = message.nonce
    # not paused (checked above), so bit 255 stays clear
    return unsafe_sub(balance, message.amount) | (unsafe_sub(left, message.amount) << _LEFT_SHIFT) | (ends_at << _END_SHIFT)


@view
@internal
def _window(word: uint256) -> (uint256, uint256):
    """
    @dev The window in force at this block: (allowance left, end). When the stored one
         has ended (or none was ever opened: end 0), a fresh one from now on.
    """
    ends_at: uint256 = (word >> _END_SHIFT) & _TIME
    if block.timestamp >= ends_at:
        return self._allowance(word & _AMOUNT), block.timestamp + OUTFLOW_PERIOD
    return (word >> _LEFT_SHIFT) & _AMOUNT, ends_at


@view
@internal
def _allowance(balance: uint256) -> uint256:
    """
    @dev A fresh window's allowance: OUTFLOW_BPS of the balance, at least OUTFLOW_FLOOR.
    """
    return max(balance * OUTFLOW_BPS // _BPS, OUTFLOW_FLOOR)


@pure
@internal
def _leaf(message: Message) -> bytes32:
    return keccak256(
        keccak256(
            abi_encode(
                message.src_area,
                message.dst_area,
                message.nonce,
                message.sender,
                message.recipient,
                message.amount,
                message.payload_hash,
            )
        )
    )


@view
@internal
def _separator() -> bytes32:
    return keccak256(
        abi_encode(
            _DOMAIN_TYPEHASH, keccak256("SEC AnchorHub"), keccak256("1"), chain.id, ANCHOR_HUB.address
        )
    )


@view
@internal
def _digest(header: AreaHeader) -> bytes32:
    separator: bytes32 = _CACHED_SEPARATOR
    if chain.id != _CACHED_CHAIN_ID:
        separator = self._separator()
    struct_hash: bytes32 = keccak256(
        abi_encode(
            AREA_HEADER_TYPEHASH,
            header.area_id,
            header.height,
            header.parent_hash,
            header.tx_root,
            header.credit_root,
            header.egress_root,
            header.timestamp,
        )
    )
    return keccak256(concat(b"\x19\x01", separator, struct_hash))
