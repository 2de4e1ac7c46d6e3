# pragma version 0.4.3
"""
@title Forwarder
@notice ERC-2771 trusted forwarder: relays a `ForwardRequest` signed by `from` to
        `to`, appending `from` to the calldata, so a user acts on Escrow, ShareRewards
        and Court without holding ETH (whoever submits the request pays the gas).
        The request type and checks are OpenZeppelin ERC2771Forwarder's:
        EIP-712 `ForwardRequest(address from,address to,uint256 value,uint256 gas,
        uint256 nonce,uint48 deadline,bytes data)` under the domain ("SEC Forwarder",
        "1", chain id, this contract); sequential nonces per signer; valid while
        now <= deadline; the target must trust this forwarder (`isTrustedForwarder`).
@dev The inner call gets exactly `gas` and at most MAX_DATA bytes of calldata; if it
     fails the whole request reverts with its revert data (the nonce stays unused). A submitter cannot starve the inner
     call: by the 63/64 rule a call that got less than `gas` leaves less than
     gas / 63 behind, and then `execute` reverts ("forwarder: insufficient gas"),
     so an inner call that swallows an out-of-gas failure of its own (e.g. Escrow's
     trust update) can never count as done.
@custom:security Signatures: 65 bytes r || s || v, v 27/28, low s, recovering to
                 exactly `from`; a signature binds chain, forwarder, target, value,
                 gas, nonce, deadline and data. No multicall.
@license AGPL-3.0-only
"""

from snekmate.utils import eip712_domain_separator

initializes: eip712_domain_separator

exports: eip712_domain_separator.eip712Domain


# ---------------------------------------------------------------- #
#                            constants                             #
# ---------------------------------------------------------------- #

FORWARD_REQUEST_TYPEHASH: public(constant(bytes32)) = keccak256(
    "ForwardRequest(address from,address to,uint256 value,uint256 gas,uint256 nonce,uint48 deadline,bytes data)"
)
# Highest s of a canonical (low-s) secp256k1 signature: n / 2.
_HALF_N: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168
# Longest inner calldata a request may carry.
MAX_DATA: public(constant(uint256)) = 1024


# ---------------------------------------------------------------- #
#                             structs                              #
# ---------------------------------------------------------------- #

struct ForwardRequest:
    # `from` is a reserved word in Vyper; the ABI name is `from_`, the EIP-712 type
    # keeps OpenZeppelin's `from`.
    from_: address
    to: address
    value: uint256
    gas: uint256
    nonce: uint256
    deadline: uint48
    data: Bytes[MAX_DATA]


# ---------------------------------------------------------------- #
#                             storage                              #
# ---------------------------------------------------------------- #

nonces: public(HashMap[address, uint256])


# ---------------------------------------------------------------- #
#                              events                              #
# ---------------------------------------------------------------- #

event ExecutedForwardRequest:
    signer: indexed(address)
    nonce: uint256
    success: bool


@deploy
def __init__():
    eip712_domain_separator.__init__("SEC Forwarder", "1")


@external
@payable
@nonreentrant
def execute(request: ForwardRequest, signature: Bytes[65]):
    """
    @notice Relays `request` (signed by `request.from_`): checks it, uses its nonce and
            calls `request.to` with `request.data ++ request.from_`, `request.value`
            (which msg.value must equal) and exactly `request.gas`.
    @custom:security Anyone may submit; reverts on a bad signature ("forwarder: invalid
                     signature" / "forwarder: signer is not from"), a past deadline
                     ("forwarder: request expired"), a nonce other than the current one
                     ("forwarder: invalid nonce"), a target that does not trust this
                     forwarder, too little gas for the inner call, or its failure.
    """
    assert msg.value == request.value, "forwarder: value mismatch"
    assert block.timestamp <= convert(request.deadline, uint256), "forwarder: request expired"
    nonce: uint256 = self.nonces[request.from_]
    assert request.nonce == nonce, "forwarder: invalid nonce"
    signer: address = self._recover(self._request_digest(request), signature)
    assert signer != empty(address), "forwarder: invalid signature"
    assert signer == request.from_, "forwarder: signer is not from"
    assert self._trusted_by(request.to), "forwarder: target does not trust this forwarder"
    self.nonces[request.from_] = nonce + 1

    # A failing inner call reverts everything with its own revert data.
    raw_call(
        request.to,
        concat(request.data, convert(request.from_, bytes20)),
        gas=request.gas,
        value=request.value,
    )
    # 63/64 rule: had the call received less than request.gas and used it up, less
    # than request.gas / 63 would remain here.
    assert msg.gas >= request.gas // 63, "forwarder: insufficient gas"
    log ExecutedForwardRequest(signer=signer, nonce=nonce, success=True)


@view
@external
def verify(request: ForwardRequest, signature: Bytes[65]) -> bool:
    """
    @notice Whether `execute(request, signature)` would pass its own checks now: the
            target trusts this forwarder, the deadline has not passed, the nonce is the
            signer's current one and the signature is `from`'s (low s).
    """
    if block.timestamp > convert(request.deadline, uint256):
        return False
    if request.nonce != self.nonces[request.from_]:
        return False
    if not self._trusted_by(request.to):
        return False
    signer: address = self._recover(self._request_digest(request), signature)
    return signer != empty(address) and signer == request.from_


@view
@external
def request_digest(request: ForwardRequest) -> bytes32:
    """
    @notice The EIP-712 digest `request.from_` signs.
    """
    return self._request_digest(request)


# ---------------------------------------------------------------- #
#                             internal                             #
# ---------------------------------------------------------------- #

@view
@internal
def _request_digest(request: ForwardRequest) -> bytes32:
    return eip712_domain_separator._hash_typed_data_v4(
        keccak256(
            abi_encode(
                FORWARD_REQUEST_TYPEHASH,
                request.from_,
                request.to,
                request.value,
                request.gas,
                request.nonce,
                request.deadline,
                keccak256(request.data),
            )
        )
    )


@view
@internal
def _trusted_by(target: address) -> bool:
    """
    @dev Whether `target` answers `isTrustedForwarder(self)` with true (an account
         without code, or one that does not answer, does not trust us).
    """
    ok: bool = False
    response: Bytes[32] = b""
    ok, response = raw_call(
        target,
        abi_encode(self, method_id=method_id("isTrustedForwarder(address)")),
        max_outsize=32,
        is_static_call=True,
        revert_on_failure=False,
    )
    return ok and len(response) == 32 and convert(response, uint256) == 1


@pure
@internal
def _recover(digest: bytes32, signature: Bytes[65]) -> address:
    """
    @dev The signer of a 65-byte r || s || v signature with v 27 or 28 and low s;
         the zero address for anything else (so each signature has one form).
    """
    if len(signature) != 65:
        return empty(address)
    r: uint256 = extract32(signature, 0, output_type=uint256)
    s: uint256 = extract32(signature, 32, output_type=uint256)
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    if s > _HALF_N or (v != 27 and v != 28):
        return empty(address)
    return ecrecover(digest, v, r, s)
