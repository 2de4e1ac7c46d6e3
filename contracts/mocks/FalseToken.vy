# pragma version 0.4.3
"""
@title FalseToken
@notice Test-only ERC-20 that returns false instead of reverting, and moves nothing,
        whenever `failing` is set; reverts with a reason whenever `reverting` is set.
"""
from . import TokenBase
initializes: TokenBase
exports: (TokenBase.balanceOf, TokenBase.allowance, TokenBase.totalSupply)

failing: public(bool)
reverting: public(bool)


@external
def set_failing(failing: bool):
    self.failing = failing


@external
def set_reverting(reverting: bool):
    self.reverting = reverting


@external
def mint(to: address, amount: uint256):
    TokenBase.balanceOf[to] += amount
    TokenBase.totalSupply += amount


@external
def approve(spender: address, amount: uint256) -> bool:
    TokenBase.allowance[msg.sender][spender] = amount
    return True


@external
def transfer(to: address, amount: uint256) -> bool:
    assert not self.reverting, "token: transfers frozen"
    if self.failing:
        return False
    TokenBase._move(msg.sender, to, amount, 0)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    assert not self.reverting, "token: transfers frozen"
    if self.failing:
        return False
    TokenBase._spend(owner, amount)
    TokenBase._move(owner, to, amount, 0)
    return True
