# pragma version 0.4.3
"""
@title HostileReceiver
@notice Test-only: a seller or buyer contract whose receive hook accepts, reverts,
        burns all gas, or re-enters the escrow (modes 0-3).
"""

interface IEscrow:
    def create_listing(price: uint256, token: address, auto_complete: uint256, ship_window: uint256, metadata: bytes32) -> uint256: nonpayable
    def buy(listing_id: uint256, share_id: uint256) -> uint256: payable
    def ship(order_id: uint256, tracking: bytes32): nonpayable
    def confirm(order_id: uint256): nonpayable
    def cancel(order_id: uint256): nonpayable
    def withdraw(token: address): nonpayable
    def dispute(order_id: uint256, evidence: bytes32): payable

MODE_ACCEPT: constant(uint256) = 0
MODE_REVERT: constant(uint256) = 1
MODE_BURN_GAS: constant(uint256) = 2
MODE_REENTER: constant(uint256) = 3

escrow: public(IEscrow)
mode: public(uint256)
reenter_order: public(uint256)
reentered: public(bool)
received: public(uint256)


@deploy
def __init__(escrow: IEscrow):
    self.escrow = escrow


@external
def set_mode(mode: uint256, reenter_order: uint256):
    self.mode = mode
    self.reenter_order = reenter_order


@external
def create_listing(price: uint256) -> uint256:
    return extcall self.escrow.create_listing(price, empty(address), 0, 0, empty(bytes32))


@external
@payable
def buy(listing_id: uint256) -> uint256:
    return extcall self.escrow.buy(listing_id, 0, value=msg.value)


@external
def ship(order_id: uint256):
    extcall self.escrow.ship(order_id, empty(bytes32))


@external
def confirm(order_id: uint256):
    extcall self.escrow.confirm(order_id)


@external
def cancel(order_id: uint256):
    extcall self.escrow.cancel(order_id)


@external
@payable
def dispute(order_id: uint256):
    extcall self.escrow.dispute(order_id, empty(bytes32), value=msg.value)


@external
def withdraw():
    extcall self.escrow.withdraw(empty(address))


@external
@payable
def __default__():
    if self.mode == MODE_REVERT:
        raise "receiver: no thanks"
    elif self.mode == MODE_BURN_GAS:
        for i: uint256 in range(100_000):
            self.received += 1
    elif self.mode == MODE_REENTER:
        # Try to take the payout twice: re-enter confirm and withdraw. Either
        # reverts on the escrow's lock, which makes this receive revert too.
        extcall self.escrow.confirm(self.reenter_order)
        extcall self.escrow.withdraw(empty(address))
        self.reentered = True
    self.received += msg.value
