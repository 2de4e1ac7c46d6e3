# pragma version 0.4.3
"""
@title PanelPredictor
@notice Test mock of an attacking buyer: a contract that, inside its own dispute
        transaction, computes the panel from everything on chain (the freshest
        randomness there is and the judge seats, with the Court's own pick rule) and
        disputes only when that prediction gives its owner's judges the majority.
@dev The hash the Court draws from (blockhash(draw_block), DRAW_DELAY blocks later) does
     not exist yet in that transaction, so the prediction cannot be right by design.
@license AGPL-3.0-only
"""

interface IEscrow:
    def buy(listing_id: uint256, share_id: uint256) -> uint256: payable
    def dispute(order_id: uint256, evidence: bytes32): payable
    def dispute_deposit(order_id: uint256) -> uint256: view

interface IStaking:
    def judge_snapshot(buyer: address, seller: address) -> uint256: view
    def judge_at(seat: uint256) -> address: view

PANEL_SIZE: constant(uint256) = 3
MAX_DRAW_TRIES: constant(uint256) = 16
MAX_JUDGES: constant(uint256) = 128

ESCROW: immutable(IEscrow)
STAKING: immutable(IStaking)

predicted: public(DynArray[address, PANEL_SIZE])
predicted_seed: public(bytes32)
disputed: public(bool)

event Predicted:
    seed: bytes32
    friendly: bool


@deploy
def __init__(escrow: IEscrow, staking: IStaking):
    ESCROW = escrow
    STAKING = staking


@external
@payable
def __default__():
    pass


@external
@payable
def buy(listing_id: uint256) -> uint256:
    """
    @notice Buys `listing_id` with msg.value.
    """
    return extcall ESCROW.buy(listing_id, 0, value=msg.value)


@view
@external
def prediction() -> DynArray[address, PANEL_SIZE]:
    """
    @notice The panel the last `dispute_if_friendly` predicted.
    """
    return self.predicted


@external
def dispute_if_friendly(order_id: uint256, friends: DynArray[address, 8]) -> bool:
    """
    @notice Predicts the panel in this transaction and disputes (paying the deposit from
            this contract's balance) only when at least two of `friends` are on it.
    """
    seed: bytes32 = keccak256(abi_encode(block.prevrandao, blockhash(block.number - 1), order_id))
    # Seats in use (the low byte of the snapshot); the draw's uniform tries (a dense judge
    # set never needs the rare path).
    count: uint256 = (staticcall STAKING.judge_snapshot(empty(address), empty(address))) & 255
    panel: DynArray[address, PANEL_SIZE] = []
    seen: uint256 = 0
    for i: uint256 in range(MAX_DRAW_TRIES):
        if len(panel) == PANEL_SIZE:
            break
        seat: uint256 = convert(keccak256(abi_encode(seed, i)), uint256) % count
        if seen & (1 << seat) != 0:
            continue
        seen |= 1 << seat
        judge: address = staticcall STAKING.judge_at(seat)
        if judge != empty(address):
            panel.append(judge)
    self.predicted = panel
    self.predicted_seed = seed
    allies: uint256 = 0
    for judge: address in panel:
        if judge in friends:
            allies += 1
    log Predicted(seed=seed, friendly=allies >= 2)
    if allies < 2:
        return False
    self.disputed = True
    extcall ESCROW.dispute(order_id, empty(bytes32), value=staticcall ESCROW.dispute_deposit(order_id))
    return True
