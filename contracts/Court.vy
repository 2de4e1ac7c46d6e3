# pragma version 0.4.3
"""
@title Court
@notice Escrow disputes decided by a panel of PANEL_SIZE staked judges. Opening a
        dispute (Escrow.dispute) opens a case here and draws its panel in that
        transaction from the active judges, never the buyer or the seller; neither party
        picks them. Panel judges `vote` once each (1 buyer right / fake goods, 2 seller
        right / malicious complaint) while now < vote_deadline. `execute` (anyone)
        applies the majority as soon as one exists, or ruling 0 once now >= vote_deadline
        without one, through Escrow, exactly once; it also settles the panel: judges who
        voted with the majority share the judges' fee (a fixed share of the buyer's
        deposit, whatever the ruling), and panel judges who never voted lose
        NO_VOTE_PENALTY of their stake to the majority voters (burned when there are
        none). With fewer eligible judges than a panel needs, no panel is seated and the
        case ends with ruling 0 at the deadline, the whole deposit back to the buyer.
@dev Randomness: the panel is drawn with keccak256(prevrandao, previous block hash,
     case id, order id) by a partial Fisher-Yates shuffle of the judge list. Its limits
     (docs/decisions.md): the block's prevrandao is known before the block, so the buyer,
     who chooses when to dispute, can see the panel a dispute in the next block would get
     and delay the dispute for a different draw (within the dispute window); a block
     proposer can withhold its block to re-roll once per slot. Neither can put a judge
     on the panel who is not drawn for some block, and a panel needs a 2-of-3 majority.
@custom:security Only the Escrow opens cases; only this contract can rule (Escrow's
                 arbiter). Judges are locked in Staking while their case is open.
@license AGPL-3.0-only
"""

from .interfaces import IEscrow
from .interfaces import IStaking
from .interfaces import ICourt

implements: ICourt


# ---------------------------------------------------------------- #
#                            constants                             #
# ---------------------------------------------------------------- #

PANEL_SIZE: public(constant(uint256)) = 3
MAJORITY: constant(uint256) = 2
MAX_JUDGES: constant(uint256) = 128
STATUS_DISPUTED: constant(uint8) = 5
RULING_BUYER: constant(uint8) = 1
RULING_SELLER: constant(uint8) = 2


# ---------------------------------------------------------------- #
#                            immutables                            #
# ---------------------------------------------------------------- #

ESCROW: public(immutable(IEscrow))
STAKING: public(immutable(IStaking))
VOTE_PERIOD: public(immutable(uint256))
NO_VOTE_PENALTY: public(immutable(uint256))


# ---------------------------------------------------------------- #
#                             storage                              #
# ---------------------------------------------------------------- #

struct Case:
    order_id: uint256
    deadline: uint256
    executed: bool
    ruling: uint8

case_count: public(uint256)
case_of: public(HashMap[uint256, uint256])
votes: public(HashMap[uint256, HashMap[address, uint8]])
# One word per case: order_id (bits 0-127) | deadline (128-191) | executed (192)
# | panel seated (193) | ruling (200-207)
_cases: HashMap[uint256, uint256]
_panels: HashMap[uint256, address[PANEL_SIZE]]


# ---------------------------------------------------------------- #
#                              events                              #
# ---------------------------------------------------------------- #

event CaseOpened:
    case_id: indexed(uint256)
    order_id: indexed(uint256)
    panel: DynArray[address, PANEL_SIZE]
    vote_deadline: uint256

event Voted:
    case_id: indexed(uint256)
    judge: indexed(address)
    ruling: uint8

event CaseExecuted:
    case_id: indexed(uint256)
    order_id: indexed(uint256)
    ruling: uint8
    majority: DynArray[address, PANEL_SIZE]
    absent: DynArray[address, PANEL_SIZE]


@deploy
def __init__(escrow: IEscrow, staking: IStaking, vote_period: uint256, no_vote_penalty: uint256):
    """
    @param vote_period Seconds the panel has to vote.
    @param no_vote_penalty SEC a panel judge loses for not voting.
    """
    assert vote_period > 0, "court: bad vote period"
    ESCROW = escrow
    STAKING = staking
    VOTE_PERIOD = vote_period
    NO_VOTE_PENALTY = no_vote_penalty


@external
def open_case(order_id: uint256, buyer: address, seller: address) -> uint256:
    """
    @notice Opens a case for a disputed order and draws its panel.
    @custom:security Escrow only.
    """
    assert msg.sender == ESCROW.address, "court: caller is not the escrow"
    assert self.case_of[order_id] == 0, "court: order already has a case"
    case_id: uint256 = self.case_count + 1
    self.case_count = case_id
    self.case_of[order_id] = case_id
    deadline: uint256 = block.timestamp + VOTE_PERIOD
    word: uint256 = (deadline << 128) | order_id
    panel: DynArray[address, PANEL_SIZE] = self._draw(case_id, order_id, buyer, seller)
    if len(panel) == PANEL_SIZE:
        word |= 1 << 193
        self._panels[case_id] = [panel[0], panel[1], panel[2]]
        for judge: address in panel:
            extcall STAKING.lock_judge(judge)
    else:
        panel = []
    self._cases[case_id] = word
    log CaseOpened(case_id=case_id, order_id=order_id, panel=panel, vote_deadline=deadline)
    return case_id


@external
def vote(case_id: uint256, ruling: uint8):
    """
    @notice A panel judge's vote: 1 buyer right (fake goods), 2 seller right (malicious
            complaint). Once, while now < vote_deadline.
    """
    assert ruling == RULING_BUYER or ruling == RULING_SELLER, "court: invalid ruling"
    case: Case = self._case(case_id)
    assert case.order_id != 0, "court: unknown case"
    assert not case.executed, "court: case already executed"
    assert block.timestamp < case.deadline, "court: voting has ended"
    assert msg.sender in self._panel(case_id), "court: caller is not on the panel"
    assert self.votes[case_id][msg.sender] == 0, "court: already voted"
    self.votes[case_id][msg.sender] = ruling
    log Voted(case_id=case_id, judge=msg.sender, ruling=ruling)


@external
@nonreentrant
def execute(case_id: uint256):
    """
    @notice Applies the panel's majority as soon as there is one, or ruling 0 once the
            vote deadline has passed without one; settles fees and penalties. Once.
    @custom:security Anyone.
    """
    case: Case = self._case(case_id)
    assert case.order_id != 0, "court: unknown case"
    assert not case.executed, "court: case already executed"
    panel: DynArray[address, PANEL_SIZE] = self._panel(case_id)
    buyer_votes: uint256 = 0
    seller_votes: uint256 = 0
    for judge: address in panel:
        v: uint8 = self.votes[case_id][judge]
        if v == RULING_BUYER:
            buyer_votes += 1
        elif v == RULING_SELLER:
            seller_votes += 1
    ruling: uint8 = 0
    if buyer_votes >= MAJORITY:
        ruling = RULING_BUYER
    elif seller_votes >= MAJORITY:
        ruling = RULING_SELLER
    else:
        assert block.timestamp >= case.deadline, "court: no majority yet"

    majority: DynArray[address, PANEL_SIZE] = []
    absent: DynArray[address, PANEL_SIZE] = []
    for judge: address in panel:
        v: uint8 = self.votes[case_id][judge]
        if ruling != 0 and v == ruling:
            majority.append(judge)
        elif v == 0 and block.timestamp >= case.deadline:
            absent.append(judge)

    self._cases[case_id] = self._cases[case_id] | (1 << 192) | (convert(ruling, uint256) << 200)
    log CaseExecuted(case_id=case_id, order_id=case.order_id, ruling=ruling, majority=majority, absent=absent)

    # An order whose dispute already timed out in Escrow is settled there; the panel
    # is still released.
    if staticcall ESCROW.order_status(case.order_id) == STATUS_DISPUTED:
        fee_to: DynArray[address, 8] = []
        for judge: address in majority:
            fee_to.append(judge)
        extcall ESCROW.rule_with_fee_split(case.order_id, ruling, fee_to)
    beneficiaries: DynArray[address, 8] = []
    for judge: address in majority:
        beneficiaries.append(judge)
    for judge: address in panel:
        extcall STAKING.unlock_judge(judge)
    for judge: address in absent:
        extcall STAKING.penalize_judge(judge, NO_VOTE_PENALTY, beneficiaries)


@view
@external
def panel_of(case_id: uint256) -> DynArray[address, PANEL_SIZE]:
    """
    @notice The panel (empty when none was seated).
    """
    return self._panel(case_id)


@view
@external
def vote_deadline(case_id: uint256) -> uint256:
    return self._case(case_id).deadline


@view
@external
def get_case(case_id: uint256) -> Case:
    return self._case(case_id)


@view
@internal
def _panel(case_id: uint256) -> DynArray[address, PANEL_SIZE]:
    if (self._cases[case_id] >> 193) & 1 == 0:
        return []
    seated: address[PANEL_SIZE] = self._panels[case_id]
    return [seated[0], seated[1], seated[2]]


@view
@internal
def _case(case_id: uint256) -> Case:
    word: uint256 = self._cases[case_id]
    return Case(
        order_id=word & (2**128 - 1),
        deadline=(word >> 128) & (2**64 - 1),
        executed=(word >> 192) & 1 == 1,
        ruling=convert((word >> 200) & 255, uint8),
    )


@view
@internal
def _draw(case_id: uint256, order_id: uint256, buyer: address, seller: address) -> DynArray[address, PANEL_SIZE]:
    pool: DynArray[address, MAX_JUDGES] = staticcall STAKING.judges()
    seed: bytes32 = keccak256(abi_encode(block.prevrandao, blockhash(block.number - 1), case_id, order_id))
    panel: DynArray[address, PANEL_SIZE] = []
    remaining: uint256 = len(pool)
    for i: uint256 in range(MAX_JUDGES):
        if remaining == 0 or len(panel) == PANEL_SIZE:
            break
        seed = keccak256(seed)
        pick: uint256 = convert(seed, uint256) % remaining
        candidate: address = pool[pick]
        # Move the last unpicked judge into the drawn slot: no judge is drawn twice.
        pool[pick] = pool[remaining - 1]
        remaining -= 1
        if candidate == buyer or candidate == seller:
            continue
        if staticcall STAKING.is_judge(candidate):
            panel.append(candidate)
    return panel
