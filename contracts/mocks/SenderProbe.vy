# pragma version 0.4.3
"""
@title SenderProbe
@notice Test double: reports the ERC-2771 sender of a call, and burns the gas it is
        given in a sub-call whose failure it swallows (as Escrow's trust update does),
        to test the forwarder's checks.
"""

from ..modules import erc2771
initializes: erc2771
exports: erc2771.isTrustedForwarder

event Seen:
    sender: address

event Burned:
    sub_call_ok: bool


@deploy
def __init__(forwarder: address):
    erc2771.__init__(forwarder)


@external
def who() -> address:
    """
    @notice The sender of this call (no arguments: the calldata may be 4 bytes).
    """
    sender: address = erc2771._sender()
    log Seen(sender=sender)
    return sender


@external
def burn():
    """
    @notice Gives a sub-call all the gas it may and swallows its out-of-gas failure.
    """
    ok: bool = raw_call(self, method_id("spin()"), revert_on_failure=False)
    log Burned(sub_call_ok=ok)


@external
def spin():
    x: uint256 = 0
    for i: uint256 in range(10**9):
        x = unsafe_add(x, i)
