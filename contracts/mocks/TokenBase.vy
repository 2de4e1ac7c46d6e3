# pragma version 0.4.3
"""
@title TokenBase
@notice Test-only module: balances and allowances for the odd ERC-20 mocks.
"""

balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
totalSupply: public(uint256)


@internal
def _move(owner: address, to: address, amount: uint256, fee_bps: uint256):
    self.balanceOf[owner] -= amount
    fee: uint256 = amount * fee_bps // 10_000
    self.balanceOf[to] += amount - fee
    self.totalSupply -= fee


@internal
def _spend(owner: address, amount: uint256):
    self.allowance[owner][msg.sender] -= amount
