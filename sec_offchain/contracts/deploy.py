"""Deploys the whole suite to any chain reachable through web3 and describes it in a
Deployment (the deployments file)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3 import Web3

from sec_offchain.contracts import DEV_CHAIN_IDS  # re-exported: importers find it here
from sec_offchain.contracts.artifacts import get_artifact
from sec_offchain.contracts.deployment import ContractRecord, Deployment
from sec_offchain.contracts.transactor import Transactor
from sec_offchain.crypto.keys import get_dev_accounts
from sec_offchain.exceptions import DeploymentError

log = logging.getLogger(__name__)


def get_create_address(sender: str, nonce: int) -> str:
    """The address of the contract `sender` creates with transaction nonce `nonce`."""
    import rlp
    from eth_utils import keccak, to_bytes

    return to_checksum_address(keccak(rlp.encode([to_bytes(hexstr=sender), nonce]))[12:])


SEC = 10**18
DAY = 86_400
FAUCET_AMOUNT = 1_000_000 * SEC
FAUCET_ACCOUNTS = 10


@dataclass
class SuiteParams:
    """Everything the suite is deployed with; written to the deployments file as `params`.
    Allocation addresses left empty go to the deployer. With `use_court` (the default) the
    Court is Escrow's only arbiter; without it `arbiter` (default: the deployer) rules."""

    supply_cap: int = 3_000_000_000 * SEC
    vesting_start: int = 0
    default_auto_complete: int = 7 * DAY
    default_ship_window: int = 3 * DAY
    dispute_deposit_bps: int = 200
    dispute_floor_eth: int = 10**15  # 0.001 ETH: no dispute is free, however cheap the order
    dispute_floor_sec: int = 10 * SEC
    buyer_refund_bps: int = 10_000
    judge_fee_bps: int = 5_000
    dispute_timeout: int = 30 * DAY
    penalty_cancelled: int = 1
    penalty_missed_ship_window: int = 2
    penalty_fake_goods: int = 20
    penalty_malicious_complaint: int = 10
    eth_to_sec_rate: int = 11_000
    share_reward_bps: int = 200
    # Pool bonus per sharer per period on top of the commission; 0: a self-dealing loop
    # (seller + sharer + buyer) only moves the commission between its accounts and pays gas.
    share_bonus_cap: int = 0
    share_bonus_period: int = 30 * DAY
    share_pool: int = 10_000_000 * SEC
    # Smallest trade that raises a trust index, and how often one pair may raise it.
    trust_eth_floor: int = 10**16
    trust_sec_floor: int = 100 * SEC
    relation_period: int = 90 * DAY
    min_judge_stake: int = 1_000 * SEC
    min_validator_stake: int = 100_000 * SEC
    unbonding_period: int = 21 * DAY
    vote_period: int = 3 * DAY
    no_vote_penalty: int = 10 * SEC
    slash_burn_bps: int = 1_000
    slash_bounty_bps: int = 2_000
    fault_slash_bps: int = 1_000
    # Validator stake counts for quorum and rewards only this long after it was added;
    # development deployments may choose seconds (the integrator picks dev values).
    activation_delay: int = DAY
    # Header rewards: SEC-wei per second per 1e18 SEC-wei of active validator stake;
    # 0.05 / 31,536,000 s = 5 % a year (while the funded pool lasts).
    reward_rate: int = 1_585_489_599
    # Seconds of time one newly anchored header can cover: an area that stops anchoring
    # stops earning after at most this long.
    max_header_interval: int = 3_600
    reward_pool: int = 1_000_000 * SEC
    equivocation_slash_bps: int = 5_000
    # BorderGateway outflow limit: per window of `bgc_outflow_period` seconds at most
    # max(balance * bps / 10,000, floor) leaves an area (the balance before the window's
    # first outflow).
    bgc_outflow_bps: int = 2_000
    bgc_outflow_period: int = DAY
    bgc_outflow_floor: int = 1_000 * SEC
    # Who may publish the per-epoch account -> area directory root (AreaDirectory's
    # PUBLISHER_ROLE; default: the deployer).
    area_publisher: str = ""
    use_court: bool = True
    arbiter: str = ""
    allocation: dict[str, str] = field(
        default_factory=lambda: {
            "private_sale": "",
            "business": "",
            "community": "",
            "team": "",
            "foundation": "",
            "angel": "",
        }
    )
    faucet: bool = True
    faucet_amount: int = FAUCET_AMOUNT


Progress = Callable[[str], None]


def _resolve(params: SuiteParams, deployer: str) -> SuiteParams:
    alloc = {k: (v or deployer) for k, v in params.allocation.items()}
    return SuiteParams(
        **{
            **asdict(params),
            "allocation": alloc,
            "arbiter": params.arbiter or deployer,
            "area_publisher": params.area_publisher or deployer,
        }
    )


def deploy_suite(
    w3: Web3,
    account: LocalAccount,
    params: SuiteParams | None = None,
    progress: Progress | None = None,
) -> Deployment:
    """Deploys the Forwarder, SECToken, Vesting, TrustIndex, Escrow, ShareRewards, Staking,
    Court, AnchorHub, BorderGateway and AreaDirectory (Escrow, ShareRewards and Court trust the
    Forwarder), wires their roles, and (on a
    development chain, unless disabled) gives the first ten test accounts SEC from the
    community allocation."""
    say = progress or (lambda msg: log.info(msg))
    tx = Transactor(w3, account)
    deployer = account.address
    p = _resolve(params or SuiteParams(), deployer)
    alloc = p.allocation
    chain_id = w3.eth.chain_id
    start_block = w3.eth.block_number
    records: dict[str, ContractRecord] = {}

    def deploy(name: str, *args: object) -> str:
        artifact = get_artifact(name)
        address, receipt = tx.deploy(artifact, *args)
        records[name] = ContractRecord(address=address, abi=artifact.abi)
        say(f"deployed {name} at {address} ({receipt['gasUsed']:,} gas)")
        return address

    # The ERC-2771 forwarder first: Escrow, ShareRewards and Court trust it from deploy.
    forwarder = deploy("Forwarder")
    vesting = deploy("Vesting", alloc["team"], alloc["foundation"], alloc["angel"], p.vesting_start)
    token = deploy(
        "SECToken",
        alloc["private_sale"],
        alloc["business"],
        alloc["community"],
        vesting,
        p.supply_cap,
    )
    vesting_c = w3.eth.contract(address=vesting, abi=records["Vesting"].abi)
    tx.transact(vesting_c.functions.set_token(token))
    # TrustIndex takes the Escrow as its primary writer, so the Escrow's address is
    # computed before either exists: it is the deployer's next contract after TrustIndex.
    nonce = w3.eth.get_transaction_count(deployer, "pending")
    escrow_expected = get_create_address(deployer, nonce + 1)
    trust = deploy(
        "TrustIndex",
        escrow_expected,
        token,
        p.trust_eth_floor,
        p.trust_sec_floor,
        p.relation_period,
    )
    escrow = deploy(
        "Escrow",
        trust,
        token,
        p.arbiter,
        p.default_ship_window,
        p.dispute_deposit_bps,
        p.buyer_refund_bps,
        p.judge_fee_bps,
        p.dispute_timeout,
        [
            p.penalty_cancelled,
            p.penalty_missed_ship_window,
            p.penalty_fake_goods,
            p.penalty_malicious_complaint,
        ],
        p.dispute_floor_eth,
        p.dispute_floor_sec,
        forwarder,
    )
    if escrow != escrow_expected:
        raise DeploymentError(
            f"Escrow landed at {escrow}, not {escrow_expected}: another transaction from the "
            "deployer key was sent during the deployment; deploy again"
        )
    shares = deploy(
        "ShareRewards",
        escrow,
        token,
        trust,
        p.share_reward_bps,
        p.eth_to_sec_rate,
        p.share_bonus_cap,
        p.share_bonus_period,
        forwarder,
    )
    staking = deploy(
        "Staking",
        token,
        trust,
        p.min_judge_stake,
        p.min_validator_stake,
        p.unbonding_period,
        p.slash_burn_bps,
        p.slash_bounty_bps,
        p.fault_slash_bps,
        p.activation_delay,
        p.reward_rate,
        p.max_header_interval,
    )
    court = deploy("Court", escrow, staking, p.vote_period, p.no_vote_penalty, forwarder)
    anchor_hub = deploy("AnchorHub", staking, p.equivocation_slash_bps)
    deploy(
        "BorderGateway",
        anchor_hub,
        token,
        deployer,
        p.bgc_outflow_bps,
        p.bgc_outflow_period,
        p.bgc_outflow_floor,
    )
    deploy("AreaDirectory", p.area_publisher)
    escrow_c = w3.eth.contract(address=escrow, abi=records["Escrow"].abi)
    staking_c = w3.eth.contract(address=staking, abi=records["Staking"].abi)
    tx.transact(escrow_c.functions.set_share_rewards(shares))
    tx.transact(staking_c.functions.set_court(court))
    tx.transact(staking_c.functions.set_slasher(anchor_hub))
    if p.use_court:
        # Escrow trusts only the Court from here on.
        tx.transact(escrow_c.functions.set_court(court))
        p.arbiter = court
    say("wired Escrow -> ShareRewards and Court, Staking -> Court and AnchorHub")

    faucet = p.faucet and chain_id in DEV_CHAIN_IDS
    if faucet:
        token_c = w3.eth.contract(address=token, abi=records["SECToken"].abi)
        if alloc["community"] != deployer:
            say("faucet skipped: the community allocation is not held by the deployer")
            faucet = False
        else:
            for dev in get_dev_accounts(FAUCET_ACCOUNTS):
                if dev.address != deployer:
                    tx.transact(token_c.functions.transfer(dev.address, p.faucet_amount))
            say(
                f"faucet: {p.faucet_amount // SEC:,} SEC to each of the first "
                f"{FAUCET_ACCOUNTS} test accounts"
            )
            shares_c = w3.eth.contract(address=shares, abi=records["ShareRewards"].abi)
            tx.transact(token_c.functions.approve(shares, p.share_pool))
            tx.transact(shares_c.functions.fund(p.share_pool))
            say(f"share reward pool funded with {p.share_pool // SEC:,} SEC")
            tx.transact(token_c.functions.approve(staking, p.reward_pool))
            tx.transact(staking_c.functions.fund_rewards(p.reward_pool))
            say(f"validator reward pool funded with {p.reward_pool // SEC:,} SEC")

    params_out = asdict(p)
    params_out["faucet"] = faucet
    params_out["guardian"] = deployer
    params_out["forwarder"] = forwarder
    return Deployment(
        chain_id=chain_id,
        deployer=deployer,
        block=start_block + 1,
        contracts=records,
        params=params_out,
    )
