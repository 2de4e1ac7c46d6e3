# pragma version 0.4.3
"""
@title Vesting
@notice Vesting schedules for the genesis allocation:
        team 25 % at start, then 25 % every 365 days (all after 3 years);
        foundation 20 % at start, the remaining 80 % in three equal yearly tranches;
        angel round 50 % at start, 50 % after 3 months (90 days).
        Anyone may call `release(beneficiary)`; the tokens always go to the beneficiary.
@dev One beneficiary may hold several schedules (a development deployment gives all
     three to one account); `releasable` sums them.
@custom:security The deployer binds the token once (`set_token`), which requires the
                 token to have minted the full vested amount here; nothing else is
                 privileged.
@license AGPL-3.0-only
"""

from ethereum.ercs import IERC20


# ---------------------------------------------------------------- #
#                            constants                             #
# ---------------------------------------------------------------- #

YEAR: constant(uint256) = 365 * 86400
ANGEL_CLIFF: constant(uint256) = 90 * 86400
KINDS: constant(uint256) = 3
KIND_TEAM: constant(uint256) = 0
KIND_FOUNDATION: constant(uint256) = 1
KIND_ANGEL: constant(uint256) = 2

GENESIS_SUPPLY: constant(uint256) = 1_500_000_000 * 10**18
TEAM_AMOUNT: public(constant(uint256)) = GENESIS_SUPPLY * 10 // 100
FOUNDATION_AMOUNT: public(constant(uint256)) = GENESIS_SUPPLY * 10 // 100
ANGEL_AMOUNT: public(constant(uint256)) = GENESIS_SUPPLY * 7 // 100


# ---------------------------------------------------------------- #
#                            immutables                            #
# ---------------------------------------------------------------- #

START: public(immutable(uint256))
_DEPLOYER: immutable(address)


# ---------------------------------------------------------------- #
#                             storage                              #
# ---------------------------------------------------------------- #

token: public(IERC20)
_total: HashMap[address, uint256[KINDS]]
released: public(HashMap[address, uint256])


# ---------------------------------------------------------------- #
#                              events                              #
# ---------------------------------------------------------------- #

event ScheduleCreated:
    beneficiary: indexed(address)
    kind: uint256
    amount: uint256

event TokenBound:
    token: indexed(address)

event Released:
    beneficiary: indexed(address)
    amount: uint256


@deploy
def __init__(team: address, foundation: address, angel: address, start: uint256):
    """
    @param team Beneficiary of the founding team's 10 %.
    @param foundation Beneficiary of the foundation's 10 %.
    @param angel Beneficiary of the angel round's 7 %.
    @param start Schedule start (unix time); 0 means the deployment block's time.
    """
    assert team != empty(address) and foundation != empty(address) and angel != empty(address), "vesting: zero beneficiary"
    START = start if start != 0 else block.timestamp
    _DEPLOYER = msg.sender
    self._total[team][KIND_TEAM] = TEAM_AMOUNT
    self._total[foundation][KIND_FOUNDATION] = FOUNDATION_AMOUNT
    self._total[angel][KIND_ANGEL] = ANGEL_AMOUNT
    log ScheduleCreated(beneficiary=team, kind=KIND_TEAM, amount=TEAM_AMOUNT)
    log ScheduleCreated(beneficiary=foundation, kind=KIND_FOUNDATION, amount=FOUNDATION_AMOUNT)
    log ScheduleCreated(beneficiary=angel, kind=KIND_ANGEL, amount=ANGEL_AMOUNT)


@external
def set_token(token: IERC20):
    """
    @notice Binds the SEC token once it has minted the vested parts to this contract.
    @custom:security Deployer only, once.
    """
    assert msg.sender == _DEPLOYER, "vesting: caller is not the deployer"
    assert self.token.address == empty(address), "vesting: token already set"
    assert staticcall token.balanceOf(self) >= TEAM_AMOUNT + FOUNDATION_AMOUNT + ANGEL_AMOUNT, "vesting: token not funded"
    self.token = token
    log TokenBound(token=token.address)


@view
@external
def vested(beneficiary: address) -> uint256:
    """
    @notice Total vested so far for `beneficiary`, released or not.
    """
    return self._vested(beneficiary, block.timestamp)


@view
@external
def total_of(beneficiary: address) -> uint256:
    """
    @notice Everything `beneficiary` will ever receive.
    """
    schedules: uint256[KINDS] = self._total[beneficiary]
    return schedules[0] + schedules[1] + schedules[2]


@view
@external
def releasable(beneficiary: address) -> uint256:
    """
    @notice What `release(beneficiary)` would transfer now.
    """
    return self._vested(beneficiary, block.timestamp) - self.released[beneficiary]


@external
@nonreentrant
def release(beneficiary: address):
    """
    @notice Transfers everything vested and not yet released to `beneficiary`.
    """
    assert self.token.address != empty(address), "vesting: token not set"
    amount: uint256 = self._vested(beneficiary, block.timestamp) - self.released[beneficiary]
    assert amount > 0, "vesting: nothing to release"
    self.released[beneficiary] += amount
    log Released(beneficiary=beneficiary, amount=amount)
    assert extcall self.token.transfer(beneficiary, amount, default_return_value=True), "vesting: transfer failed"


@view
@internal
def _vested(beneficiary: address, now: uint256) -> uint256:
    if now < START:
        return 0
    years: uint256 = (now - START) // YEAR
    schedules: uint256[KINDS] = self._total[beneficiary]
    total: uint256 = 0

    team: uint256 = schedules[KIND_TEAM]
    total += team * min(years + 1, 4) // 4

    foundation: uint256 = schedules[KIND_FOUNDATION]
    if years >= 3:
        total += foundation
    else:
        upfront: uint256 = foundation * 20 // 100
        total += upfront + (foundation - upfront) * years // 3

    angel: uint256 = schedules[KIND_ANGEL]
    if now - START >= ANGEL_CLIFF:
        total += angel
    else:
        total += angel // 2
    return total
