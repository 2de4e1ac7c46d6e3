# pragma version 0.4.3
# pragma optimize codesize
"""
@title Staking
@notice Stakes SEC for the roles that keep SEC honest.
        Validators: `stake_validator(area_id, amount)` (at least MIN_VALIDATOR_STAKE).
        Every addition to a pool (own stake, nominations) is pending for
        `activation_delay()` seconds and counts for nothing (quorum, rewards,
        redistribution) until `activate(validator)`; `unbond` then `withdraw` after
        UNBONDING_PERIOD, which is at least the evidence window, so a validator that
        double-signs and unbonds can still be slashed until it withdraws. `slash` /
        `slash_at` (the slasher, AnchorHub) take a fraction of the validator's pending,
        bonded and unbonding stake (in that order) and of its nominations: the
        nominators' part is burned, of the validator's own part BURN_BPS is burned,
        BOUNTY_BPS credited to the reporter and the rest to the area's other active
        validators (activated before the offence height) pro rata through a per-area
        accumulator; an offence id never slashes twice; a slashed validator is ejected
        and its remaining stake unbonds. Header rewards accrue by time: REWARD_RATE per
        second per 1e18 of active stake, each newly anchored header covering at most
        MAX_HEADER_INTERVAL seconds.
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

MAX_JUDGES: constant(uint256) = 128
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
MAX_VALIDATORS: constant(uint256) = 64
BPS: constant(uint256) = 10_000
# The offender's own slashed stake is always burned at least this much, so whoever caused
# a slash (with its judge, nominator and co-validator accounts) ends with less.
MIN_BURN_BPS: constant(uint256) = 1_000
# Reward rate unit: SEC-wei per second per 1e18 SEC-wei of active stake.
_RATE_UNIT: constant(uint256) = 10**18
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
BURN_BPS: immutable(uint256)
BOUNTY_BPS: immutable(uint256)
FAULT_SLASH_BPS: immutable(uint256)
_ACTIVATION_DELAY: immutable(uint256)
REWARD_RATE: public(immutable(uint256))
MAX_HEADER_INTERVAL: public(immutable(uint256))


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
_rewarded_height: HashMap[uint256, uint256]
# When a distribution last saw a new header of the area: time up to MAX_HEADER_INTERVAL
# after it is paid by a forced distribution, so forcing one cannot wipe earned time.
_header_seen: HashMap[uint256, uint256]
_nom_shares: HashMap[address, HashMap[address, uint256]]  # [nominator][validator]
_nom_shares_total: HashMap[address, uint256]
_nom_acc: HashMap[address, uint256]
_nom_debt: HashMap[address, HashMap[address, uint256]]
unbonding_of: public(HashMap[address, uint256])
unbonding_release: public(HashMap[address, uint256])
offence_slashed: public(HashMap[bytes32, bool])
faults_of: public(HashMap[address, uint256])
fault_recorded: HashMap[bytes32, bool]
_validators: HashMap[uint256, DynArray[address, MAX_VALIDATORS]]
_validator_slot: HashMap[address, uint256]
_area_acc: HashMap[uint256, uint256]
_acc_debt: HashMap[address, uint256]
# Activation delay: what a pool adds waits in these until `activate`. Pending
# nominations are part of `nominated` / `_nom_shares_total` (so slashes reach them) and
# are set apart here; a nominator's pending shares belong to the pool's activation
# number `_nom_pgen` (the pool's next one when they were added).
_pending_own: HashMap[address, uint256]
_pending_nom: HashMap[address, uint256]
_pending_shares: HashMap[address, uint256]
_activates_at: HashMap[address, uint256]
_activations: HashMap[address, uint256]
_activation_acc: HashMap[address, HashMap[uint256, uint256]]  # _nom_acc at activation n
_nom_pshares: HashMap[address, HashMap[address, uint256]]  # [nominator][validator]
_nom_pgen: HashMap[address, HashMap[address, uint256]]
# The area's latest anchored height when the validator last activated stake: it shares
# in a slash only for offences above that height.
activated_height: public(HashMap[address, uint256])
# The latest of those in the area (heights only grow, so the last activation's): a slash
# for an offence above it skips the loop over the area's validators.
_area_activated: HashMap[uint256, uint256]
# Header rewards by time: EVM time up to which the area has been paid.
rewarded_time: public(HashMap[uint256, uint256])
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
    seconds: uint256
    amount: uint256

event StakePending:
    validator: indexed(address)
    amount: uint256
    pending: uint256
    activates_at: uint256

event Activated:
    validator: indexed(address)
    area_id: indexed(uint256)
    amount: uint256
    weight: uint256
    height: uint256

event Redistributed:
    area_id: indexed(uint256)
    offence_id: indexed(bytes32)
    amount: uint256
    eligible_stake: uint256

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
    activation_delay: uint256,
    reward_rate: uint256,
    max_header_interval: uint256,
):
    """
    @param activation_delay Seconds added stake waits before it counts (production 1 day).
    @param reward_rate Header rewards: SEC-wei per second per 1e18 SEC-wei of active stake.
    @param max_header_interval Seconds of EVM time one newly anchored header can cover.
    """
    assert burn_bps + bounty_bps <= BPS, "staking: bad slash split"
    assert burn_bps >= MIN_BURN_BPS, "staking: burn below minimum"
    # At least a second: stake can never count in the block (or transaction) it arrives in.
    assert activation_delay > 0, "staking: activation delay is zero"
    assert fault_slash_bps <= BPS, "staking: bad fault slash"
    ownable.__init__()
    FAULT_SLASH_BPS = fault_slash_bps
    _ACTIVATION_DELAY = activation_delay
    REWARD_RATE = reward_rate
    MAX_HEADER_INTERVAL = max_header_interval
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
            validator; its own bonded stake (pending plus active) must reach the minimum.
            The stake is pending: it counts for nothing until `activate` runs at or after
            `activates_at(validator)`. Adding more while something is pending restarts
            that clock for everything pending in the pool.
    """
    assert area_id != 0 and area_id <= _MASK_64, "staking: bad area id"
    assert amount > 0, "staking: nothing to stake"
    # AnchorHub mirrors quorum weights from the first activation on.
    assert self.slasher != empty(address), "staking: anchor hub not set"
    assert not self._ejected(msg.sender), "staking: validator was ejected"
    self._check_enabled()
    current: uint256 = self._area_of(msg.sender)
    assert current == 0 or current == area_id, "staking: validator of another area"
    pending: uint256 = self._pending_own[msg.sender] + amount
    own: uint256 = self.own_stake[msg.sender] + pending
    assert own >= _MIN_VALIDATOR_STAKE, "staking: below minimum stake"
    self._pending_own[msg.sender] = pending
    self._set_validator(msg.sender, self._stake(msg.sender), area_id, False)
    log Staked(account=msg.sender, role=1, amount=amount, total=own)
    self._add_pending(msg.sender, amount)
    self._pull(amount)


@external
def activate(validator: address):
    """
    @notice Moves everything pending in `validator`'s pool (own stake and nominations)
            into its quorum weight, mirrors it into AnchorHub and records the area's
            latest anchored height (the validator shares in slashes for offences above
            it only).
    @custom:security Anyone, once `block.timestamp >= activates_at(validator)`.
    """
    pending_own: uint256 = self._pending_own[validator]
    pending_nom: uint256 = self._pending_nom[validator]
    assert pending_own + self._pending_shares[validator] > 0, "staking: nothing pending"
    assert not self._ejected(validator), "staking: validator was ejected"
    assert block.timestamp >= self._activates_at[validator], "staking: activation delay not over"
    area_id: uint256 = self._area_of(validator)
    self._distribute(area_id, True)
    self._settle_pool(validator, area_id)
    self.own_stake[validator] += pending_own
    self._pending_own[validator] = 0
    self._pending_nom[validator] = 0
    self._pending_shares[validator] = 0
    number: uint256 = self._activations[validator] + 1
    self._activations[validator] = number
    self._activation_acc[validator][number] = self._nom_acc[validator]
    height: uint256 = self._rewarded_height[area_id]  # _distribute just brought it to the latest
    self.activated_height[validator] = height
    self._area_activated[area_id] = height
    self._refresh_weight(validator, area_id)
    log Activated(validator=validator, area_id=area_id, amount=pending_own + pending_nom, weight=self._stake(validator), height=height)


@external
def unbond(amount: uint256):
    """
    @notice Starts unbonding `amount` of own validator stake, pending stake first (so the
            active weight never grows); it can be withdrawn after UNBONDING_PERIOD (a new
            unbond restarts the clock) and stays slashable until then. What stays bonded
            must be zero or at least the minimum.
    """
    own: uint256 = self.own_stake[msg.sender]
    pending: uint256 = self._pending_own[msg.sender]
    assert amount > 0 and amount <= own + pending, "staking: amount exceeds stake"
    remaining: uint256 = own + pending - amount
    assert remaining == 0 or remaining >= _MIN_VALIDATOR_STAKE, "staking: below minimum stake"
    area_id: uint256 = self._area_of(msg.sender)
    self._distribute(area_id, True)
    self._settle_pool(msg.sender, area_id)
    from_pending: uint256 = min(amount, pending)
    self._pending_own[msg.sender] = pending - from_pending
    self.own_stake[msg.sender] = own - (amount - from_pending)
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
    if self.own_stake[msg.sender] == 0 and self._pending_own[msg.sender] == 0 and self.nominated[msg.sender] == 0:
        self._set_validator(msg.sender, 0, 0, self._ejected(msg.sender))
    self._pay_out(amount)


@external
@nonreentrant
def nominate(validator: address, amount: uint256):
    """
    @notice Backs `validator` (an active one: its own stake activated) with `amount` SEC
            (approve first). The nomination is pending like added own stake (it restarts the pool's activation clock); once
            activated it counts in the quorum weight and shares the pool's rewards. It
            shares the pool's slashes from the start (its part is burned).
    """
    assert amount > 0, "staking: nothing to stake"
    area_id: uint256 = self._area_of(validator)
    # Only an active validator (own stake activated) takes nominations, so nominations
    # (1 wei a day) can never hold a new validator's own stake pending.
    assert area_id != 0 and not self._ejected(validator) and self.own_stake[validator] > 0, "staking: not an active validator"
    self._check_enabled()
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
    self._nom_pshares[msg.sender][validator] += shares
    self._nom_pgen[msg.sender][validator] = self._activations[validator] + 1
    self._pending_shares[validator] += shares
    self._pending_nom[validator] += amount
    log Nominated(nominator=msg.sender, validator=validator, amount=amount)
    self._add_pending(validator, amount)
    self._pull(amount)


@external
def unnominate(validator: address, amount: uint256):
    """
    @notice Starts unbonding `amount` of the caller's nomination of `validator`, its
            pending part first (withdrawable after UNBONDING_PERIOD with
            `withdraw_nomination`).
    """
    area_id: uint256 = self._area_of(validator)
    self._distribute(area_id, True)
    self._settle_pool(validator, area_id)
    self._settle_nominator(msg.sender, validator)
    mine: uint256 = self._nom_shares[msg.sender][validator]
    total_shares: uint256 = self._nom_shares_total[validator]
    value: uint256 = self.nominated[validator]
    assert amount > 0 and total_shares > 0 and amount <= mine * value // total_shares, "staking: amount exceeds nomination"
    burn: uint256 = min(mine, (amount * total_shares + value - 1) // value)
    mine_pending: uint256 = self._nom_pshares[msg.sender][validator]
    from_pending: uint256 = min(burn, mine_pending)
    if from_pending > 0:
        self._nom_pshares[msg.sender][validator] = mine_pending - from_pending
        self._pending_shares[validator] -= from_pending
        self._pending_nom[validator] -= min(self._pending_nom[validator], from_pending * value // total_shares)
    self._nom_shares[msg.sender][validator] = mine - burn
    self._nom_shares_total[validator] = total_shares - burn
    self.nominated[validator] = value - amount
    self._nom_debt[msg.sender][validator] = (mine - burn - (mine_pending - from_pending)) * self._nom_acc[validator] // _PRECISION
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
    self._pay_out(amount)


@external
@nonreentrant
def fund_rewards(amount: uint256):
    """
    @notice Adds `amount` SEC to the pool that pays header rewards.
    """
    assert amount > 0, "staking: nothing to fund"
    self.reward_pool += amount
    log RewardsFunded(funder=msg.sender, amount=amount)
    self._pull(amount)


@external
def distribute_rewards(area_id: uint256):
    """
    @notice Pays `area_id` for the EVM time since its last distribution, as far as the
            headers anchored since then cover it (each at most MAX_HEADER_INTERVAL
            seconds): REWARD_RATE per second per 1e18 of active stake, pro rata to the
            pools' active weight, capped by the pool; within a pool validator and
            nominators share pro rata. Does nothing while no new header was anchored
            (time without headers is not lost to a caller here). Also runs before every
            change of active stake in the area, where time without headers is dropped.
    @custom:security Anyone.
    """
    self._distribute(area_id, False)


@external
def slash(validator: address, fraction_bps: uint256, reporter: address, offence_id: bytes32) -> uint256:
    """
    @notice Slashes `fraction_bps` of `validator`'s pending, bonded and unbonding stake
            (in that order) and of its nominations, and ejects it; no height
            restriction on who shares the redistribution. Returns the amount slashed.
    @custom:security Slasher (AnchorHub) only; each offence id at most once.
    """
    assert msg.sender == self.slasher, "staking: caller is not the slasher"
    return self._slash(validator, fraction_bps, reporter, offence_id, max_value(uint256))


@external
def slash_at(validator: address, fraction_bps: uint256, reporter: address, offence_id: bytes32, height: uint256) -> uint256:
    """
    @notice `slash` for an offence at area height `height`: only validators whose stake
            was activated while the area's latest anchored height was below `height`
            share the redistribution.
    @custom:security Slasher (AnchorHub) only; each offence id at most once.
    """
    assert msg.sender == self.slasher, "staking: caller is not the slasher"
    return self._slash(validator, fraction_bps, reporter, offence_id, height)


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
        self._distribute(area_id, False)
        withheld: uint256 = self._pool_pending(validator, area_id)
        self._acc_debt[validator] = self._stake(validator) * self._area_acc[area_id] // _PRECISION
        log RewardsWithheld(validator=validator, amount=withheld)
        if withheld > 0:
            self._burn(withheld)
    else:
        self._slash(validator, FAULT_SLASH_BPS, empty(address), offence_id, max_value(uint256))


@internal
def _slash(validator: address, fraction_bps: uint256, reporter: address, offence_id: bytes32, height: uint256) -> uint256:
    """
    @dev Only the validator's own slashed stake pays the bounty and the redistribution
         (after at least MIN_BURN_BPS of it is burned); the nominators' slashed part is
         burned whole, so nominations an offender holds itself never come back to it.
    """
    assert fraction_bps <= BPS, "staking: bad fraction"
    assert not self.offence_slashed[offence_id], "staking: offence already slashed"
    area_id: uint256 = self._area_of(validator)
    assert area_id != 0, "staking: not a validator"
    self.offence_slashed[offence_id] = True
    self._distribute(area_id, True)
    self._settle_pool(validator, area_id)

    pending: uint256 = self._pending_own[validator]
    own: uint256 = self.own_stake[validator]
    unbonding: uint256 = self.unbonding_of[validator]
    own_amount: uint256 = (pending + own + unbonding) * fraction_bps // BPS
    from_pending: uint256 = min(own_amount, pending)
    from_bonded: uint256 = min(own_amount - from_pending, own)
    nominated_amount: uint256 = self.nominated[validator] * fraction_bps // BPS
    self.nominated[validator] -= nominated_amount
    amount: uint256 = own_amount + nominated_amount

    # Ejected: it no longer counts for quorum, its pending stake never activates, and
    # what is left of its own stake unbonds.
    self.own_stake[validator] = 0
    self._pending_own[validator] = 0
    self._pending_nom[validator] = 0
    self.unbonding_of[validator] = unbonding - (own_amount - from_pending - from_bonded)
    left: uint256 = pending + own - from_pending - from_bonded
    if left > 0:
        self._add_unbonding(validator, left)
    self._set_validator(validator, self._stake(validator), area_id, True)
    self._refresh_weight(validator, area_id)
    log Ejected(validator=validator, area_id=area_id)

    own_burned: uint256 = own_amount * BURN_BPS // BPS
    bounty: uint256 = own_amount * BOUNTY_BPS // BPS
    rest: uint256 = own_amount - own_burned - bounty
    burned: uint256 = nominated_amount + own_burned
    if reporter == empty(address):
        # A fault recorded by governance pays no bounty: that share is burned as well.
        burned += bounty
        bounty = 0
    if bounty > 0:
        self._credited[reporter] += bounty
    burned += self._redistribute(area_id, rest, height, offence_id)
    log Slashed(validator=validator, amount=amount, burned=burned, bounty=bounty, reporter=reporter, offence_id=offence_id)
    if burned > 0:
        self._burn(burned)
    return amount


@view
@external
def is_validator(area_id: uint256, account: address) -> bool:
    """
    @notice Counted for `area_id`'s quorum: active weight, not ejected (pending stake
            does not count).
    """
    word: uint256 = self._validator[account]
    return (word >> 128) & _MASK_64 == area_id and word & _MASK_128 > 0 and word >> 192 == 0


@view
@external
def is_slashable(area_id: uint256, account: address) -> bool:
    """
    @notice Bonded (pending or active) or still unbonding as a validator of `area_id`
            (the evidence window).
    """
    return area_id != 0 and self._area_of(account) == area_id and self.own_stake[account] + self._pending_own[account] + self.unbonding_of[account] > 0


@view
@external
def validators_of(area_id: uint256) -> DynArray[address, MAX_VALIDATORS]:
    """
    @notice The validators counted for `area_id`'s quorum (active weight > 0).
    """
    return self._validators[area_id]


@view
@external
def quorum_stakes(area_id: uint256, signers: DynArray[address, MAX_VALIDATORS]) -> (DynArray[uint256, MAX_VALIDATORS], uint256):
    """
    @notice Each signer's active weight in `area_id` (0 when it is not counted there),
            and the area's total active weight: what AnchorHub's quorum needs, in one call.
    """
    stakes: DynArray[uint256, MAX_VALIDATORS] = []
    for signer: address in signers:
        word: uint256 = self._validator[signer]
        stake: uint256 = 0
        if (word >> 128) & _MASK_64 == area_id and word >> 192 == 0:
            stake = word & _MASK_128
        stakes.append(stake)
    return stakes, self.area_stake[area_id]


@view
@external
def pending_of(validator: address) -> uint256:
    """
    @notice What waits for activation in `validator`'s pool: own stake plus nominations.
    """
    return self._pending_own[validator] + self._pending_nom[validator]


@view
@external
def activates_at(validator: address) -> uint256:
    """
    @notice When `activate(validator)` can first run for what is pending (0: never staked).
    """
    return self._activates_at[validator]


@view
@external
def activation_delay() -> uint256:
    """
    @notice Seconds added stake waits before it counts for quorum and rewards.
    """
    return _ACTIVATION_DELAY


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
    self._check_enabled()
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
    self._pull(amount)


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
    self._pay_out(amount)


@external
def draw_panel(seed: bytes32, seat_count: uint256, before_block: uint256, excluded: uint256) -> (uint256, address[PANEL_SIZE]):
    """
    @notice Picks the panel `pick_panel` returns for the same arguments and locks its
            judges (one open case more each), in one call: O(panel) reads and writes.
    @param seed The case's randomness (Court: keccak256(blockhash(draw_block), case id)).
    @param seat_count Seats in use when the case was opened.
    @param before_block The block the case was opened in.
    @param excluded buyer seat + 1 (bits 0-7) | seller seat + 1 (bits 8-15), 0 for none.
    @return The panel's seats + 1 packed one byte each (0 when no panel was seated), and
            its judges.
    @custom:security Court only.
    """
    self._only_court()
    panel: uint256 = 0
    judges: address[PANEL_SIZE] = empty(address[PANEL_SIZE])
    words: uint256[PANEL_SIZE] = empty(uint256[PANEL_SIZE])
    panel, judges, words = self._pick(seed, seat_count, before_block, excluded)
    if panel == 0:
        return 0, judges
    for p: uint256 in range(PANEL_SIZE):
        self._judge_seats[((panel >> (8 * p)) & _MASK_8) - 1] = words[p] + (1 << _SEAT_OPEN)
    log PanelLocked(judges=judges)
    return panel, judges


@view
@external
def pick_panel(seed: bytes32, seat_count: uint256, before_block: uint256, excluded: uint256) -> (uint256, address[PANEL_SIZE]):
    """
    @notice The panel `draw_panel` would seat for these arguments now, without locking
            it: PANEL_SIZE distinct eligible judges from seats [0, seat_count). Eligible:
            an occupied, active seat (stake at least the minimum) whose judge became
            eligible before `before_block`, is not disabled, and whose seat + 1 is not
            one of the two bytes of `excluded` (the parties).
    @dev Try i < MAX_DRAW_TRIES looks at seat keccak256(seed, i) mod seat_count. When
         those leave the panel short (eligible seats are sparse), the remaining judges
         are drawn uniformly among the unseen seats that are active and old enough:
         pick j takes candidate r (in seat order, the last candidate then moving into its
         place), r = keccak256(seed, MAX_DRAW_TRIES + j) mod their number. So a panel is seated whenever PANEL_SIZE eligible judges exist, and every
         eligible judge is equally likely whatever the free seats around it (an in-order
         scan would favour a judge after a run of freed seats, which anyone can make by
         joining and leaving). A seat already looked at, or a party's, is skipped.
    @return The panel's seats + 1 packed one byte each (0: fewer than PANEL_SIZE
            eligible judges), and its judges (zero addresses then).
    """
    panel: uint256 = 0
    judges: address[PANEL_SIZE] = empty(address[PANEL_SIZE])
    words: uint256[PANEL_SIZE] = empty(uint256[PANEL_SIZE])
    panel, judges, words = self._pick(seed, seat_count, before_block, excluded)
    return panel, judges


@view
@internal
def _pick(seed: bytes32, seat_count: uint256, before_block: uint256, excluded: uint256) -> (uint256, address[PANEL_SIZE], uint256[PANEL_SIZE]):
    judges: address[PANEL_SIZE] = empty(address[PANEL_SIZE])
    words: uint256[PANEL_SIZE] = empty(uint256[PANEL_SIZE])
    if seat_count == 0:
        return 0, judges, words
    # One bit per seat already looked at (the parties' seats count as looked at).
    seen: uint256 = 0
    if excluded & _MASK_8 != 0:
        seen = 1 << ((excluded & _MASK_8) - 1)
    if (excluded >> 8) & _MASK_8 != 0:
        seen |= 1 << (((excluded >> 8) & _MASK_8) - 1)
    panel: uint256 = 0
    found: uint256 = 0
    for i: uint256 in range(MAX_DRAW_TRIES):
        if found == PANEL_SIZE:
            break
        seat: uint256 = convert(keccak256(abi_encode(seed, i)), uint256) % seat_count
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
        # The rare path: the candidates are the unseen seats that are active and old enough
        # (one read each); each pick takes one of them uniformly.
        pool: DynArray[uint256, MAX_JUDGES] = []
        for s: uint256 in range(MAX_JUDGES):
            if s >= seat_count:
                break
            seat_word: uint256 = self._judge_seats[s]
            if seen & (1 << s) == 0 and seat_word & _SEAT_ACTIVE != 0 and (seat_word >> _SEAT_SINCE) & _MASK_40 < before_block:
                pool.append(s)
        for j: uint256 in range(MAX_JUDGES):
            if found == PANEL_SIZE or len(pool) == 0:
                break
            # Take candidate r; the last one moves into its place.
            r: uint256 = convert(keccak256(abi_encode(seed, MAX_DRAW_TRIES + j)), uint256) % len(pool)
            seat: uint256 = pool[r]
            pool[r] = pool[len(pool) - 1]
            pool.pop()
            word: uint256 = self._eligible_seat(seat, before_block)
            if word != 0:
                judges[found] = convert(convert(word & _ADDR, uint160), address)
                words[found] = word
                panel |= (seat + 1) << (8 * found)
                found += 1
    if found < PANEL_SIZE:
        return 0, empty(address[PANEL_SIZE]), words
    return panel, judges, words


@external
def release_panel(panel: uint256) -> address[PANEL_SIZE]:
    """
    @notice Unlocks a panel drawn by `draw_panel` (one open case less each).
    @param panel The packed seats + 1 `draw_panel` returned.
    @return The panel's judges.
    @custom:security Court only: the panel's case was executed.
    """
    self._only_court()
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
    self._only_court()
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
        self._burn(burned)


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
    self._pay_credited()


@external
@nonreentrant
def claim():
    """
    @notice Pays the caller everything credited to it: bounties, redistributed slashes,
            shared judge penalties.
    """
    self._settle_pool(msg.sender, self._area_of(msg.sender))
    self._pay_credited()


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
    return not self._disabled(account)


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
    @notice Bonded stake of `account`: validator (pending and active) plus judge stake.
    """
    return self.own_stake[account] + self._pending_own[account] + self.judge_stake[account]


@view
@external
def claimable(account: address) -> uint256:
    """
    @notice What `claim` would pay `account` now.
    """
    pending: uint256 = self._pool_pending(account, self._area_of(account))
    weight: uint256 = self._stake(account)
    if pending > 0 and self._nom_shares_total[account] > self._pending_shares[account]:
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
    active: uint256 = self._nom_shares_total[validator] - self._pending_shares[validator]
    pending: uint256 = self._pool_pending(validator, self._area_of(validator))
    weight: uint256 = self._stake(validator)
    if pending > 0 and active > 0:
        acc += (pending - pending * self.own_stake[validator] // weight) * _PRECISION // active
    return self._nominator_owed(nominator, validator, acc)


@view
@external
def pool_stake(validator: address) -> uint256:
    """
    @notice The validator's quorum weight: own plus nominated active stake while it is
            active (pending stake excluded).
    """
    return self._stake(validator)


@view
@external
def validator_stake(account: address) -> uint256:
    """
    @notice Own bonded validator stake of `account`, pending and active (nominations not
            included; the active part is `own_stake`).
    """
    return self.own_stake[account] + self._pending_own[account]


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
def _pay_credited():
    amount: uint256 = self._credited[msg.sender]
    assert amount > 0, "staking: nothing to claim"
    self._credited[msg.sender] = 0
    log RewardClaimed(account=msg.sender, amount=amount)
    self._send(amount)


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
    # Pending nomination shares earn nothing: the nominators' part goes to active shares.
    shares: uint256 = self._nom_shares_total[validator] - self._pending_shares[validator]
    if shares == 0:
        own_part = pending
    self._credited[validator] += own_part
    if pending > own_part:
        self._nom_acc[validator] += (pending - own_part) * _PRECISION // shares
    self._acc_debt[validator] = weight * self._area_acc[area_id] // _PRECISION


@internal
def _settle_nominator(nominator: address, validator: address):
    """
    @dev Credits the nominator's share of the pool's nominator accumulator. Its pending
         shares earn from the accumulator only from their activation on, and become
         ordinary shares here once activated.
    """
    acc: uint256 = self._nom_acc[validator]
    owed: uint256 = self._nominator_owed(nominator, validator, acc)
    if owed > 0:
        self._credited[nominator] += owed
    pshares: uint256 = self._nom_pshares[nominator][validator]
    if pshares > 0 and self._nom_pgen[nominator][validator] <= self._activations[validator]:
        pshares = 0
        self._nom_pshares[nominator][validator] = 0
    self._nom_debt[nominator][validator] = (self._nom_shares[nominator][validator] - pshares) * acc // _PRECISION


@view
@internal
def _nominator_owed(nominator: address, validator: address, acc: uint256) -> uint256:
    shares: uint256 = self._nom_shares[nominator][validator]
    pshares: uint256 = self._nom_pshares[nominator][validator]
    owed: uint256 = (shares - pshares) * acc // _PRECISION - self._nom_debt[nominator][validator]
    number: uint256 = self._nom_pgen[nominator][validator]
    if pshares > 0 and number <= self._activations[validator]:
        owed += pshares * (acc - self._activation_acc[validator][number]) // _PRECISION
    return owed


@internal
def _add_pending(validator: address, amount: uint256):
    """
    @dev Everything pending in the pool activates together: an addition restarts the clock.
    """
    activates_at: uint256 = block.timestamp + _ACTIVATION_DELAY
    self._activates_at[validator] = activates_at
    log StakePending(validator=validator, amount=amount, pending=self._pending_own[validator] + self._pending_nom[validator], activates_at=activates_at)


@internal
def _redistribute(area_id: uint256, amount: uint256, height: uint256, offence_id: bytes32) -> uint256:
    """
    @dev Credits `amount` to the area's active pools pro rata to weight, leaving out the
         pools whose stake was last activated at or after `height` (max: none left out);
         returns what is burned (everything when nobody is eligible, else the
         accumulator's rounding).
    """
    if amount == 0:
        return 0
    eligible: uint256 = self.area_stake[area_id]
    if height > self._area_activated[area_id]:
        height = max_value(uint256)  # every active pool was activated below the offence
    if height != max_value(uint256):
        for v: address in self._validators[area_id]:
            if self.activated_height[v] >= height:
                # Settled first, so its debt stays equal to weight * accumulator below.
                self._settle_pool(v, area_id)
                eligible -= self._stake(v)
    if eligible == 0:
        return amount
    per_unit: uint256 = amount * _PRECISION // eligible
    acc: uint256 = self._area_acc[area_id] + per_unit
    self._area_acc[area_id] = acc
    if height != max_value(uint256):
        for v: address in self._validators[area_id]:
            if self.activated_height[v] >= height:
                self._acc_debt[v] = self._stake(v) * acc // _PRECISION
    paid: uint256 = per_unit * eligible // _PRECISION
    log Redistributed(area_id=area_id, offence_id=offence_id, amount=paid, eligible_stake=eligible)
    # What the accumulator cannot represent exactly is burned.
    return amount - paid


@internal
def _add_unbonding(validator: address, amount: uint256):
    self.unbonding_of[validator] += amount
    release_at: uint256 = block.timestamp + _UNBONDING_PERIOD
    self.unbonding_release[validator] = release_at
    log UnbondStarted(validator=validator, amount=amount, release_at=release_at)


@internal
def _refresh_weight(validator: address, area_id: uint256):
    """
    @dev Recomputes the pool's quorum weight (own + nominated active stake while the
         validator is active; pending stake excluded), the area
         total, the accumulator debt and the set of bonded validators, and mirrors them
         into AnchorHub. Callers settle the pool first.
    """
    word: uint256 = self._validator[validator]
    old: uint256 = word & _MASK_128
    ejected: bool = word >> 192 != 0
    own: uint256 = self.own_stake[validator]
    weight: uint256 = 0
    if own > 0 and not ejected:
        weight = own + self.nominated[validator] - self._pending_nom[validator]
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
def _distribute(area_id: uint256, force: bool):
    """
    @dev Pays the area for the EVM time since `rewarded_time`, each header anchored since
         `rewarded_height` covering at most MAX_HEADER_INTERVAL seconds, at REWARD_RATE
         per 1e18 of the area's active weight, capped by the pool. Without new headers
         it returns, unless `force` (before a change of active weight): then it pays, at
         the old weight, the time up to MAX_HEADER_INTERVAL after the last header seen,
         and the clock moves on, so stake never earns for time before it counted and a
         forced distribution never wipes time the headers earned.
    """
    if area_id == 0:
        return
    done: uint256 = self._rewarded_height[area_id]
    latest: uint256 = staticcall IAnchorWeights(self.slasher).latest_height_from(area_id, done)
    if latest <= done and not force:
        return
    since: uint256 = self.rewarded_time[area_id]
    self._rewarded_height[area_id] = latest
    self.rewarded_time[area_id] = block.timestamp
    total: uint256 = self.area_stake[area_id]
    seconds: uint256 = 0
    if latest > done:
        self._header_seen[area_id] = block.timestamp
        seconds = min(block.timestamp - since, (latest - done) * MAX_HEADER_INTERVAL)
    else:
        # Forced with no new header: the area is paid up to MAX_HEADER_INTERVAL after the
        # last header a distribution saw (since >= that time, and since is a real timestamp
        # whenever total > 0: the first activation forces a distribution at stake 0).
        end: uint256 = min(block.timestamp, self._header_seen[area_id] + MAX_HEADER_INTERVAL)
        if end > since:
            seconds = end - since
    if seconds == 0 or total == 0:
        return
    amount: uint256 = min(seconds * REWARD_RATE * total // _RATE_UNIT, self.reward_pool)
    if amount == 0:
        return
    per_unit: uint256 = amount * _PRECISION // total
    distributed: uint256 = per_unit * total // _PRECISION
    self._area_acc[area_id] += per_unit
    self.reward_pool -= distributed
    log RewardsDistributed(area_id=area_id, headers=latest - done, seconds=seconds, amount=distributed)


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
    if self._disabled(convert(convert(word & _ADDR, uint160), address)):
        return 0
    return word


@internal
def _pull(amount: uint256):
    assert extcall SEC_TOKEN.transferFrom(msg.sender, self, amount, default_return_value=True), "staking: transfer failed"


@internal
def _send(amount: uint256):
    assert extcall SEC_TOKEN.transfer(msg.sender, amount, default_return_value=True), "staking: transfer failed"


@internal
def _pay_out(amount: uint256):
    log Withdrawn(account=msg.sender, amount=amount)
    self._send(amount)


@internal
def _burn(amount: uint256):
    extcall IBurnable(SEC_TOKEN.address).burn(amount)


@view
@internal
def _disabled(account: address) -> bool:
    return staticcall TRUST_INDEX.is_disabled(account)


@view
@internal
def _check_enabled():
    assert not self._disabled(msg.sender), "staking: account is disabled"


@view
@internal
def _only_court():
    assert msg.sender == self.court, "staking: caller is not the court"
