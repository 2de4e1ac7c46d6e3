# pragma version 0.4.3
"""
@title Staking
@notice Stakes SEC for the roles that keep SEC honest. This contract holds the judges'
        part: `stake_judge` (at least MIN_JUDGE_STAKE; disabled accounts refused),
        `withdraw_judge` at once unless the judge sits on an open Court case, `is_judge`.
        Judges who do not vote lose a small part of their stake to the judges who did.
        Payouts are pulled: `claimable` / `claim`.
@custom:security The Court (set once by the owner) locks and unlocks panel judges and
                 moves penalties; nobody else can touch a stake. SEC moves by
                 transferFrom/transfer of the SEC token only.
@license AGPL-3.0-only
"""

from snekmate.auth import ownable
initializes: ownable
exports: (ownable.owner, ownable.transfer_ownership)

from ethereum.ercs import IERC20
from .interfaces import IStaking
from .interfaces import ITrustIndex

implements: IStaking

interface IBurnable:
    def burn(amount: uint256): nonpayable


# ---------------------------------------------------------------- #
#                            constants                             #
# ---------------------------------------------------------------- #

MAX_JUDGES: public(constant(uint256)) = 128
MAX_BENEFICIARIES: constant(uint256) = 8


# ---------------------------------------------------------------- #
#                            immutables                            #
# ---------------------------------------------------------------- #

SEC_TOKEN: public(immutable(IERC20))
TRUST_INDEX: public(immutable(ITrustIndex))
_MIN_JUDGE_STAKE: immutable(uint256)
_MIN_VALIDATOR_STAKE: immutable(uint256)
_UNBONDING_PERIOD: immutable(uint256)


# ---------------------------------------------------------------- #
#                             storage                              #
# ---------------------------------------------------------------- #

court: public(address)
judge_stake: public(HashMap[address, uint256])
open_cases: public(HashMap[address, uint256])
claimable: public(HashMap[address, uint256])
_judges: DynArray[address, MAX_JUDGES]
_judge_slot: HashMap[address, uint256]  # index in _judges + 1


# ---------------------------------------------------------------- #
#                              events                              #
# ---------------------------------------------------------------- #

event Staked:
    account: indexed(address)
    role: uint8
    amount: uint256
    total: uint256

event Withdrawn:
    account: indexed(address)
    amount: uint256

event JudgeLocked:
    judge: indexed(address)
    open_cases: uint256

event JudgeUnlocked:
    judge: indexed(address)
    open_cases: uint256

event JudgePenalized:
    judge: indexed(address)
    amount: uint256
    burned: uint256

event RewardClaimed:
    account: indexed(address)
    amount: uint256

event CourtSet:
    court: indexed(address)


@deploy
def __init__(
    sec_token: IERC20,
    trust_index: ITrustIndex,
    min_judge_stake: uint256,
    min_validator_stake: uint256,
    unbonding_period: uint256,
):
    ownable.__init__()
    SEC_TOKEN = sec_token
    TRUST_INDEX = trust_index
    _MIN_JUDGE_STAKE = min_judge_stake
    _MIN_VALIDATOR_STAKE = min_validator_stake
    _UNBONDING_PERIOD = unbonding_period


@external
def set_court(court: address):
    """
    @notice Binds the Court, once.
    @custom:security Owner only.
    """
    ownable._check_owner()
    assert self.court == empty(address), "staking: court already set"
    self.court = court
    log CourtSet(court=court)


# ---------------------------------------------------------------- #
#                              judges                              #
# ---------------------------------------------------------------- #

@external
@nonreentrant
def stake_judge(amount: uint256):
    """
    @notice Stakes `amount` SEC as a judge (approve first); the total must reach the minimum.
    """
    assert amount > 0, "staking: nothing to stake"
    assert not staticcall TRUST_INDEX.is_disabled(msg.sender), "staking: account is disabled"
    total: uint256 = self.judge_stake[msg.sender] + amount
    assert total >= _MIN_JUDGE_STAKE, "staking: below minimum stake"
    if self._judge_slot[msg.sender] == 0:
        assert len(self._judges) < MAX_JUDGES, "staking: judge list full"
        self._judges.append(msg.sender)
        self._judge_slot[msg.sender] = len(self._judges)
    self.judge_stake[msg.sender] = total
    log Staked(account=msg.sender, role=2, amount=amount, total=total)
    assert extcall SEC_TOKEN.transferFrom(msg.sender, self, amount, default_return_value=True), "staking: transfer failed"


@external
@nonreentrant
def withdraw_judge(amount: uint256):
    """
    @notice Withdraws judge stake at once, unless the judge sits on an open case. What
            remains must be zero or at least the minimum.
    """
    assert self.open_cases[msg.sender] == 0, "staking: judge is on an open case"
    stake: uint256 = self.judge_stake[msg.sender]
    assert amount > 0 and amount <= stake, "staking: amount exceeds stake"
    remaining: uint256 = stake - amount
    assert remaining == 0 or remaining >= _MIN_JUDGE_STAKE, "staking: below minimum stake"
    self.judge_stake[msg.sender] = remaining
    if remaining == 0:
        self._remove_judge(msg.sender)
    log Withdrawn(account=msg.sender, amount=amount)
    assert extcall SEC_TOKEN.transfer(msg.sender, amount, default_return_value=True), "staking: transfer failed"


@external
def lock_judge(judge: address):
    """
    @custom:security Court only: `judge` was drawn for a case.
    """
    assert msg.sender == self.court, "staking: caller is not the court"
    count: uint256 = self.open_cases[judge] + 1
    self.open_cases[judge] = count
    log JudgeLocked(judge=judge, open_cases=count)


@external
def unlock_judge(judge: address):
    """
    @custom:security Court only: a case of `judge` was executed.
    """
    assert msg.sender == self.court, "staking: caller is not the court"
    count: uint256 = self.open_cases[judge] - 1
    self.open_cases[judge] = count
    log JudgeUnlocked(judge=judge, open_cases=count)


@external
def penalize_judge(judge: address, amount: uint256, beneficiaries: DynArray[address, MAX_BENEFICIARIES]):
    """
    @notice Moves up to `amount` of `judge`'s stake to `beneficiaries` (equal shares,
            dust to the first, credited for `claim`), or burns it when there are none.
    @custom:security Court only.
    """
    assert msg.sender == self.court, "staking: caller is not the court"
    stake: uint256 = self.judge_stake[judge]
    take: uint256 = min(amount, stake)
    if take == 0:
        return
    self.judge_stake[judge] = stake - take
    burned: uint256 = 0
    if len(beneficiaries) == 0:
        burned = take
    else:
        share: uint256 = take // len(beneficiaries)
        self.claimable[beneficiaries[0]] += take - share * (len(beneficiaries) - 1)
        for i: uint256 in range(1, MAX_BENEFICIARIES):
            if i >= len(beneficiaries):
                break
            self.claimable[beneficiaries[i]] += share
    log JudgePenalized(judge=judge, amount=take, burned=burned)
    if burned > 0:
        extcall IBurnable(SEC_TOKEN.address).burn(burned)


@external
@nonreentrant
def claim():
    """
    @notice Pays the caller everything credited to it (penalties shared, later rewards).
    """
    amount: uint256 = self.claimable[msg.sender]
    assert amount > 0, "staking: nothing to claim"
    self.claimable[msg.sender] = 0
    log RewardClaimed(account=msg.sender, amount=amount)
    assert extcall SEC_TOKEN.transfer(msg.sender, amount, default_return_value=True), "staking: transfer failed"


# ---------------------------------------------------------------- #
#                              views                               #
# ---------------------------------------------------------------- #

@view
@external
def is_judge(account: address) -> bool:
    """
    @notice Bonded at least the minimum as a judge and not disabled.
    """
    if self.judge_stake[account] < _MIN_JUDGE_STAKE:
        return False
    return not staticcall TRUST_INDEX.is_disabled(account)


@view
@external
def judges() -> DynArray[address, MAX_JUDGES]:
    """
    @notice Every account holding judge stake (eligibility: `is_judge`).
    """
    return self._judges


@view
@external
def stake_of(account: address) -> uint256:
    """
    @notice Bonded stake of `account` (judge stake; validator stake joins it later).
    """
    return self.judge_stake[account]


@view
@external
def min_judge_stake() -> uint256:
    return _MIN_JUDGE_STAKE


@view
@external
def min_validator_stake() -> uint256:
    return _MIN_VALIDATOR_STAKE


@view
@external
def unbonding_period() -> uint256:
    return _UNBONDING_PERIOD


@internal
def _remove_judge(judge: address):
    slot: uint256 = self._judge_slot[judge]
    if slot == 0:
        return
    last: address = self._judges.pop()
    if last != judge:
        self._judges[slot - 1] = last
        self._judge_slot[last] = slot
    self._judge_slot[judge] = 0
