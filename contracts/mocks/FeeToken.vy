# pragma version 0.4.3
"""
@title FeeToken
@notice Test-only ERC-20 that burns a fee of every transfer (fee on transfer): 1 % from
        deployment, changeable at any time (a token that starts taking a fee later).
"""
from . import TokenBase
initializes: TokenBase
exports: (TokenBase.balanceOf, TokenBase.allowance, TokenBase.totalSupply)

fee_bps: public(uint256)


@deploy
def __init__():
    self.fee_bps = 100


@external
def set_fee(fee_bps: uint256):
    self.fee_bps = fee_bps


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
    TokenBase._move(msg.sender, to, amount, self.fee_bps)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    TokenBase._spend(owner, amount)
    TokenBase._move(owner, to, amount, self.fee_bps)
    return True
