# pragma version 0.4.3
"""
@title Staking
@notice Stakes SEC for the roles that keep SEC honest.
        Validators: `stake_validator(area_id, amount)` (at least MIN_VALIDATOR_STAKE),
        counted for their area's quorum as soon as bonded; `unbond` then `withdraw` after
        UNBONDING_PERIOD, which is at least the evidence window, so a validator that
        double-signs and unbonds can still be slashed until it withdraws. `slash`
        (the slasher, AnchorHub) takes a fraction of bonded plus unbonding stake, bonded
        first: BURN_BPS is burned, BOUNTY_BPS credited to the reporter, the rest to the
        area's other bonded validators pro rata through a per-area accumulator (so the
        cost does not grow with the validator count); an offence id never slashes twice;
        a slashed validator is ejected and its remaining stake unbonds.
        Judges: `stake_judge` (at least MIN_JUDGE_STAKE), `withdraw_judge` at once unless
        the judge sits on an open Court case, `is_judge`; judges who do not vote lose a
        small part of their stake to the judges who did.
        Disabled accounts are refused. Payouts are pulled: `claimable` / `claim`.
@custom:security The Court (set once) locks, unlocks and penalizes judges; the slasher
                 (set once, AnchorHub) slashes validators; nobody else can touch a
                 stake. SEC moves by transferFrom/transfer of the SEC token only.
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

interface IAnchorWeights:
    def set_weight(validator: address, area_id: uint256, stake: uint256, area_total: uint256): nonpayable
    def latest_height_from(area_id: uint256, known: uint256) -> uint256: view


# ---------------------------------------------------------------- #
#                            constants                             #
# ---------------------------------------------------------------- #

MAX_JUDGES: public(constant(uint256)) = 128
PANEL_SIZE: constant(uint256) = 3
# Random seat picks per draw before the draw falls back to a scan of the seats.
MAX_DRAW_TRIES: constant(uint256) = 16
_SEAT_SINCE: constant(uint256) = 160
_SEAT_OPEN: constant(uint256) = 200
_SEAT_ACTIVE: constant(uint256) = 1 << 232
_SEAT_NEXT: constant(uint256) = 240
_MASK_8: constant(uint256) = 255
_MASK_32: constant(uint256) = 2**32 - 1
_MASK_40: constant(uint256) = 2**40 - 1
_ADDR: constant(uint256) = 2**160 - 1
MAX_BENEFICIARIES: constant(uint256) = 8
MAX_VALIDATORS: public(constant(uint256)) = 64
BPS: constant(uint256) = 10_000
# Accumulator precision: redistributed SEC per unit of bonded stake, scaled.
_PRECISION: constant(uint256) = 10**36
_MASK_64: constant(uint256) = 2**64 - 1
_MASK_128: constant(uint256) = 2**128 - 1


# ---------------------------------------------------------------- #
#                            immutables                            #
# ---------------------------------------------------------------- #

SEC_TOKEN: public(immutable(IERC20))
TRUST_INDEX: public(immutable(ITrustIndex))
_MIN_JUDGE_STAKE: immutable(uint256)
_MIN_VALIDATOR_STAKE: immutable(uint256)
_UNBONDING_PERIOD: immutable(uint256)
BURN_BPS: public(immutable(uint256))
BOUNTY_BPS: public(immutable(uint256))
FAULT_SLASH_BPS: public(immutable(uint256))
REWARD_PER_HEADER: public(immutable(uint256))


# ---------------------------------------------------------------- #
#                             storage                              #
# ---------------------------------------------------------------- #

court: public(address)
slasher: public(address)
judge_stake: public(HashMap[address, uint256])
_credited: HashMap[address, uint256]

# One word per validator, so a quorum check reads one slot per signer:
# pool weight (bits 0-127: own bonded + nominated while active, else 0) | area id
# (128-191) | ejected (192)
_validator: HashMap[address, uint256]
area_stake: public(HashMap[uint256, uint256])
own_stake: public(HashMap[address, uint256])
nominated: public(HashMap[address, uint256])
nom_unbonding: public(HashMap[address, uint256])
nom_release: public(HashMap[address, uint256])
reward_pool: public(uint256)
rewarded_height: public(HashMap[uint256, uint256])
_nom_shares: HashMap[address, HashMap[address, uint256]]  # [nominator][validator]
_nom_shares_total: HashMap[address, uint256]
_nom_acc: HashMap[address, uint256]
_nom_debt: HashMap[address, HashMap[address, uint256]]
unbonding_of: public(HashMap[address, uint256])
unbonding_release: public(HashMap[address, uint256])
offence_slashed: public(HashMap[bytes32, bool])
faults_of: public(HashMap[address, uint256])
fault_recorded: public(HashMap[bytes32, bool])
_validators: HashMap[uint256, DynArray[address, MAX_VALIDATORS]]
_validator_slot: HashMap[address, uint256]
_area_acc: HashMap[uint256, uint256]
_acc_debt: HashMap[address, uint256]
_judge_slot: HashMap[address, uint256]  # the judge's seat + 1 (0: no seat)
# Judge seats never move: a judge keeps its seat from joining until it withdraws all its
# stake; a freed seat is reused by the next judge to join. One word per seat, so a draw
# reads and locks a judge with one slot: judge (bits 0-159) | since_block (160-199, the
# block it last became eligible) | open cases (200-231) | active (232: stake at least the
# minimum) | next free seat + 1 (240-247, only in a free seat).
_judge_seats: HashMap[uint256, uint256]
# seats ever used (bits 0-7) | first free seat + 1 (8-15)
_judge_book: uint256


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

event JudgeJoined:
    judge: indexed(address)
    seat: uint256
    since_block: uint256

event JudgeLeft:
    judge: indexed(address)
    seat: uint256
    seat_freed: bool

event PanelLocked:
    judges: address[PANEL_SIZE]

event PanelReleased:
    judges: address[PANEL_SIZE]

event JudgePenalized:
    judge: indexed(address)
    amount: uint256
    burned: uint256

event RewardClaimed:
    account: indexed(address)
    amount: uint256

event CourtSet:
    court: indexed(address)

event SlasherSet:
    slasher: indexed(address)

event UnbondStarted:
    validator: indexed(address)
    amount: uint256
    release_at: uint256

event Slashed:
    validator: indexed(address)
    amount: uint256
    burned: uint256
    bounty: uint256
    reporter: indexed(address)
    offence_id: indexed(bytes32)

event Nominated:
    nominator: indexed(address)
    validator: indexed(address)
    amount: uint256

event NominationUnbonded:
    nominator: indexed(address)
    validator: indexed(address)
    amount: uint256
    release_at: uint256

event RewardsFunded:
    funder: indexed(address)
    amount: uint256

event RewardsDistributed:
    area_id: indexed(uint256)
    headers: uint256
    amount: uint256

event FaultRecorded:
    validator: indexed(address)
    offence_id: indexed(bytes32)
    faults: uint256

event RewardsWithheld:
    validator: indexed(address)
    amount: uint256

event Ejected:
    validator: indexed(address)
    area_id: indexed(uint256)


@deploy
def __init__(
    sec_token: IERC20,
    trust_index: ITrustIndex,
    min_judge_stake: uint256,
    min_validator_stake: uint256,
    unbonding_period: uint256,
    burn_bps: uint256,
    bounty_bps: uint256,
    fault_slash_bps: uint256,
    reward_per_header: uint256,
):
    assert burn_bps + bounty_bps <= BPS, "staking: bad slash split"
    assert fault_slash_bps <= BPS, "staking: bad fault slash"
    ownable.__init__()
    FAULT_SLASH_BPS = fault_slash_bps
    REWARD_PER_HEADER = reward_per_header
    BURN_BPS = burn_bps
    BOUNTY_BPS = bounty_bps
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


@external
def set_slasher(slasher: address):
    """
    @notice Binds the slasher (AnchorHub), once.
    @custom:security Owner only.
    """
    ownable._check_owner()
    assert self.slasher == empty(address), "staking: slasher already set"
    self.slasher = slasher
    log SlasherSet(slasher=slasher)


# ---------------------------------------------------------------- #
#                            validators                            #
# ---------------------------------------------------------------- #

@external
@nonreentrant
def stake_validator(area_id: uint256, amount: uint256):
    """
    @notice Stakes `amount` SEC as a validator of `area_id` (approve first). One area per
            validator; its own bonded stake must reach the minimum.
    """
    assert area_id != 0 and area_id <= _MASK_64, "staking: bad area id"
    assert amount > 0, "staking: nothing to stake"
    # AnchorHub mirrors quorum weights from the first stake on.
    assert self.slasher != empty(address), "staking: anchor hub not set"
    assert not self._ejected(msg.sender), "staking: validator was ejected"
    assert not staticcall TRUST_INDEX.is_disabled(msg.sender), "staking: account is disabled"
    current: uint256 = self._area_of(msg.sender)
    assert current == 0 or current == area_id, "staking: validator of another area"
    own: uint256 = self.own_stake[msg.sender] + amount
    assert own >= _MIN_VALIDATOR_STAKE, "staking: below minimum stake"
    self._distribute(area_id)
    self._settle_pool(msg.sender, area_id)
    self.own_stake[msg.sender] = own
    self._set_validator(msg.sender, self._stake(msg.sender), area_id, False)
    self._refresh_weight(msg.sender, area_id)
    log Staked(account=msg.sender, role=1, amount=amount, total=own)
    assert extcall SEC_TOKEN.transferFrom(msg.sender, self, amount, default_return_value=True), "staking: transfer failed"


@external
def unbond(amount: uint256):
    """
    @notice Starts unbonding `amount` of own validator stake; it can be withdrawn after
            UNBONDING_PERIOD (a new unbond restarts the clock) and stays slashable until
            then. What stays bonded must be zero or at least the minimum.
    """
    own: uint256 = self.own_stake[msg.sender]
    assert amount > 0 and amount <= own, "staking: amount exceeds stake"
    remaining: uint256 = own - amount
    assert remaining == 0 or remaining >= _MIN_VALIDATOR_STAKE, "staking: below minimum stake"
    area_id: uint256 = self._area_of(msg.sender)
    self._distribute(area_id)
    self._settle_pool(msg.sender, area_id)
    self.own_stake[msg.sender] = remaining
    self._add_unbonding(msg.sender, amount)
    self._refresh_weight(msg.sender, area_id)


@external
@nonreentrant
def withdraw():
    """
    @notice Withdraws validator stake whose unbonding period is over.
    """
    amount: uint256 = self.unbonding_of[msg.sender]
    assert amount > 0, "staking: nothing to withdraw"
    assert block.timestamp >= self.unbonding_release[msg.sender], "staking: still unbonding"
    self.unbonding_of[msg.sender] = 0
    if self.own_stake[msg.sender] == 0 and self.nominated[msg.sender] == 0:
        self._set_validator(msg.sender, 0, 0, self._ejected(msg.sender))
    log Withdrawn(account=msg.sender, amount=amount)
    assert extcall SEC_TOKEN.transfer(msg.sender, amount, default_return_value=True), "staking: transfer failed"


@external
@nonreentrant
def nominate(validator: address, amount: uint256):
    """
    @notice Backs `validator` with `amount` SEC (approve first): the nomination counts in
            its quorum weight and shares its rewards and slashes pro rata.
    """
    assert amount > 0, "staking: nothing to stake"
    area_id: uint256 = self._area_of(validator)
    assert area_id != 0 and self._stake(validator) > 0, "staking: not an active validator"
    assert not staticcall TRUST_INDEX.is_disabled(msg.sender), "staking: account is disabled"
    self._distribute(area_id)
    self._settle_pool(validator, area_id)
    self._settle_nominator(msg.sender, validator)
    total_shares: uint256 = self._nom_shares_total[validator]
    value: uint256 = self.nominated[validator]
    shares: uint256 = amount
    if total_shares > 0 and value > 0:
        shares = amount * total_shares // value
    assert shares > 0, "staking: nomination too small"
    self._nom_shares[msg.sender][validator] += shares
    self._nom_shares_total[validator] = total_shares + shares
    self.nominated[validator] = value + amount
    self._nom_debt[msg.sender][validator] = self._nom_shares[msg.sender][validator] * self._nom_acc[validator] // _PRECISION
    self._refresh_weight(validator, area_id)
    log Nominated(nominator=msg.sender, validator=validator, amount=amount)
    assert extcall SEC_TOKEN.transferFrom(msg.sender, self, amount, default_return_value=True), "staking: transfer failed"


@external
def unnominate(validator: address, amount: uint256):
    """
    @notice Starts unbonding `amount` of the caller's nomination of `validator`
            (withdrawable after UNBONDING_PERIOD with `withdraw_nomination`).
    """
    area_id: uint256 = self._area_of(validator)
    self._distribute(area_id)
    self._settle_pool(validator, area_id)
    self._settle_nominator(msg.sender, validator)
    mine: uint256 = self._nom_shares[msg.sender][validator]
    total_shares: uint256 = self._nom_shares_total[validator]
    value: uint256 = self.nominated[validator]
    assert amount > 0 and total_shares > 0 and amount <= mine * value // total_shares, "staking: amount exceeds nomination"
    burn: uint256 = min(mine, (amount * total_shares + value - 1) // value)
    self._nom_shares[msg.sender][validator] = mine - burn
    self._nom_shares_total[validator] = total_shares - burn
    self.nominated[validator] = value - amount
    self._nom_debt[msg.sender][validator] = (mine - burn) * self._nom_acc[validator] // _PRECISION
    self.nom_unbonding[msg.sender] += amount
    release_at: uint256 = block.timestamp + _UNBONDING_PERIOD
    self.nom_release[msg.sender] = release_at
    self._refresh_weight(validator, area_id)
    log NominationUnbonded(nominator=msg.sender, validator=validator, amount=amount, release_at=release_at)


@external
@nonreentrant
def withdraw_nomination():
    """
    @notice Withdraws nominations whose unbonding period is over.
    """
    amount: uint256 = self.nom_unbonding[msg.sender]
    assert amount > 0, "staking: nothing to withdraw"
    assert block.timestamp >= self.nom_release[msg.sender], "staking: still unbonding"
    self.nom_unbonding[msg.sender] = 0
    log Withdrawn(account=msg.sender, amount=amount)
    assert extcall SEC_TOKEN.transfer(msg.sender, amount, default_return_value=True), "staking: transfer failed"


@external
@nonreentrant
def fund_rewards(amount: uint256):
    """
    @notice Adds `amount` SEC to the pool that pays REWARD_PER_HEADER per anchored header.
    """
    assert amount > 0, "staking: nothing to fund"
    self.reward_pool += amount
    log RewardsFunded(funder=msg.sender, amount=amount)
    assert extcall SEC_TOKEN.transferFrom(msg.sender, self, amount, default_return_value=True), "staking: transfer failed"


@external
def distribute_rewards(area_id: uint256):
    """
    @notice Credits REWARD_PER_HEADER for every header of `area_id` anchored since the last
            distribution (as far as the pool holds) to the area's bonded pools, pro rata
            to their weight; within a pool validator and nominators share pro rata.
            Also runs before every change of stake in the area.
    @custom:security Anyone.
    """
    self._distribute(area_id)


@external
def slash(validator: address, fraction_bps: uint256, reporter: address, offence_id: bytes32) -> uint256:
    """
    @notice Slashes `fraction_bps` of `validator`'s bonded plus unbonding stake (bonded
            first) and of its nominations, and ejects it. Returns the amount slashed.
    @custom:security Slasher (AnchorHub) only; each offence id at most once.
    """
    assert msg.sender == self.slasher, "staking: caller is not the slasher"
    return self._slash(validator, fraction_bps, reporter, offence_id)


@external
def record_fault(validator: address, offence_id: bytes32):
    """
    @notice Records a validator fault (a missed or invalid attestation found off chain).
            The first fault withholds the pool's pending rewards (they are burned);
            each further fault slashes FAULT_SLASH_BPS like `slash`, with no bounty
            (burned too).
    @custom:security The slasher (AnchorHub) or the owner (governance); each offence id once.
    """
    assert msg.sender == self.slasher or msg.sender == ownable.owner, "staking: caller cannot record faults"
    assert not self.fault_recorded[offence_id], "staking: fault already recorded"
    area_id: uint256 = self._area_of(validator)
    assert area_id != 0, "staking: not a validator"
    self.fault_recorded[offence_id] = True
    faults: uint256 = self.faults_of[validator] + 1
    self.faults_of[validator] = faults
    log FaultRecorded(validator=validator, offence_id=offence_id, faults=faults)
    if faults == 1:
        self._distribute(area_id)
        withheld: uint256 = self._pool_pending(validator, area_id)
        self._acc_debt[validator] = self._stake(validator) * self._area_acc[area_id] // _PRECISION
        log RewardsWithheld(validator=validator, amount=withheld)
        if withheld > 0:
            extcall IBurnable(SEC_TOKEN.address).burn(withheld)
    else:
        self._slash(validator, FAULT_SLASH_BPS, empty(address), offence_id)


@internal
def _slash(validator: address, fraction_bps: uint256, reporter: address, offence_id: bytes32) -> uint256:
    assert fraction_bps <= BPS, "staking: bad fraction"
    assert not self.offence_slashed[offence_id], "staking: offence already slashed"
    area_id: uint256 = self._area_of(validator)
    assert area_id != 0, "staking: not a validator"
    self.offence_slashed[offence_id] = True
    self._distribute(area_id)
    self._settle_pool(validator, area_id)

    own: uint256 = self.own_stake[validator]
    unbonding: uint256 = self.unbonding_of[validator]
    own_amount: uint256 = (own + unbonding) * fraction_bps // BPS
    from_bonded: uint256 = min(own_amount, own)
    nominated_amount: uint256 = self.nominated[validator] * fraction_bps // BPS
    self.nominated[validator] -= nominated_amount
    amount: uint256 = own_amount + nominated_amount

    # Ejected: it no longer counts for quorum and what is left of its own stake unbonds.
    self.own_stake[validator] = 0
    self.unbonding_of[validator] = unbonding - (own_amount - from_bonded)
    if own > from_bonded:
        self._add_unbonding(validator, own - from_bonded)
    self._set_validator(validator, self._stake(validator), area_id, True)
    self._refresh_weight(validator, area_id)
    log Ejected(validator=validator, area_id=area_id)

    burned: uint256 = amount * BURN_BPS // BPS
    bounty: uint256 = amount * BOUNTY_BPS // BPS
    if reporter == empty(address):
        # A fault recorded by governance pays no bounty: that share is burned as well.
        burned += bounty
        bounty = 0
    rest: uint256 = amount - burned - bounty
    if bounty > 0:
        self._credited[reporter] += bounty
    others: uint256 = self.area_stake[area_id]
    if others == 0:
        burned += rest
    else:
        per_unit: uint256 = rest * _PRECISION // others
        self._area_acc[area_id] += per_unit
        # What the accumulator cannot represent exactly is burned.
        burned += rest - per_unit * others // _PRECISION
    log Slashed(validator=validator, amount=amount, burned=burned, bounty=bounty, reporter=reporter, offence_id=offence_id)
    if burned > 0:
        extcall IBurnable(SEC_TOKEN.address).burn(burned)
    return amount


@view
@external
def is_validator(area_id: uint256, account: address) -> bool:
    """
    @notice Bonded (counted for quorum) as a validator of `area_id`, not ejected.
    """
    word: uint256 = self._validator[account]
    return (word >> 128) & _MASK_64 == area_id and word & _MASK_128 > 0 and word >> 192 == 0


@view
@external
def is_slashable(area_id: uint256, account: address) -> bool:
    """
    @notice Bonded or still unbonding as a validator of `area_id` (the evidence window).
    """
    return area_id != 0 and self._area_of(account) == area_id and self.own_stake[account] + self.unbonding_of[account] > 0


@view
@external
def validators_of(area_id: uint256) -> DynArray[address, MAX_VALIDATORS]:
    """
    @notice The bonded validators of `area_id`.
    """
    return self._validators[area_id]


@view
@external
def quorum_stakes(area_id: uint256, signers: DynArray[address, MAX_VALIDATORS]) -> (DynArray[uint256, MAX_VALIDATORS], uint256):
    """
    @notice Each signer's bonded stake in `area_id` (0 when it is not a bonded validator
            there), and the area's total bonded stake: what AnchorHub's quorum needs, in
            one call.
    """
    stakes: DynArray[uint256, MAX_VALIDATORS] = []
    for signer: address in signers:
        word: uint256 = self._validator[signer]
        stake: uint256 = 0
        if (word >> 128) & _MASK_64 == area_id and word >> 192 == 0:
            stake = word & _MASK_128
        stakes.append(stake)
    return stakes, self.area_stake[area_id]


# ---------------------------------------------------------------- #
#                              judges                              #
# ---------------------------------------------------------------- #

@external
@nonreentrant
def stake_judge(amount: uint256):
    """
    @notice Stakes `amount` SEC as a judge (approve first); the total must reach the minimum.
            A new judge takes a free seat (or a new one) and is eligible for disputes
            opened from the next block on; a judge below the minimum (penalized) that
            tops up rejoins the set, eligible again from the next block.
    @param amount SEC to add to the caller's judge stake.
    """
    assert amount > 0, "staking: nothing to stake"
    assert not staticcall TRUST_INDEX.is_disabled(msg.sender), "staking: account is disabled"
    total: uint256 = self.judge_stake[msg.sender] + amount
    assert total >= _MIN_JUDGE_STAKE, "staking: below minimum stake"
    seat1: uint256 = self._judge_slot[msg.sender]
    if seat1 == 0:
        seat1 = self._take_seat(msg.sender) + 1
        self._judge_slot[msg.sender] = seat1
    else:
        word: uint256 = self._judge_seats[seat1 - 1]
        if word & _SEAT_ACTIVE == 0:
            word = (word & ~(_MASK_40 << _SEAT_SINCE)) | (block.number << _SEAT_SINCE) | _SEAT_ACTIVE
            self._judge_seats[seat1 - 1] = word
            log JudgeJoined(judge=msg.sender, seat=seat1 - 1, since_block=block.number)
    self.judge_stake[msg.sender] = total
    log Staked(account=msg.sender, role=2, amount=amount, total=total)
    assert extcall SEC_TOKEN.transferFrom(msg.sender, self, amount, default_return_value=True), "staking: transfer failed"


@external
@nonreentrant
def withdraw_judge(amount: uint256):
    """
    @notice Withdraws judge stake at once, unless the judge sits on an open case. What
            remains must be zero (the judge leaves and frees its seat; no other judge
            moves) or at least the minimum.
    @param amount SEC to withdraw.
    """
    seat1: uint256 = self._judge_slot[msg.sender]
    word: uint256 = 0
    if seat1 != 0:
        word = self._judge_seats[seat1 - 1]
    assert (word >> _SEAT_OPEN) & _MASK_32 == 0, "staking: judge is on an open case"
    stake: uint256 = self.judge_stake[msg.sender]
    assert amount > 0 and amount <= stake, "staking: amount exceeds stake"
    remaining: uint256 = stake - amount
    assert remaining == 0 or remaining >= _MIN_JUDGE_STAKE, "staking: below minimum stake"
    self.judge_stake[msg.sender] = remaining
    if remaining == 0 and seat1 != 0:
        self._free_seat(msg.sender, seat1 - 1)
    log Withdrawn(account=msg.sender, amount=amount)
    assert extcall SEC_TOKEN.transfer(msg.sender, amount, default_return_value=True), "staking: transfer failed"


@external
def draw_panel(seed: bytes32, seat_count: uint256, before_block: uint256, excluded: uint256) -> (uint256, address[PANEL_SIZE]):
    """
    @notice Picks PANEL_SIZE distinct eligible judges from seats [0, seat_count) and locks
            them (one open case more each), in one call: O(panel) reads and writes.
            Eligible: an occupied, active seat (stake at least the minimum) whose judge
            became eligible before `before_block`, is not disabled, and whose seat + 1 is
            not one of the two bytes of `excluded` (the parties).
    @dev Try i < MAX_DRAW_TRIES looks at seat keccak256(seed, i) mod seat_count; later
         tries scan the seats in order, (seed + i) mod seat_count, so every seat is
         looked at and a panel is seated whenever PANEL_SIZE eligible judges exist
         (the scan is reached only when the eligible seats are sparse). A seat already
         looked at, or a party's, is skipped before it is read.
    @param seed The case's randomness (Court: keccak256(blockhash(draw_block), case id)).
    @param seat_count Seats in use when the case was opened.
    @param before_block The block the case was opened in.
    @param excluded buyer seat + 1 (bits 0-7) | seller seat + 1 (bits 8-15), 0 for none.
    @return The panel's seats + 1 packed one byte each (0 when no panel was seated), and
            its judges.
    @custom:security Court only.
    """
    assert msg.sender == self.court, "staking: caller is not the court"
    judges: address[PANEL_SIZE] = empty(address[PANEL_SIZE])
    words: uint256[PANEL_SIZE] = empty(uint256[PANEL_SIZE])
    if seat_count == 0:
        return 0, judges
    # One bit per seat already looked at (the parties' seats count as looked at).
    seen: uint256 = 0
    if excluded & _MASK_8 != 0:
        seen = 1 << ((excluded & _MASK_8) - 1)
    if (excluded >> 8) & _MASK_8 != 0:
        seen |= 1 << (((excluded >> 8) & _MASK_8) - 1)
    panel: uint256 = 0
    found: uint256 = 0
    for i: uint256 in range(MAX_DRAW_TRIES + MAX_JUDGES):
        if found == PANEL_SIZE or i >= MAX_DRAW_TRIES + seat_count:
            break
        seat: uint256 = 0
        if i < MAX_DRAW_TRIES:
            seat = convert(keccak256(abi_encode(seed, i)), uint256) % seat_count
        else:
            seat = (convert(seed, uint256) % seat_count + i) % seat_count
        if seen & (1 << seat) != 0:
            continue
        seen |= 1 << seat
        word: uint256 = self._eligible_seat(seat, before_block)
        if word != 0:
            judges[found] = convert(convert(word & _ADDR, uint160), address)
            words[found] = word
            panel |= (seat + 1) << (8 * found)
            found += 1
    if found < PANEL_SIZE:
        return 0, empty(address[PANEL_SIZE])
    for p: uint256 in range(PANEL_SIZE):
        self._judge_seats[((panel >> (8 * p)) & _MASK_8) - 1] = words[p] + (1 << _SEAT_OPEN)
    log PanelLocked(judges=judges)
    return panel, judges


@external
def release_panel(panel: uint256) -> address[PANEL_SIZE]:
    """
    @notice Unlocks a panel drawn by `draw_panel` (one open case less each).
    @param panel The packed seats + 1 `draw_panel` returned.
    @return The panel's judges.
    @custom:security Court only: the panel's case was executed.
    """
    assert msg.sender == self.court, "staking: caller is not the court"
    judges: address[PANEL_SIZE] = empty(address[PANEL_SIZE])
    for p: uint256 in range(PANEL_SIZE):
        seat: uint256 = ((panel >> (8 * p)) & _MASK_8) - 1
        word: uint256 = self._judge_seats[seat]
        self._judge_seats[seat] = word - (1 << _SEAT_OPEN)
        judges[p] = convert(convert(word & _ADDR, uint160), address)
    log PanelReleased(judges=judges)
    return judges


@external
def penalize_judge(judge: address, amount: uint256, beneficiaries: DynArray[address, MAX_BENEFICIARIES]):
    """
    @notice Moves up to `amount` of `judge`'s stake to `beneficiaries` (equal shares,
            dust to the first, credited for `claim`), or burns it when there are none.
            A judge left below the minimum leaves the judge set (it is drawn no more;
            its seat and its open cases stay until it withdraws the rest).
    @param judge The judge to penalize.
    @param amount SEC to take (clamped to its stake).
    @param beneficiaries Who shares the amount (none: burned).
    @custom:security Court only.
    """
    assert msg.sender == self.court, "staking: caller is not the court"
    stake: uint256 = self.judge_stake[judge]
    take: uint256 = min(amount, stake)
    if take == 0:
        return
    self.judge_stake[judge] = stake - take
    if stake - take < _MIN_JUDGE_STAKE:
        seat1: uint256 = self._judge_slot[judge]
        if seat1 != 0:
            word: uint256 = self._judge_seats[seat1 - 1]
            if word & _SEAT_ACTIVE != 0:
                self._judge_seats[seat1 - 1] = word & ~_SEAT_ACTIVE
                log JudgeLeft(judge=judge, seat=seat1 - 1, seat_freed=False)
    burned: uint256 = 0
    if len(beneficiaries) == 0:
        burned = take
    else:
        share: uint256 = take // len(beneficiaries)
        self._credited[beneficiaries[0]] += take - share * (len(beneficiaries) - 1)
        for i: uint256 in range(1, MAX_BENEFICIARIES):
            if i >= len(beneficiaries):
                break
            self._credited[beneficiaries[i]] += share
    log JudgePenalized(judge=judge, amount=take, burned=burned)
    if burned > 0:
        extcall IBurnable(SEC_TOKEN.address).burn(burned)


@view
@external
def judge_snapshot(buyer: address, seller: address) -> uint256:
    """
    @notice What the Court records when a case opens: seats in use (bits 0-7), the
            buyer's seat + 1 (8-15) and the seller's seat + 1 (16-23), 0 for no seat.
    """
    return (self._judge_book & _MASK_8) | (self._judge_slot[buyer] << 8) | (self._judge_slot[seller] << 16)


@view
@external
def judge_slots() -> uint256:
    """
    @notice Seats in use (occupied or free); seats are numbered from 0.
    """
    return self._judge_book & _MASK_8


@view
@external
def judge_at(seat: uint256) -> address:
    """
    @notice The judge in `seat` (zero address when free).
    """
    return convert(convert(self._judge_seats[seat] & _ADDR, uint160), address)


@view
@external
def judge_seat(seat: uint256) -> (address, uint256, uint256, bool):
    """
    @notice A seat: its judge, the block it became eligible, its open cases, whether
            its stake is at least the minimum.
    """
    word: uint256 = self._judge_seats[seat]
    return (
        convert(convert(word & _ADDR, uint160), address),
        (word >> _SEAT_SINCE) & _MASK_40,
        (word >> _SEAT_OPEN) & _MASK_32,
        word & _SEAT_ACTIVE != 0,
    )


@view
@external
def slot_of(account: address) -> uint256:
    """
    @notice `account`'s seat + 1, 0 when it holds none.
    """
    return self._judge_slot[account]


@view
@external
def open_cases(judge: address) -> uint256:
    """
    @notice Open Court cases `judge` sits on (it cannot withdraw while any).
    """
    seat1: uint256 = self._judge_slot[judge]
    if seat1 == 0:
        return 0
    return (self._judge_seats[seat1 - 1] >> _SEAT_OPEN) & _MASK_32


@external
@nonreentrant
def claim_nomination(validator: address):
    """
    @notice Settles the caller's share of `validator`'s rewards and pays everything
            credited to the caller.
    """
    self._settle_pool(validator, self._area_of(validator))
    self._settle_nominator(msg.sender, validator)
    amount: uint256 = self._credited[msg.sender]
    assert amount > 0, "staking: nothing to claim"
    self._credited[msg.sender] = 0
    log RewardClaimed(account=msg.sender, amount=amount)
    assert extcall SEC_TOKEN.transfer(msg.sender, amount, default_return_value=True), "staking: transfer failed"


@external
@nonreentrant
def claim():
    """
    @notice Pays the caller everything credited to it: bounties, redistributed slashes,
            shared judge penalties.
    """
    self._settle_pool(msg.sender, self._area_of(msg.sender))
    amount: uint256 = self._credited[msg.sender]
    assert amount > 0, "staking: nothing to claim"
    self._credited[msg.sender] = 0
    log RewardClaimed(account=msg.sender, amount=amount)
    assert extcall SEC_TOKEN.transfer(msg.sender, amount, default_return_value=True), "staking: transfer failed"


# ---------------------------------------------------------------- #
#                              views                               #
# ---------------------------------------------------------------- #

@view
@external
def is_judge(account: address) -> bool:
    """
    @notice In the judge set: bonded at least the minimum as a judge and not disabled.
    """
    if self.judge_stake[account] < _MIN_JUDGE_STAKE:
        return False
    return not staticcall TRUST_INDEX.is_disabled(account)


@view
@external
def judges() -> DynArray[address, MAX_JUDGES]:
    """
    @notice The judge set in seat order (active seats; eligibility also needs `is_judge`).
    """
    out: DynArray[address, MAX_JUDGES] = []
    for seat: uint256 in range(MAX_JUDGES):
        if seat >= self._judge_book & _MASK_8:
            break
        word: uint256 = self._judge_seats[seat]
        if word & _SEAT_ACTIVE != 0:
            out.append(convert(convert(word & _ADDR, uint160), address))
    return out


@view
@external
def stake_of(account: address) -> uint256:
    """
    @notice Bonded stake of `account`: validator plus judge stake.
    """
    return self.own_stake[account] + self.judge_stake[account]


@view
@external
def claimable(account: address) -> uint256:
    """
    @notice What `claim` would pay `account` now.
    """
    pending: uint256 = self._pool_pending(account, self._area_of(account))
    weight: uint256 = self._stake(account)
    if pending > 0 and self._nom_shares_total[account] > 0:
        pending = pending * self.own_stake[account] // weight
    return self._credited[account] + pending


@view
@external
def nomination_of(nominator: address, validator: address) -> uint256:
    """
    @notice The current value of `nominator`'s nomination of `validator`.
    """
    total: uint256 = self._nom_shares_total[validator]
    if total == 0:
        return 0
    return self._nom_shares[nominator][validator] * self.nominated[validator] // total


@view
@external
def nomination_claimable(nominator: address, validator: address) -> uint256:
    """
    @notice What `claim_nomination(validator)` would add for `nominator` from that pool
            (rewards distributed so far).
    """
    acc: uint256 = self._nom_acc[validator]
    total: uint256 = self._nom_shares_total[validator]
    pending: uint256 = self._pool_pending(validator, self._area_of(validator))
    weight: uint256 = self._stake(validator)
    if pending > 0 and total > 0:
        acc += (pending - pending * self.own_stake[validator] // weight) * _PRECISION // total
    return self._nom_shares[nominator][validator] * acc // _PRECISION - self._nom_debt[nominator][validator]


@view
@external
def pool_stake(validator: address) -> uint256:
    """
    @notice The validator's quorum weight: own bonded plus nominated while it is active.
    """
    return self._stake(validator)


@view
@external
def validator_stake(account: address) -> uint256:
    """
    @notice Own bonded validator stake of `account` (nominations not included).
    """
    return self.own_stake[account]


@view
@external
def area_of(account: address) -> uint256:
    """
    @notice The area `account` validates (bonded or unbonding); 0 for none.
    """
    return self._area_of(account)


@view
@external
def ejected(account: address) -> bool:
    """
    @notice Whether `account` was slashed and ejected (it can never validate again).
    """
    return self._ejected(account)


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


@view
@internal
def _pool_pending(validator: address, area_id: uint256) -> uint256:
    if area_id == 0:
        return 0
    return self._stake(validator) * self._area_acc[area_id] // _PRECISION - self._acc_debt[validator]


@internal
def _settle_pool(validator: address, area_id: uint256):
    """
    @dev Credits the pool's accumulated rewards and redistributed slashes: the validator's
         part to it, the nominators' part into their per-share accumulator. Run before
         anything changes the pool's weight.
    """
    pending: uint256 = self._pool_pending(validator, area_id)
    if pending == 0:
        return
    weight: uint256 = self._stake(validator)
    own_part: uint256 = pending * self.own_stake[validator] // weight
    shares: uint256 = self._nom_shares_total[validator]
    if shares == 0:
        own_part = pending
    self._credited[validator] += own_part
    if pending > own_part:
        self._nom_acc[validator] += (pending - own_part) * _PRECISION // shares
    self._acc_debt[validator] = weight * self._area_acc[area_id] // _PRECISION


@internal
def _settle_nominator(nominator: address, validator: address):
    shares: uint256 = self._nom_shares[nominator][validator]
    owed: uint256 = shares * self._nom_acc[validator] // _PRECISION - self._nom_debt[nominator][validator]
    if owed > 0:
        self._credited[nominator] += owed
    self._nom_debt[nominator][validator] = shares * self._nom_acc[validator] // _PRECISION


@internal
def _add_unbonding(validator: address, amount: uint256):
    self.unbonding_of[validator] += amount
    release_at: uint256 = block.timestamp + _UNBONDING_PERIOD
    self.unbonding_release[validator] = release_at
    log UnbondStarted(validator=validator, amount=amount, release_at=release_at)


@internal
def _refresh_weight(validator: address, area_id: uint256):
    """
    @dev Recomputes the pool's quorum weight (own + nominated while active), the area
         total, the accumulator debt and the set of bonded validators, and mirrors them
         into AnchorHub. Callers settle the pool first.
    """
    word: uint256 = self._validator[validator]
    old: uint256 = word & _MASK_128
    ejected: bool = word >> 192 != 0
    own: uint256 = self.own_stake[validator]
    weight: uint256 = 0
    if own > 0 and not ejected:
        weight = own + self.nominated[validator]
    self.area_stake[area_id] = self.area_stake[area_id] + weight - old
    self._set_validator(validator, weight, area_id, ejected)
    self._acc_debt[validator] = weight * self._area_acc[area_id] // _PRECISION
    if weight > 0 and self._validator_slot[validator] == 0:
        assert len(self._validators[area_id]) < MAX_VALIDATORS, "staking: validator set full"
        self._validators[area_id].append(validator)
        self._validator_slot[validator] = len(self._validators[area_id])
    elif weight == 0:
        self._remove_validator(validator, area_id)
    self._push_weight(validator, area_id)


@internal
def _distribute(area_id: uint256):
    if area_id == 0:
        return
    done: uint256 = self.rewarded_height[area_id]
    latest: uint256 = staticcall IAnchorWeights(self.slasher).latest_height_from(area_id, done)
    total: uint256 = self.area_stake[area_id]
    if latest <= done or total == 0:
        return
    self.rewarded_height[area_id] = latest
    amount: uint256 = min((latest - done) * REWARD_PER_HEADER, self.reward_pool)
    if amount == 0:
        return
    per_unit: uint256 = amount * _PRECISION // total
    distributed: uint256 = per_unit * total // _PRECISION
    self._area_acc[area_id] += per_unit
    self.reward_pool -= distributed
    log RewardsDistributed(area_id=area_id, headers=latest - done, amount=distributed)


@view
@internal
def _stake(account: address) -> uint256:
    return self._validator[account] & _MASK_128


@view
@internal
def _area_of(account: address) -> uint256:
    return (self._validator[account] >> 128) & _MASK_64


@view
@internal
def _ejected(account: address) -> bool:
    return self._validator[account] >> 192 != 0


@internal
def _set_validator(account: address, stake: uint256, area_id: uint256, ejected: bool):
    word: uint256 = stake | (area_id << 128)
    if ejected:
        word |= 1 << 192
    self._validator[account] = word


@internal
def _push_weight(validator: address, area_id: uint256):
    """
    @dev Mirrors `validator`'s quorum weight and its area's total into AnchorHub (the
         slasher), which checks quorums against the mirror without calling back here.
    """
    slasher: address = self.slasher
    if slasher == empty(address) or area_id == 0:
        return
    extcall IAnchorWeights(slasher).set_weight(validator, area_id, self._stake(validator), self.area_stake[area_id])


@internal
def _remove_validator(validator: address, area_id: uint256):
    slot: uint256 = self._validator_slot[validator]
    if slot == 0:
        return
    last: address = self._validators[area_id].pop()
    if last != validator:
        self._validators[area_id][slot - 1] = last
        self._validator_slot[last] = slot
    self._validator_slot[validator] = 0


@internal
def _take_seat(judge: address) -> uint256:
    """
    @dev Seats `judge` in the first free seat, else in a new one; eligible from the
         next block on (draws need since_block < the dispute's block).
    """
    book: uint256 = self._judge_book
    head: uint256 = (book >> 8) & _MASK_8
    seat: uint256 = 0
    if head != 0:
        seat = head - 1
        book = (book & _MASK_8) | ((self._judge_seats[seat] >> _SEAT_NEXT) << 8)
    else:
        seat = book & _MASK_8
        assert seat < MAX_JUDGES, "staking: judge list full"
        book = seat + 1
    self._judge_book = book
    self._judge_seats[seat] = convert(judge, uint256) | (block.number << _SEAT_SINCE) | _SEAT_ACTIVE
    log JudgeJoined(judge=judge, seat=seat, since_block=block.number)
    return seat


@internal
def _free_seat(judge: address, seat: uint256):
    """
    @dev Frees `seat` (its judge has no stake and no open case left); no other seat moves.
    """
    book: uint256 = self._judge_book
    self._judge_seats[seat] = ((book >> 8) & _MASK_8) << _SEAT_NEXT
    self._judge_book = (book & _MASK_8) | ((seat + 1) << 8)
    self._judge_slot[judge] = 0
    log JudgeLeft(judge=judge, seat=seat, seat_freed=True)


@view
@internal
def _eligible_seat(seat: uint256, before_block: uint256) -> uint256:
    """
    @dev The seat's word when its judge may be drawn for a case opened in
         `before_block`, else 0.
    """
    word: uint256 = self._judge_seats[seat]
    if word & _SEAT_ACTIVE == 0 or (word >> _SEAT_SINCE) & _MASK_40 >= before_block:
        return 0
    if staticcall TRUST_INDEX.is_disabled(convert(convert(word & _ADDR, uint160), address)):
        return 0
    return word
