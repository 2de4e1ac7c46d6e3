# pragma version 0.4.3
"""
@title JudgeCrowd
@notice Test mock: seats many judges quickly. `spawn` makes copies of this contract,
        funds each with SEC it holds and has each stake as a judge (a contract can be
        a judge like any account).
@license AGPL-3.0-only
"""

interface IToken:
    def transfer(to: address, amount: uint256) -> bool: nonpayable
    def approve(spender: address, amount: uint256) -> bool: nonpayable

interface IJudgeStaking:
    def stake_judge(amount: uint256): nonpayable
    def withdraw_judge(amount: uint256): nonpayable

interface ISelf:
    def stake(token: address, staking: address, amount: uint256): nonpayable
    def leave(staking: address, amount: uint256): nonpayable

MAX_SPAWN: constant(uint256) = 64

# The judges this contract spawned (kept in the spawning contract's storage).
spawned: public(DynArray[address, 128])


@external
def stake(token: address, staking: address, amount: uint256):
    """
    @notice Stakes `amount` of this contract's SEC as a judge.
    """
    extcall IToken(token).approve(staking, amount)
    extcall IJudgeStaking(staking).stake_judge(amount)


@external
def spawn(token: address, staking: address, count: uint256, amount: uint256):
    """
    @notice Creates `count` judges staking `amount` each, from this contract's SEC.
    """
    for i: uint256 in range(MAX_SPAWN):
        if i >= count:
            break
        judge: address = create_copy_of(self)
        extcall IToken(token).transfer(judge, amount)
        extcall ISelf(judge).stake(token, staking, amount)
        self.spawned.append(judge)


@external
def leave(staking: address, amount: uint256):
    """
    @notice Withdraws `amount` of this contract's judge stake (its seat is freed at 0).
    """
    extcall IJudgeStaking(staking).withdraw_judge(amount)


@external
def dismiss(staking: address, amount: uint256):
    """
    @notice Every spawned judge withdraws `amount`, the last spawned first.
    """
    count: uint256 = len(self.spawned)
    for i: uint256 in range(128):
        if i >= count:
            break
        extcall ISelf(self.spawned[count - 1 - i]).leave(staking, amount)
