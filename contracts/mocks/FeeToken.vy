# pragma version 0.4.3
"""
@title FeeToken
@notice Test-only ERC-20 that burns 1 % of every transfer (fee on transfer).
"""
from . import TokenBase
initializes: TokenBase
exports: (TokenBase.balanceOf, TokenBase.allowance, TokenBase.totalSupply)

FEE_BPS: constant(uint256) = 100


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
    TokenBase._move(msg.sender, to, amount, FEE_BPS)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    TokenBase._spend(owner, amount)
    TokenBase._move(owner, to, amount, FEE_BPS)
    return True
