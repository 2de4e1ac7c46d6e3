# pragma version 0.4.3
"""
@title erc2771
@notice ERC-2771 recipient: the trusted forwarder, fixed at deploy, and the sender of
        the current call. A call from the trusted forwarder carries its signer in the
        last 20 bytes of the calldata; any other call (or a call from the forwarder too
        short to carry one) acts for msg.sender, so appending an address to a direct
        call changes nothing.
@dev Used by Escrow, ShareRewards and Court (and a test probe). Staking does not use
     it (see docs/decisions.md).
@license AGPL-3.0-only
"""

# The ERC-2771 forwarder whose calls carry their signer (empty: none).
FORWARDER: public(immutable(address))


@deploy
def __init__(forwarder: address):
    FORWARDER = forwarder


@view
@external
def isTrustedForwarder(forwarder: address) -> bool:
    """
    @notice ERC-2771: whether calls from `forwarder` carry their signer.
    """
    return forwarder != empty(address) and forwarder == FORWARDER


@view
@internal
def _sender() -> address:
    """
    @dev The signer the trusted forwarder appended to the calldata, only when the
         forwarder is the caller and the calldata can hold it; else the caller.
    """
    if msg.sender == FORWARDER and len(msg.data) >= 20:
        return convert(convert(slice(msg.data, len(msg.data) - 20, 20), bytes20), address)
    return msg.sender
