# pragma version 0.4.3
"""
@title Relay test forwarder
@notice A minimal ERC-2771 forwarder with OpenZeppelin's ForwardRequest type under the domain
        ("SEC Forwarder", "1"), for testing the off-chain relayer core on its own. Not the
        suite's Forwarder: no low-s check, no 63/64 gas check.
"""

struct ForwardRequest:
    sender: address
    to: address
    value: uint256
    gas: uint256
    nonce: uint256
    deadline: uint48
    data: Bytes[1024]

TYPEHASH: constant(bytes32) = keccak256(
    "ForwardRequest(address from,address to,uint256 value,uint256 gas,uint256 nonce,uint48 deadline,bytes data)"
)
DOMAIN_TYPEHASH: constant(bytes32) = keccak256(
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)

nonces: public(HashMap[address, uint256])


@external
@payable
def execute(request: ForwardRequest, signature: Bytes[65]):
    """
    @notice Runs `request` as its sender (appended to the calldata) if signed by it.
    """
    assert block.timestamp <= convert(request.deadline, uint256), "forwarder: expired"
    assert request.nonce == self.nonces[request.sender], "forwarder: bad nonce"
    domain: bytes32 = keccak256(
        abi_encode(DOMAIN_TYPEHASH, keccak256("SEC Forwarder"), keccak256("1"), chain.id, self)
    )
    struct_hash: bytes32 = keccak256(
        abi_encode(
            TYPEHASH,
            request.sender,
            request.to,
            request.value,
            request.gas,
            request.nonce,
            request.deadline,
            keccak256(request.data),
        )
    )
    digest: bytes32 = keccak256(concat(x"1901", domain, struct_hash))
    r: uint256 = convert(extract32(signature, 0), uint256)
    s: uint256 = convert(extract32(signature, 32), uint256)
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    assert ecrecover(digest, v, r, s) == request.sender, "forwarder: bad signature"
    self.nonces[request.sender] += 1
    ok: bool = False
    response: Bytes[256] = b""
    ok, response = raw_call(
        request.to,
        concat(request.data, convert(request.sender, bytes20)),
        max_outsize=256,
        gas=request.gas,
        value=request.value,
        revert_on_failure=False,
    )
    if not ok:
        raw_revert(response)
