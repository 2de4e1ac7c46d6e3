# pragma version 0.4.3
"""
@title AnchorHub
@notice Anchors autonomous-area block headers signed by more than 2/3 of the area's
        bonded validator stake, and turns proof that a validator signed two different
        headers at one height into a slash with a bounty for the judge who found it.
        A header's hash is the EIP-712 typed-data hash of
        AreaHeader(uint256 area_id,uint256 height,bytes32 parent_hash,bytes32 tx_root,
        bytes32 credit_root,bytes32 egress_root,uint256 timestamp) under the domain
        ("SEC AnchorHub", "1", chainId, this contract), so a signature cannot be replayed
        on another chain or deployment. Signatures are 65-byte r||s||v, v 27/28, low s.
@dev Storage holds commitments, calldata carries preimages: only the digest per (area,
     height) and the latest height are stored; `HeaderAnchored` logs every field.
     Quorum weights are a mirror of Staking's active validator stakes (pending stake,
     still inside the activation delay, is not in it) that Staking pushes
     here on every change (`set_weight`), one word per validator and one per area (latest
     height | total stake), so `anchor` reads one slot per signer and makes no call.
@custom:security Anyone may submit (relayers are untrusted): a header lands only with
                 enough validator stake behind it, at the next height, on the anchored
                 parent. Only staked judges report equivocation; each offence (validator,
                 area, height) is slashed once.
@license AGPL-3.0-only
"""

from snekmate.utils import ecdsa
from snekmate.utils import eip712_domain_separator

initializes: eip712_domain_separator

# eip712Domain (EIP-5267) is exported so wallets and tools can read the domain.
exports: eip712_domain_separator.eip712Domain

from .interfaces import IAnchorStaking


# ---------------------------------------------------------------- #
#                            constants                             #
# ---------------------------------------------------------------- #

AREA_HEADER_TYPEHASH: public(constant(bytes32)) = keccak256(
    "AreaHeader(uint256 area_id,uint256 height,bytes32 parent_hash,bytes32 tx_root,bytes32 credit_root,bytes32 egress_root,uint256 timestamp)"
)
MAX_SIGNERS: public(constant(uint256)) = 64
_MASK_128: constant(uint256) = 2**128 - 1


# ---------------------------------------------------------------- #
#                            immutables                            #
# ---------------------------------------------------------------- #

STAKING: public(immutable(IAnchorStaking))
EQUIVOCATION_SLASH_BPS: public(immutable(uint256))


# ---------------------------------------------------------------- #
#                             storage                              #
# ---------------------------------------------------------------- #

struct AreaHeader:
    area_id: uint256
    height: uint256
    parent_hash: bytes32
    tx_root: bytes32
    credit_root: bytes32
    egress_root: bytes32
    timestamp: uint256

anchored_hash: public(HashMap[uint256, HashMap[uint256, bytes32]])
# validator -> bonded stake (bits 0-127) | area id (128-191); 0 when not counted
_weights: HashMap[address, uint256]
# area -> total bonded validator stake (the latest height is not stored: see latest_height)
_area_stake: HashMap[uint256, uint256]


# ---------------------------------------------------------------- #
#                              events                              #
# ---------------------------------------------------------------- #

event HeaderAnchored:
    area_id: indexed(uint256)
    height: indexed(uint256)
    header_hash: bytes32
    parent_hash: bytes32
    tx_root: bytes32
    credit_root: bytes32
    egress_root: bytes32
    timestamp: uint256
    submitter: address

event WeightSet:
    validator: indexed(address)
    area_id: indexed(uint256)
    stake: uint256
    area_total: uint256

event EquivocationProven:
    area_id: indexed(uint256)
    height: uint256
    validator: indexed(address)
    reporter: indexed(address)
    offence_id: bytes32


@deploy
def __init__(staking: IAnchorStaking, equivocation_slash_bps: uint256):
    """
    @param staking Staking, which must make this contract its slasher.
    @param equivocation_slash_bps Share of stake an equivocation slashes (default 50 %).
    """
    eip712_domain_separator.__init__("SEC AnchorHub", "1")
    STAKING = staking
    EQUIVOCATION_SLASH_BPS = equivocation_slash_bps


@view
@external
def hash_header(header: AreaHeader) -> bytes32:
    """
    @notice The EIP-712 digest validators sign for `header`.
    """
    return self._hash_header(header)


@view
@external
def latest_height(area_id: uint256) -> uint256:
    """
    @notice The highest anchored height of `area_id` (0 before its first header).
    @dev Anchored heights are always 1..latest, so the latest is found by a galloping
         then binary search over `anchored_hash` (about 2 log2(latest) reads): `anchor`
         saves a storage write per header by not keeping it.
    """
    return self._latest_from(area_id, 0)


@view
@external
def latest_height_from(area_id: uint256, known: uint256) -> uint256:
    """
    @notice `latest_height`, searched upwards from a height known to be anchored (or 0):
            about 2 log2(latest - known) reads, for contracts that track their position.
    """
    assert known == 0 or self.anchored_hash[area_id][known] != empty(bytes32), "anchor: known height is not anchored"
    return self._latest_from(area_id, known)


@view
@external
def area_stake(area_id: uint256) -> uint256:
    """
    @notice The bonded validator stake of `area_id` that quorums are counted against
            (the mirror Staking keeps here); 0 when the area has no validators.
    """
    return self._area_stake[area_id]


@external
def set_weight(validator: address, area_id: uint256, stake: uint256, area_total: uint256):
    """
    @notice Mirrors a validator's bonded stake and its area's total for the quorum check.
    @custom:security Staking only.
    """
    assert msg.sender == STAKING.address, "anchor: caller is not staking"
    self._weights[validator] = stake | (area_id << 128) if stake > 0 else 0
    self._area_stake[area_id] = area_total
    log WeightSet(validator=validator, area_id=area_id, stake=stake, area_total=area_total)


@external
def anchor(header: AreaHeader, signatures: DynArray[Bytes[65], MAX_SIGNERS]):
    """
    @notice Anchors the next header of an area.
    @param header The header, fields in type-string order.
    @param signatures 65-byte signatures in ascending order of signer address.
    @custom:security Anyone. Signers must be distinct bonded validators of the area
                     holding more than 2/3 of its bonded stake.
    @dev Continuity without a stored height: heights are only ever anchored one after
         the other, so "height is empty and height - 1 holds parent_hash" (a non-zero
         digest, or height 1 on the zero parent) means height == latest + 1.
    """
    assert header.height != 0, "anchor: height is not the next one"
    assert self.anchored_hash[header.area_id][header.height] == empty(bytes32), "anchor: height is not the next one"
    parent: bytes32 = self.anchored_hash[header.area_id][unsafe_sub(header.height, 1)]
    assert parent != empty(bytes32) or header.height == 1, "anchor: height is not the next one"
    assert header.parent_hash == parent, "anchor: wrong parent hash"
    digest: bytes32 = self._hash_header(header)
    last: uint256 = 0
    signed: uint256 = 0
    for signature: Bytes[65] in signatures:
        signer: uint256 = convert(self._recover(digest, signature), uint256)
        assert signer > last, "anchor: signers not in ascending order"
        last = signer
        weight: uint256 = self._weights[convert(signer, address)]
        assert weight >> 128 == header.area_id and weight != 0, "anchor: signer is not a validator of the area"
        signed = unsafe_add(signed, weight & _MASK_128)
    assert signed * 3 > self._area_stake[header.area_id] * 2, "anchor: not enough stake signed"

    self.anchored_hash[header.area_id][header.height] = digest
    log HeaderAnchored(
        area_id=header.area_id,
        height=header.height,
        header_hash=digest,
        parent_hash=header.parent_hash,
        tx_root=header.tx_root,
        credit_root=header.credit_root,
        egress_root=header.egress_root,
        timestamp=header.timestamp,
        submitter=msg.sender,
    )


@external
def report_equivocation(header_a: AreaHeader, sig_a: Bytes[65], header_b: AreaHeader, sig_b: Bytes[65]):
    """
    @notice Proves that one validator signed two different headers at one height of one
            area, and slashes it (EQUIVOCATION_SLASH_BPS) with the bounty to the caller.
            The headers need not be anchored: signing both is the offence. Validators
            whose stake was activated at or after that height get no share of it.
    @custom:security Staked judges only. Offence id keccak256(abi.encode(validator,
                     area_id, height)): the same evidence, in either order, applies once.
    """
    assert staticcall STAKING.is_judge(msg.sender), "anchor: caller is not a judge"
    assert header_a.area_id == header_b.area_id and header_a.height == header_b.height, "anchor: not the same area and height"
    digest_a: bytes32 = self._hash_header(header_a)
    digest_b: bytes32 = self._hash_header(header_b)
    assert digest_a != digest_b, "anchor: headers are identical"
    signer: address = self._recover(digest_a, sig_a)
    assert self._recover(digest_b, sig_b) == signer, "anchor: signers differ"
    assert staticcall STAKING.is_slashable(header_a.area_id, signer), "anchor: signer is not a validator of the area"
    offence_id: bytes32 = keccak256(abi_encode(signer, header_a.area_id, header_a.height))
    log EquivocationProven(area_id=header_a.area_id, height=header_a.height, validator=signer, reporter=msg.sender, offence_id=offence_id)
    # The height limits the redistribution to validators active before the offence.
    extcall STAKING.slash_at(signer, EQUIVOCATION_SLASH_BPS, msg.sender, offence_id, header_a.height)


@view
@internal
def _latest_from(area_id: uint256, known: uint256) -> uint256:
    # invariant: lo is anchored (or 0), hi is not
    lo: uint256 = known
    step: uint256 = 1
    hi: uint256 = 0
    for _: uint256 in range(64):
        hi = lo + step
        if self.anchored_hash[area_id][hi] == empty(bytes32):
            break
        lo = hi
        step <<= 1
    for _: uint256 in range(64):
        if hi - lo <= 1:
            break
        mid: uint256 = unsafe_add(lo, unsafe_div(unsafe_sub(hi, lo), 2))
        if self.anchored_hash[area_id][mid] == empty(bytes32):
            hi = mid
        else:
            lo = mid
    return lo


@view
@internal
def _hash_header(header: AreaHeader) -> bytes32:
    return eip712_domain_separator._hash_typed_data_v4(
        keccak256(
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
    )


@pure
@internal
def _recover(digest: bytes32, signature: Bytes[65]) -> address:
    """
    @dev 65 bytes r||s||v with v 27/28; snekmate rejects high s and a zero signer.
    """
    assert len(signature) == 65, "anchor: signature is not 65 bytes"
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    assert v == 27 or v == 28, "anchor: bad signature v"
    r: uint256 = extract32(signature, 0, output_type=uint256)
    s: uint256 = extract32(signature, 32, output_type=uint256)
    return ecdsa._recover_vrs(digest, v, r, s)
