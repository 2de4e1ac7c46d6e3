# pragma version 0.4.3
"""
@title Court
@notice Escrow disputes decided by a panel of PANEL_SIZE staked judges, drawn after the
        dispute from randomness that did not exist when it was sent. Opening a dispute
        (Escrow.dispute) opens a case here (`open_case`) whose id is the order id, and
        commits to `draw_block = block.number + DRAW_DELAY`. From the block after it
        anyone calls `draw`, which seats the panel from blockhash(draw_block) over the
        judge set as it stood when the dispute was opened (judges who joined in or after
        the dispute's block are never drawn; seats never move, so a judge leaving cannot
        shift another), never the buyer or the seller. Panel judges vote once each
        (1 buyer right / fake goods, 2 seller right / malicious complaint) while
        now < vote_deadline, on chain (`vote`) or as EIP-712 signatures submitted with
        `execute_with_votes`. `execute` (anyone) applies the majority (2 of 3) as soon as
        one exists, or ruling 0 once now >= vote_deadline without one, exactly once; it
        releases the panel and settles it: judges who voted with the majority share the
        judges' fee (a fixed share of the buyer's deposit, whatever the ruling, paid by
        Escrow), panel judges who never voted lose NO_VOTE_PENALTY of their stake to the
        majority voters (burned when there are none). With fewer eligible judges than a
        panel needs, no panel is seated and the case ends with ruling 0 at the deadline.
@dev Randomness and its limits (docs/decisions.md): the seed is
     keccak256(blockhash(draw_block), case_id), fixed DRAW_DELAY blocks after the
     dispute, so nobody can compute the panel inside the dispute transaction. The
     proposer of block draw_block can withhold it (one re-roll per withheld block, at
     the cost of its block reward); the party a hash favours is the one that calls
     `draw` within 256 blocks, and if nobody does the case re-arms to a new block.
     A judge who was eligible at the dispute can still leave before the draw; that
     removes only its own seat from the draw.
@custom:security Only the Escrow opens cases; only this contract can rule (Escrow's
                 arbiter). Judges are locked in Staking from the draw until execute,
                 which never leaves them locked, whatever Escrow answers.
@license AGPL-3.0-only
"""

from snekmate.utils import ecdsa
from snekmate.utils import eip712_domain_separator

initializes: eip712_domain_separator

# eip712Domain (EIP-5267) is exported so wallets and tools can read the vote domain.
# ERC-2771: a judge may vote through the trusted forwarder (or sign a vote for
# `execute_with_votes`); everything else here is open to anyone anyway.
from .modules import erc2771
initializes: erc2771
exports: (eip712_domain_separator.eip712Domain, erc2771.isTrustedForwarder, erc2771.FORWARDER)

from .interfaces import IStaking
from .interfaces import ICourt

implements: ICourt

interface IEscrowView:
    def order_status(order_id: uint256) -> uint8: view
    def arbiter() -> address: view
    def DISPUTE_TIMEOUT() -> uint256: view


# ---------------------------------------------------------------- #
#                            constants                             #
# ---------------------------------------------------------------- #

PANEL_SIZE: public(constant(uint256)) = 3
MAJORITY: constant(uint256) = 2
# Blocks between the dispute and the block whose hash seeds the draw.
DRAW_DELAY: public(constant(uint256)) = 5
BLOCKHASH_WINDOW: constant(uint256) = 256
STATUS_DISPUTED: constant(uint8) = 5
RULING_BUYER: constant(uint8) = 1
RULING_SELLER: constant(uint8) = 2
VOTE_TYPEHASH: public(constant(bytes32)) = keccak256("Vote(uint256 case_id,uint8 ruling)")

# Case word layout (one storage word per case):
_OPENED_BLOCK: constant(uint256) = 0  # 40 bits
_DRAW_BLOCK: constant(uint256) = 40  # 40 bits
_OPENED_AT: constant(uint256) = 80  # 40 bits
_DEADLINE: constant(uint256) = 120  # 40 bits, 0 until drawn
_SEATS: constant(uint256) = 160  # 8 bits: judge seats in use at opening
_EXCLUDED: constant(uint256) = 168  # 16 bits: buyer seat + 1, seller seat + 1
_PANEL: constant(uint256) = 184  # 24 bits: seat + 1 per panel position, 0: none
_VOTES: constant(uint256) = 208  # 2 bits per panel position
_DRAWN: constant(uint256) = 1 << 214
_EXECUTED: constant(uint256) = 1 << 215
_RULING: constant(uint256) = 216  # 2 bits
_MASK_40: constant(uint256) = 2**40 - 1
_MASK_8: constant(uint256) = 255


# ---------------------------------------------------------------- #
#                            immutables                            #
# ---------------------------------------------------------------- #

ESCROW: public(immutable(IEscrowView))
STAKING: public(immutable(IStaking))
VOTE_PERIOD: public(immutable(uint256))
NO_VOTE_PENALTY: public(immutable(uint256))
# Escrow's own dispute timeout: a draw after it seats no panel, and votes close by it.
DISPUTE_TIMEOUT: public(immutable(uint256))


# ---------------------------------------------------------------- #
#                             storage                              #
# ---------------------------------------------------------------- #

struct Case:
    order_id: uint256
    deadline: uint256
    executed: bool
    ruling: uint8

struct CaseInfo:
    order_id: uint256
    opened_block: uint256
    opened_at: uint256
    draw_block: uint256
    judge_seats: uint256
    party_seats: DynArray[uint256, 2]
    drawn: bool
    panel_seats: DynArray[uint256, PANEL_SIZE]
    vote_deadline: uint256
    executed: bool
    ruling: uint8

# A vote signed by a panel judge (EIP-712 `Vote(uint256 case_id,uint8 ruling)` under
# the domain "SEC Court", "1", chain id, this contract); v 27/28, low s.
struct SignedVote:
    ruling: uint8
    v: uint8
    r: bytes32
    s: bytes32

# case id (= order id) -> case word, see the layout above
_cases: HashMap[uint256, uint256]


# ---------------------------------------------------------------- #
#                              events                              #
# ---------------------------------------------------------------- #

event CaseOpened:
    case_id: indexed(uint256)
    order_id: indexed(uint256)
    draw_block: uint256

event DrawRearmed:
    case_id: indexed(uint256)
    draw_block: uint256

event PanelDrawn:
    case_id: indexed(uint256)
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

event RulingNotApplied:
    case_id: indexed(uint256)


@deploy
def __init__(
    escrow: IEscrowView, staking: IStaking, vote_period: uint256, no_vote_penalty: uint256, forwarder: address
):
    """
    @param escrow The Escrow whose disputes this Court decides (its DISPUTE_TIMEOUT is read).
    @param staking Where judges stake and are drawn.
    @param vote_period Seconds the panel has to vote, from the draw.
    @param no_vote_penalty SEC a panel judge loses for not voting.
    @param forwarder The trusted ERC-2771 forwarder (relayed votes), or empty for none.
    """
    assert vote_period > 0, "court: bad vote period"
    eip712_domain_separator.__init__("SEC Court", "1")
    ESCROW = escrow
    STAKING = staking
    VOTE_PERIOD = vote_period
    NO_VOTE_PENALTY = no_vote_penalty
    erc2771.__init__(forwarder)
    DISPUTE_TIMEOUT = staticcall escrow.DISPUTE_TIMEOUT()


@external
def open_case(order_id: uint256, buyer: address, seller: address) -> uint256:
    """
    @notice Opens the case of a disputed order (case id = order id) and commits to its
            draw block; records the judge seats in use and the parties' seats.
    @return The case id.
    @custom:security Escrow only.
    """
    assert msg.sender == ESCROW.address, "court: caller is not the escrow"
    assert self._cases[order_id] == 0, "court: order already has a case"
    snapshot: uint256 = staticcall STAKING.judge_snapshot(buyer, seller)
    draw_at: uint256 = block.number + DRAW_DELAY
    self._cases[order_id] = (
        block.number
        | (draw_at << _DRAW_BLOCK)
        | (block.timestamp << _OPENED_AT)
        | (snapshot << _SEATS)
    )
    log CaseOpened(case_id=order_id, order_id=order_id, draw_block=draw_at)
    return order_id


@external
def draw(case_id: uint256):
    """
    @notice Seats the case's panel from keccak256(blockhash(draw_block), case_id), from
            block draw_block + 1 on; the vote deadline runs from now. When the hash has
            expired (more than 256 blocks ago) it re-arms draw_block to
            block.number + DRAW_DELAY instead. With fewer eligible judges than
            PANEL_SIZE, or once Escrow's own dispute timeout has passed, no panel is
            seated and the case ends with ruling 0 at the deadline.
    @custom:security Anyone.
    """
    word: uint256 = self._cases[case_id]
    assert word != 0, "court: unknown case"
    assert word & _DRAWN == 0, "court: already drawn"
    self._draw(case_id, word, True)


@external
def vote(case_id: uint256, ruling: uint8):
    """
    @notice A panel judge's vote: 1 buyer right (fake goods), 2 seller right (malicious
            complaint). Once, after the draw, while now < vote_deadline.
    """
    assert ruling == RULING_BUYER or ruling == RULING_SELLER, "court: invalid ruling"
    word: uint256 = self._open_case(case_id)
    assert block.timestamp < (word >> _DEADLINE) & _MASK_40, "court: voting has ended"
    judge: address = erc2771._sender()
    seat1: uint256 = staticcall STAKING.slot_of(judge)
    pos: uint256 = PANEL_SIZE
    for p: uint256 in range(PANEL_SIZE):
        if seat1 != 0 and (word >> (_PANEL + 8 * p)) & _MASK_8 == seat1:
            pos = p
    assert pos < PANEL_SIZE, "court: caller is not on the panel"
    assert (word >> (_VOTES + 2 * pos)) & 3 == 0, "court: already voted"
    self._cases[case_id] = word | (convert(ruling, uint256) << (_VOTES + 2 * pos))
    log Voted(case_id=case_id, judge=judge, ruling=ruling)


@external
@nonreentrant
def execute(case_id: uint256):
    """
    @notice Applies the panel's majority as soon as there is one, or ruling 0 once the
            vote deadline has passed without one; releases the panel, settles fees and
            penalties. Once.
    @custom:security Anyone.
    """
    self._execute(case_id, [])


@external
@nonreentrant
def execute_with_votes(case_id: uint256, votes: DynArray[SignedVote, PANEL_SIZE]):
    """
    @notice `execute`, counting panel judges' signed votes too (EIP-712
            `Vote(uint256 case_id,uint8 ruling)`), accepted only while now < vote_deadline.
            A vote a judge already cast on chain (or earlier in `votes`) stands; its
            other signatures are ignored. On a case not drawn yet it draws first, in
            this transaction, exactly as `draw` would (the same panel, which judges
            read beforehand from `preview_panel`; the vote deadline runs from now),
            without locking the panel (it is settled here); when the draw block's hash
            has expired it only re-arms the draw, like `draw`.
    @param votes Signed votes; each must recover to a panel judge.
    @custom:security Anyone; a signature binds the case, the ruling, this Court and chain.
    """
    self._execute(case_id, votes)


# ---------------------------------------------------------------- #
#                              views                               #
# ---------------------------------------------------------------- #

@view
@external
def case_of(order_id: uint256) -> uint256:
    """
    @notice The case of an order: the order id itself once disputed, else 0.
    """
    if self._cases[order_id] == 0:
        return 0
    return order_id


@view
@external
def draw_block(case_id: uint256) -> uint256:
    """
    @notice The block whose hash seeds the case's draw (`draw` works from the next block).
    """
    return (self._cases[case_id] >> _DRAW_BLOCK) & _MASK_40


@view
@external
def panel_of(case_id: uint256) -> DynArray[address, PANEL_SIZE]:
    """
    @notice The panel of an open case; empty before the draw, when none was seated, and
            once executed (its seats may be reused then; `PanelDrawn` has the judges).
    """
    return self._seated(self._cases[case_id])


@view
@external
def preview_panel(case_id: uint256) -> DynArray[address, PANEL_SIZE]:
    """
    @notice The panel `draw` (or `execute_with_votes`) would seat now on a case not drawn
            yet, computed read-only from blockhash(draw_block); the panel itself once
            drawn (`panel_of`). Empty when no panel would be seated (too few eligible
            judges, or Escrow's dispute timeout has passed).
    @dev Reverts before block draw_block + 1 ("court: too early to draw") and once the
         hash has expired ("court: draw hash expired"; `draw` re-arms the case then).
    """
    word: uint256 = self._cases[case_id]
    assert word != 0, "court: unknown case"
    if word & _DRAWN != 0:
        return self._seated(word)
    draw_at: uint256 = (word >> _DRAW_BLOCK) & _MASK_40
    assert block.number > draw_at, "court: too early to draw"
    assert block.number - draw_at <= BLOCKHASH_WINDOW, "court: draw hash expired"
    if block.timestamp >= ((word >> _OPENED_AT) & _MASK_40) + DISPUTE_TIMEOUT:
        return []
    panel: uint256 = 0
    judges: address[PANEL_SIZE] = empty(address[PANEL_SIZE])
    panel, judges = staticcall STAKING.pick_panel(self._seed(draw_at, case_id), (word >> _SEATS) & _MASK_8, word & _MASK_40, (word >> _EXCLUDED) & 65535)
    if panel == 0:
        return []
    return [judges[0], judges[1], judges[2]]


@view
@external
def vote_deadline(case_id: uint256) -> uint256:
    """
    @notice Votes are accepted while now < this: VOTE_PERIOD after the draw (capped at
            Escrow's dispute timeout); 0 before the draw.
    """
    return (self._cases[case_id] >> _DEADLINE) & _MASK_40


@view
@external
def votes(case_id: uint256, judge: address) -> uint8:
    """
    @notice `judge`'s recorded vote on an open case (0 none or not on the panel).
    """
    word: uint256 = self._cases[case_id]
    seat1: uint256 = staticcall STAKING.slot_of(judge)
    if seat1 == 0:
        return 0
    for p: uint256 in range(PANEL_SIZE):
        if (word >> (_PANEL + 8 * p)) & _MASK_8 == seat1:
            return convert((word >> (_VOTES + 2 * p)) & 3, uint8)
    return 0


@view
@external
def get_case(case_id: uint256) -> Case:
    """
    @notice order id (0: no case), vote deadline, executed, ruling.
    """
    word: uint256 = self._cases[case_id]
    order_id: uint256 = 0
    if word != 0:
        order_id = case_id
    return Case(
        order_id=order_id,
        deadline=(word >> _DEADLINE) & _MASK_40,
        executed=word & _EXECUTED != 0,
        ruling=convert((word >> _RULING) & 3, uint8),
    )


@view
@external
def case_info(case_id: uint256) -> CaseInfo:
    """
    @notice Everything recorded about a case (panel and the parties' judge seats, if
            any, as seat numbers).
    """
    word: uint256 = self._cases[case_id]
    seats: DynArray[uint256, PANEL_SIZE] = []
    for p: uint256 in range(PANEL_SIZE):
        seat1: uint256 = (word >> (_PANEL + 8 * p)) & _MASK_8
        if seat1 != 0:
            seats.append(seat1 - 1)
    parties: DynArray[uint256, 2] = []
    for b: uint256 in range(2):
        seat1: uint256 = (word >> (_EXCLUDED + 8 * b)) & _MASK_8
        if seat1 != 0:
            parties.append(seat1 - 1)
    order_id: uint256 = 0
    if word != 0:
        order_id = case_id
    return CaseInfo(
        order_id=order_id,
        opened_block=word & _MASK_40,
        opened_at=(word >> _OPENED_AT) & _MASK_40,
        draw_block=(word >> _DRAW_BLOCK) & _MASK_40,
        judge_seats=(word >> _SEATS) & _MASK_8,
        party_seats=parties,
        drawn=word & _DRAWN != 0,
        panel_seats=seats,
        vote_deadline=(word >> _DEADLINE) & _MASK_40,
        executed=word & _EXECUTED != 0,
        ruling=convert((word >> _RULING) & 3, uint8),
    )


@view
@external
def vote_digest(case_id: uint256, ruling: uint8) -> bytes32:
    """
    @notice The EIP-712 digest a judge signs to vote `ruling` on `case_id`.
    """
    return self._vote_digest(case_id, ruling)


# ---------------------------------------------------------------- #
#                             internal                             #
# ---------------------------------------------------------------- #


@view
@internal
def _open_case(case_id: uint256) -> uint256:
    word: uint256 = self._cases[case_id]
    assert word != 0, "court: unknown case"
    assert word & _EXECUTED == 0, "court: case already executed"
    assert word & _DRAWN != 0, "court: panel not drawn yet"
    return word


@view
@internal
def _vote_digest(case_id: uint256, ruling: uint8) -> bytes32:
    return eip712_domain_separator._hash_typed_data_v4(
        keccak256(abi_encode(VOTE_TYPEHASH, case_id, ruling))
    )


@view
@internal
def _seated(word: uint256) -> DynArray[address, PANEL_SIZE]:
    panel: uint256 = (word >> _PANEL) & (2**24 - 1)
    if panel == 0 or word & _EXECUTED != 0:
        return []
    out: DynArray[address, PANEL_SIZE] = []
    for p: uint256 in range(PANEL_SIZE):
        out.append(staticcall STAKING.judge_at(((panel >> (8 * p)) & _MASK_8) - 1))
    return out


@view
@internal
def _seed(draw_at: uint256, case_id: uint256) -> bytes32:
    return keccak256(abi_encode(blockhash(draw_at), case_id))


@internal
def _draw(case_id: uint256, word: uint256, lock: bool) -> (uint256, address[PANEL_SIZE]):
    """
    @dev Seats the panel of an undrawn case and returns the new case word and the
         judges; when `lock` (`draw`) it locks the panel in Staking and stores the word,
         else (`execute_with_votes`) the caller stores it. When the hash of draw_block
         has expired it re-arms the draw instead (stored) and returns 0.
    """
    draw_at: uint256 = (word >> _DRAW_BLOCK) & _MASK_40
    assert block.number > draw_at, "court: too early to draw"
    judges: address[PANEL_SIZE] = empty(address[PANEL_SIZE])
    if block.number - draw_at > BLOCKHASH_WINDOW:
        draw_at = block.number + DRAW_DELAY
        self._cases[case_id] = (word & ~(_MASK_40 << _DRAW_BLOCK)) | (draw_at << _DRAW_BLOCK)
        log DrawRearmed(case_id=case_id, draw_block=draw_at)
        return 0, judges
    timeout_at: uint256 = ((word >> _OPENED_AT) & _MASK_40) + DISPUTE_TIMEOUT
    deadline: uint256 = min(block.timestamp + VOTE_PERIOD, timeout_at)
    panel: uint256 = 0
    if block.timestamp < timeout_at:
        seed: bytes32 = self._seed(draw_at, case_id)
        seats: uint256 = (word >> _SEATS) & _MASK_8
        excluded: uint256 = (word >> _EXCLUDED) & 65535
        if lock:
            panel, judges = extcall STAKING.draw_panel(seed, seats, word & _MASK_40, excluded)
        else:
            panel, judges = staticcall STAKING.pick_panel(seed, seats, word & _MASK_40, excluded)
    word = word | _DRAWN | (deadline << _DEADLINE) | (panel << _PANEL)
    if lock:
        self._cases[case_id] = word  # (execute_with_votes writes the word once, at the end)
    seated: DynArray[address, PANEL_SIZE] = []
    if panel != 0:
        seated = [judges[0], judges[1], judges[2]]
    log PanelDrawn(case_id=case_id, panel=seated, vote_deadline=deadline)
    return word, judges


@internal
def _execute(case_id: uint256, signed: DynArray[SignedVote, PANEL_SIZE]):
    word: uint256 = self._cases[case_id]
    assert word != 0, "court: unknown case"
    assert word & _EXECUTED == 0, "court: case already executed"
    judges: address[PANEL_SIZE] = empty(address[PANEL_SIZE])
    if word & _DRAWN == 0:
        # Signed votes may draw the panel here (never locked: it is settled below).
        assert len(signed) > 0, "court: panel not drawn yet"
        word, judges = self._draw(case_id, word, False)
        if word == 0:
            return  # the hash expired: re-armed, nothing executed
    elif word & ((2**24 - 1) << _PANEL) != 0:
        # Unlocks the panel now; reverted with everything else if execution must wait.
        judges = extcall STAKING.release_panel((word >> _PANEL) & (2**24 - 1))
    deadline: uint256 = (word >> _DEADLINE) & _MASK_40
    panel: uint256 = (word >> _PANEL) & (2**24 - 1)

    if len(signed) > 0:
        assert block.timestamp < deadline, "court: voting has ended"
    for sv: SignedVote in signed:
        assert sv.ruling == RULING_BUYER or sv.ruling == RULING_SELLER, "court: invalid ruling"
        signer: address = ecdsa._recover_vrs(
            self._vote_digest(case_id, sv.ruling),
            convert(sv.v, uint256),
            convert(sv.r, uint256),
            convert(sv.s, uint256),
        )
        pos: uint256 = PANEL_SIZE
        for p: uint256 in range(PANEL_SIZE):
            if panel != 0 and judges[p] == signer:
                pos = p
        assert pos < PANEL_SIZE, "court: signer is not on the panel"
        if (word >> (_VOTES + 2 * pos)) & 3 == 0:
            word |= convert(sv.ruling, uint256) << (_VOTES + 2 * pos)
            log Voted(case_id=case_id, judge=signer, ruling=sv.ruling)

    buyer_votes: uint256 = 0
    seller_votes: uint256 = 0
    for p: uint256 in range(PANEL_SIZE):
        v: uint256 = (word >> (_VOTES + 2 * p)) & 3
        if v == 1:
            buyer_votes += 1
        elif v == 2:
            seller_votes += 1
    ruling: uint8 = 0
    if buyer_votes >= MAJORITY:
        ruling = RULING_BUYER
    elif seller_votes >= MAJORITY:
        ruling = RULING_SELLER
    else:
        assert block.timestamp >= deadline, "court: no majority yet"

    majority: DynArray[address, PANEL_SIZE] = []
    absent: DynArray[address, PANEL_SIZE] = []
    if panel != 0:
        for p: uint256 in range(PANEL_SIZE):
            v: uint256 = (word >> (_VOTES + 2 * p)) & 3
            if ruling != 0 and v == convert(ruling, uint256):
                majority.append(judges[p])
            elif v == 0 and block.timestamp >= deadline:
                absent.append(judges[p])

    self._cases[case_id] = word | _EXECUTED | (convert(ruling, uint256) << _RULING)
    log CaseExecuted(case_id=case_id, order_id=case_id, ruling=ruling, majority=majority, absent=absent)

    fee_to: DynArray[address, 8] = []
    for judge: address in majority:
        fee_to.append(judge)
    applied: bool = raw_call(
        ESCROW.address,
        abi_encode(
            case_id,
            ruling,
            fee_to,
            method_id=method_id("rule_with_fee_split(uint256,uint8,address[])"),
        ),
        revert_on_failure=False,
    )
    if not applied:
        # Only a settled order (Escrow's own timeout) or an Escrow that no longer takes
        # this Court's rulings may skip the ruling; anything else (e.g. too little gas
        # for the inner call) reverts, so a ruling can never be dropped on purpose.
        assert (
            staticcall ESCROW.order_status(case_id) != STATUS_DISPUTED
            or staticcall ESCROW.arbiter() != self
        ), "court: escrow refused the ruling"
        log RulingNotApplied(case_id=case_id)
    for judge: address in absent:
        extcall STAKING.penalize_judge(judge, NO_VOTE_PENALTY, fee_to)
