# pragma version 0.4.3
"""
@title NoReturnToken
@notice Test-only ERC-20 whose transfer/transferFrom return nothing (like USDT).
"""
from . import TokenBase
initializes: TokenBase
exports: (TokenBase.balanceOf, TokenBase.allowance, TokenBase.totalSupply)


@external
def mint(to: address, amount: uint256):
    TokenBase.balanceOf[to] += amount
    TokenBase.totalSupply += amount


@external
def approve(spender: address, amount: uint256) -> bool:
    TokenBase.allowance[msg.sender][spender] = amount
    return True


@external
def transfer(to: address, amount: uint256):
    TokenBase._move(msg.sender, to, amount, 0)


@external
def transferFrom(owner: address, to: address, amount: uint256):
    TokenBase._spend(owner, amount)
    TokenBase._move(owner, to, amount, 0)
