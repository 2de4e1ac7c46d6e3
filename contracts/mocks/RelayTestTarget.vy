# pragma version 0.4.3
"""
@title Relay test target
@notice An ERC-2771 recipient that records who called it, for the relayer core's tests.
"""

FORWARDER: public(immutable(address))
last_sender: public(address)
total: public(uint256)


@deploy
def __init__(forwarder: address):
    FORWARDER = forwarder


@external
def ping(amount: uint256):
    """
    @notice Adds `amount`; 13 reverts with "target: unlucky".
    """
    assert amount != 13, "target: unlucky"
    self.last_sender = self._sender()
    self.total += amount


@external
def other():
    """
    @notice Does nothing (not allow-listed in the tests).
    """
    pass


@internal
@view
def _sender() -> address:
    if msg.sender == FORWARDER and len(msg.data) >= 24:
        return convert(convert(slice(msg.data, len(msg.data) - 20, 20), bytes20), address)
    return msg.sender
