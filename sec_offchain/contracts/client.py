"""Typed access to a deployed suite: reads through views, writes through a Transactor, and
returns the ids the contracts emit (listing and order ids)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Protocol

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import TxReceipt

from sec_offchain.consensus.evidence import Evidence
from sec_offchain.contracts.deployment import Deployment
from sec_offchain.contracts.transactor import Transactor, get_revert_reason, is_revert
from sec_offchain.crypto.hashing import keccak
from sec_offchain.encoding.area_header import (
    AreaHeader,
    eip712_domain_separator,
    hash_area_header,
    recover_signer,
    sign_digest,
)
from sec_offchain.exceptions import ContractRevert

ETH = "0x0000000000000000000000000000000000000000"
VOTE_TYPEHASH = keccak(b"Vote(uint256 case_id,uint8 ruling)")


def hash_vote(case_id: int, ruling: int, chain_id: int, court: str) -> bytes:
    """The EIP-712 digest of Vote(case_id, ruling) under the domain ("SEC Court", "1",
    chain_id, court): what a panel judge signs and what `Court.vote_digest` returns."""
    struct = keccak(VOTE_TYPEHASH + case_id.to_bytes(32, "big") + ruling.to_bytes(32, "big"))
    domain = eip712_domain_separator("SEC Court", "1", chain_id, court)
    return keccak(b"\x19\x01" + domain + struct)


def sign_vote(
    private_key: bytes, case_id: int, ruling: int, chain_id: int, court: str
) -> tuple[int, int, bytes, bytes]:
    """A judge's signed vote as the Court's SignedVote tuple (ruling, v, r, s)."""
    sig = sign_digest(private_key, hash_vote(case_id, ruling, chain_id, court))
    return ruling, sig[64], sig[:32], sig[32:64]


EIP712_DOMAIN = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
LISTING_FIELDS = [
    {"name": "seller", "type": "address"},
    {"name": "price", "type": "uint256"},
    {"name": "token", "type": "address"},
    {"name": "auto_complete", "type": "uint256"},
    {"name": "ship_window", "type": "uint256"},
    {"name": "metadata", "type": "bytes32"},
    {"name": "quantity", "type": "uint256"},
    {"name": "expiry", "type": "uint256"},
    {"name": "salt", "type": "uint256"},
]
FORWARD_REQUEST_FIELDS = [
    {"name": "from", "type": "address"},
    {"name": "to", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "gas", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint48"},
    {"name": "data", "type": "bytes"},
]


def _typed_digest(
    primary: str, fields: list[dict], message: dict, name: str, chain_id: int, contract: str
) -> bytes:
    from eth_account.messages import encode_typed_data

    typed = {
        "types": {"EIP712Domain": EIP712_DOMAIN, primary: fields},
        "primaryType": primary,
        "domain": {
            "name": name,
            "version": "1",
            "chainId": chain_id,
            "verifyingContract": Web3.to_checksum_address(contract),
        },
        "message": message,
    }
    signable = encode_typed_data(full_message=typed)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def hash_listing(listing: dict[str, Any], chain_id: int, escrow: str) -> bytes:
    """The EIP-712 digest of a signed listing (`Escrow.listing_digest`). `listing` maps the
    `Listing` fields (seller, price, token, auto_complete, ship_window, metadata, quantity,
    expiry, salt) to values."""
    return _typed_digest("Listing", LISTING_FIELDS, listing, "SEC Escrow", chain_id, escrow)


def listing_tuple(listing: dict[str, Any]) -> tuple[Any, ...]:
    """The ABI tuple `buy_signed` and `cancel_signed_listing` take."""
    return tuple(listing[f["name"]] for f in LISTING_FIELDS)


def hash_forward_request(request: dict[str, Any], chain_id: int, forwarder: str) -> bytes:
    """The EIP-712 digest of an ERC-2771 `ForwardRequest` (`Forwarder.request_digest`);
    `request` maps from, to, value, gas, nonce, deadline, data."""
    return _typed_digest(
        "ForwardRequest", FORWARD_REQUEST_FIELDS, request, "SEC Forwarder", chain_id, forwarder
    )


def forward_request_tuple(request: dict[str, Any]) -> tuple[Any, ...]:
    """The ABI tuple `Forwarder.execute` takes."""
    return tuple(request[f["name"]] for f in FORWARD_REQUEST_FIELDS)


class OrderStatus(IntEnum):
    NONE = 0
    PAID = 1
    SHIPPED = 2
    COMPLETED = 3
    CANCELLED = 4
    DISPUTED = 5
    RULED = 6


class TrustStatus(IntEnum):
    NEW = 0
    ACTIVE = 1
    DISABLED = 2


@dataclass(frozen=True)
class Listing:
    listing_id: int
    seller: str
    price: int
    token: str
    auto_complete: int
    ship_window: int
    closed: bool


@dataclass(frozen=True)
class ShareReward:
    """What a completed shared purchase paid its sharer: the commission in the order's token
    (out of the seller's proceeds, pushed or credited to `owed`) and the pool bonus in SEC
    (credited for `claim`)."""

    share_id: int
    order_id: int
    sharer: str
    token: str
    commission: int
    bonus: int


@dataclass(frozen=True)
class Relation:
    """A pair's trade relation in TrustIndex."""

    trades: int
    last_trade: int
    last_gain: int
    live: bool


@dataclass(frozen=True)
class Order:
    order_id: int
    buyer: str
    seller: str
    listing_id: int
    price: int
    token: str
    status: OrderStatus
    ship_by: int
    deadline: int
    share_id: int
    dispute_deposit: int


class ChainClock(Protocol):
    """A development chain whose clock a tool may move (sec_offchain.devchain.ChainControl)."""

    def now(self) -> int: ...

    def set_next_timestamp(self, timestamp: int) -> None: ...


def to_bytes32(value: str | bytes) -> bytes:
    """A bytes32 from 0x-hex, or the keccak of any other text (metadata, tracking, evidence)."""
    if isinstance(value, bytes):
        return value.rjust(32, b"\0")[:32]
    if value.startswith("0x") and len(value) == 66:
        return bytes.fromhex(value[2:])
    return Web3.keccak(text=value)


class Suite:
    """A deployed suite on one chain."""

    def __init__(self, w3: Web3, deployment: Deployment) -> None:
        self.w3 = w3
        self.deployment = deployment
        self._contracts: dict[str, Contract] = {}

    def contract(self, name: str) -> Contract:
        if name not in self._contracts:
            rec = self.deployment.contracts[name]
            self._contracts[name] = self.w3.eth.contract(
                address=Web3.to_checksum_address(rec.address), abi=rec.abi
            )
        return self._contracts[name]

    @property
    def escrow(self) -> Contract:
        return self.contract("Escrow")

    @property
    def token(self) -> Contract:
        return self.contract("SECToken")

    @property
    def trust(self) -> Contract:
        return self.contract("TrustIndex")

    @property
    def shares(self) -> Contract:
        return self.contract("ShareRewards")

    @property
    def staking(self) -> Contract:
        return self.contract("Staking")

    @property
    def court(self) -> Contract:
        return self.contract("Court")

    @property
    def forwarder(self) -> Contract:
        """The ERC-2771 forwarder Escrow, ShareRewards and Court trust (relayed calls)."""
        return self.contract("Forwarder")

    def tx(self, account: LocalAccount) -> Transactor:
        return Transactor(self.w3, account)

    @staticmethod
    def call(fn: Any) -> Any:
        try:
            return fn.call()
        except Exception as exc:
            if not is_revert(exc):
                raise
            raise ContractRevert(get_revert_reason(exc)) from exc

    def events(self, receipt: TxReceipt, contract: str, event: str) -> list[dict[str, Any]]:
        ev = getattr(self.contract(contract).events, event)()
        return [dict(e["args"]) for e in ev.process_receipt(receipt, errors=DISCARD)]

    # ------------------------------------------------------------------ escrow writes

    def create_listing(
        self,
        seller: LocalAccount,
        price: int,
        token: str = ETH,
        auto_complete: int = 0,
        ship_window: int = 0,
        metadata: str | bytes = b"",
    ) -> tuple[int, TxReceipt]:
        fn = self.escrow.functions.create_listing(
            price, Web3.to_checksum_address(token), auto_complete, ship_window, to_bytes32(metadata)
        )
        receipt = self.tx(seller).transact(fn)
        return self.events(receipt, "Escrow", "ListingCreated")[0]["listing_id"], receipt

    def ensure_allowance(
        self, owner: LocalAccount, spender: str, amount: int, token: str | None = None
    ) -> None:
        """Approves `spender` for `amount` of `token` (SEC by default) unless it already may."""
        address = Web3.to_checksum_address(token or str(self.token.address))
        erc20 = self.w3.eth.contract(address=address, abi=self.token.abi)
        if erc20.functions.allowance(owner.address, spender).call() < amount:
            self.tx(owner).transact(erc20.functions.approve(spender, amount))

    def approve_token(self, owner: LocalAccount, token: str, amount: int) -> None:
        """Lets the escrow pull `amount` of `token` from `owner` (ERC-20 listings)."""
        self.ensure_allowance(owner, str(self.escrow.address), amount, token)

    def buy(self, buyer: LocalAccount, listing_id: int, share_id: int = 0) -> tuple[int, TxReceipt]:
        listing = self.get_listing(listing_id)
        value = 0
        if listing.token == ETH:
            value = listing.price
        else:
            self.approve_token(buyer, listing.token, listing.price)
        receipt = self.tx(buyer).transact(self.escrow.functions.buy(listing_id, share_id), value)
        return self.events(receipt, "Escrow", "OrderPaid")[0]["order_id"], receipt

    def sign_listing(self, seller: LocalAccount, listing: dict[str, Any]) -> bytes:
        """`seller`'s signature (65 bytes r || s || v, low s) of a listing: posting it costs
        no transaction."""
        digest = hash_listing(listing, self.w3.eth.chain_id, str(self.escrow.address))
        return sign_digest(bytes(seller.key), digest)

    def buy_signed(
        self, buyer: LocalAccount, listing: dict[str, Any], signature: bytes, share_id: int = 0
    ) -> tuple[int, TxReceipt]:
        """Buys a signed listing (ETH: sends the price; a token: approves it first)."""
        value = 0
        if listing["token"] == ETH:
            value = listing["price"]
        else:
            self.approve_token(buyer, listing["token"], listing["price"])
        fn = self.escrow.functions.buy_signed(listing_tuple(listing), signature, share_id)
        receipt = self.tx(buyer).transact(fn, value)
        return self.events(receipt, "Escrow", "OrderPaid")[0]["order_id"], receipt

    def cancel_signed_listing(self, seller: LocalAccount, listing: dict[str, Any]) -> TxReceipt:
        """Withdraws a signed listing for good (before or after its first purchase)."""
        fn = self.escrow.functions.cancel_signed_listing(listing_tuple(listing))
        return self.tx(seller).transact(fn)

    def signed_listing_state(self, listing: dict[str, Any]) -> tuple[int, int, bool]:
        """(listing id — 0 before the first purchase —, orders made, cancelled) of a signed
        listing, read by its digest."""
        digest = hash_listing(listing, self.w3.eth.chain_id, str(self.escrow.address))
        listing_id, sold, cancelled = self.call(self.escrow.functions.signed_listing(digest))
        return int(listing_id), int(sold), bool(cancelled)

    def forwarder_nonce(self, account: str) -> int:
        """The nonce `account`'s next relayed request must carry."""
        return int(self.call(self.forwarder.functions.nonces(Web3.to_checksum_address(account))))

    def sign_request(
        self,
        signer: LocalAccount,
        fn: Any,
        gas: int,
        value: int = 0,
        deadline: int | None = None,
        nonce: int | None = None,
    ) -> tuple[dict[str, Any], bytes]:
        """`signer`'s ERC-2771 request to call `fn` (a bound function of a contract that
        trusts the forwarder) with `gas` for the inner call; the deadline defaults to an
        hour from the latest block."""
        if deadline is None:
            deadline = int(self.w3.eth.get_block("latest")["timestamp"]) + 3600
        if nonce is None:
            nonce = self.forwarder_nonce(signer.address)
        request = {
            "from": signer.address,
            "to": Web3.to_checksum_address(fn.address),
            "value": value,
            "gas": gas,
            "nonce": nonce,
            "deadline": deadline,
            "data": bytes.fromhex(fn._encode_transaction_data()[2:]),
        }
        digest = hash_forward_request(request, self.w3.eth.chain_id, str(self.forwarder.address))
        return request, sign_digest(bytes(signer.key), digest)

    def relay(self, relayer: LocalAccount, request: dict[str, Any], signature: bytes) -> TxReceipt:
        """Submits a signed request through the forwarder; `relayer` pays the gas."""
        fn = self.forwarder.functions.execute(forward_request_tuple(request), signature)
        return self.tx(relayer).transact(fn, request["value"])

    def ship(self, seller: LocalAccount, order_id: int, tracking: str | bytes = b"") -> TxReceipt:
        return self.tx(seller).transact(self.escrow.functions.ship(order_id, to_bytes32(tracking)))

    def confirm(self, buyer: LocalAccount, order_id: int) -> TxReceipt:
        return self.tx(buyer).transact(self.escrow.functions.confirm(order_id))

    def finalize(self, caller: LocalAccount, order_id: int) -> TxReceipt:
        return self.tx(caller).transact(self.escrow.functions.finalize(order_id))

    def cancel(self, caller: LocalAccount, order_id: int) -> TxReceipt:
        return self.tx(caller).transact(self.escrow.functions.cancel(order_id))

    def dispute(self, buyer: LocalAccount, order_id: int, evidence: str | bytes = b"") -> TxReceipt:
        deposit = self.call(self.escrow.functions.dispute_deposit(order_id))
        order = self.get_order(order_id)
        value = 0
        if order.token == ETH:
            value = deposit
        elif deposit:
            self.approve_token(buyer, order.token, deposit)
        fn = self.escrow.functions.dispute(order_id, to_bytes32(evidence))
        return self.tx(buyer).transact(fn, value)

    def rule(self, arbiter: LocalAccount, order_id: int, ruling: int) -> TxReceipt:
        return self.tx(arbiter).transact(self.escrow.functions.rule(order_id, ruling))

    def withdraw(self, account: LocalAccount, token: str = ETH) -> TxReceipt:
        fn = self.escrow.functions.withdraw(Web3.to_checksum_address(token))
        return self.tx(account).transact(fn)

    # ------------------------------------------------------------------ shares

    def share(self, buyer: LocalAccount, order_id: int) -> tuple[int, TxReceipt]:
        receipt = self.tx(buyer).transact(self.shares.functions.share(order_id))
        return self.events(receipt, "ShareRewards", "Shared")[0]["share_id"], receipt

    def claim_share_rewards(self, account: LocalAccount) -> TxReceipt:
        return self.tx(account).transact(self.shares.functions.claim())

    def share_info(self, share_id: int) -> tuple[str, int, int]:
        sharer, listing_id, created_at = self.call(self.shares.functions.share_info(share_id))
        return sharer, int(listing_id), int(created_at)

    def get_share_reward(self, receipt: TxReceipt) -> ShareReward | None:
        """The sharer's commission and bonus paid by a completion (`confirm`, `finalize`,
        a seller-right ruling), or None when the completion rewarded no share."""
        events = self.events(receipt, "ShareRewards", "ShareRewarded")
        if not events:
            return None
        e = events[0]
        return ShareReward(
            int(e["share_id"]),
            int(e["order_id"]),
            e["sharer"],
            e["token"],
            int(e["commission"]),
            int(e["bonus"]),
        )

    def share_claimable(self, account: str) -> int:
        """Pool bonus (SEC) `account` can `claim`."""
        return int(self.call(self.shares.functions.claimable(account)))

    def share_bonus_left(self, account: str) -> int:
        """Pool bonus (SEC) `account` may still earn in the current bonus period."""
        return int(self.call(self.shares.functions.bonus_left(account)))

    # ------------------------------------------------------------------ judges

    def stake_judge(self, judge: LocalAccount, amount: int) -> TxReceipt:
        self.ensure_allowance(judge, str(self.staking.address), amount)
        return self.tx(judge).transact(self.staking.functions.stake_judge(amount))

    def withdraw_judge(self, judge: LocalAccount, amount: int) -> TxReceipt:
        return self.tx(judge).transact(self.staking.functions.withdraw_judge(amount))

    def vote(self, judge: LocalAccount, case_id: int, ruling: int) -> TxReceipt:
        return self.tx(judge).transact(self.court.functions.vote(case_id, ruling))

    def execute_case(self, caller: LocalAccount, case_id: int) -> TxReceipt:
        return self.tx(caller).transact(self.court.functions.execute(case_id))

    def draw(self, caller: LocalAccount, case_id: int) -> TxReceipt:
        """Seats the case's panel (from block `draw_block(case_id) + 1` on; re-arms the
        draw when its block hash has expired)."""
        return self.tx(caller).transact(self.court.functions.draw(case_id))

    def draw_block(self, case_id: int) -> int:
        return int(self.call(self.court.functions.draw_block(case_id)))

    def vote_deadline(self, case_id: int) -> int:
        """Votes are accepted while the block timestamp is below this; 0 before the draw."""
        return int(self.call(self.court.functions.vote_deadline(case_id)))

    def sign_vote(
        self, judge: LocalAccount, case_id: int, ruling: int
    ) -> tuple[int, int, bytes, bytes]:
        """`judge`'s vote signed off chain, for `execute_with_votes` (no transaction)."""
        return sign_vote(
            bytes(judge.key), case_id, ruling, self.w3.eth.chain_id, str(self.court.address)
        )

    def execute_with_votes(
        self, caller: LocalAccount, case_id: int, votes: list[tuple[int, int, bytes, bytes]]
    ) -> TxReceipt:
        """`execute`, counting signed votes (from `sign_vote`) submitted with it; on a case
        not drawn yet it draws the panel (`preview_panel`) in the same transaction."""
        fn = self.court.functions.execute_with_votes(case_id, votes)
        return self.tx(caller).transact(fn)

    def case_of(self, order_id: int) -> int:
        return int(self.call(self.court.functions.case_of(order_id)))

    def panel_of(self, case_id: int) -> list[str]:
        return list(self.call(self.court.functions.panel_of(case_id)))

    def preview_panel(self, case_id: int) -> list[str]:
        """The panel a draw would seat now (read-only, from blockhash(draw_block)): who
        signs votes for `execute_with_votes` on a case not drawn yet; the panel itself
        once drawn."""
        return list(self.call(self.court.functions.preview_panel(case_id)))

    # ------------------------------------------------------------------ validators

    @property
    def anchor_hub(self) -> Contract:
        return self.contract("AnchorHub")

    def stake_validator(self, validator: LocalAccount, area_id: int, amount: int) -> TxReceipt:
        self.ensure_allowance(validator, str(self.staking.address), amount)
        return self.tx(validator).transact(self.staking.functions.stake_validator(area_id, amount))

    def activate(self, caller: LocalAccount, validator: str) -> TxReceipt:
        """Activates what is pending in `validator`'s pool (after `activates_at`)."""
        fn = self.staking.functions.activate(Web3.to_checksum_address(validator))
        return self.tx(caller).transact(fn)

    def activate_validators(self, validators: list[LocalAccount], chain: ChainClock) -> None:
        """Waits out the activation delay on a development chain (moves its clock to the last
        `activates_at`) and activates each validator's pending stake, each signing its own."""
        pending = [v for v in validators if self.pending_of(v.address) > 0]
        if not pending:
            return
        when = max(self.activates_at(v.address) for v in pending)
        if chain.now() < when:
            chain.set_next_timestamp(when)
        for v in pending:
            self.activate(v, v.address)

    def pending_of(self, validator: str) -> int:
        """Stake (own plus nominations) of `validator`'s pool waiting for activation."""
        fn = self.staking.functions.pending_of(Web3.to_checksum_address(validator))
        return int(self.call(fn))

    def activates_at(self, validator: str) -> int:
        """When `activate(validator)` can first run for what is pending."""
        fn = self.staking.functions.activates_at(Web3.to_checksum_address(validator))
        return int(self.call(fn))

    def activation_delay(self) -> int:
        return int(self.call(self.staking.functions.activation_delay()))

    def nominate(self, nominator: LocalAccount, validator: str, amount: int) -> TxReceipt:
        self.ensure_allowance(nominator, str(self.staking.address), amount)
        fn = self.staking.functions.nominate(Web3.to_checksum_address(validator), amount)
        return self.tx(nominator).transact(fn)

    def unbond(self, validator: LocalAccount, amount: int) -> TxReceipt:
        return self.tx(validator).transact(self.staking.functions.unbond(amount))

    def withdraw_stake(self, validator: LocalAccount) -> TxReceipt:
        return self.tx(validator).transact(self.staking.functions.withdraw())

    def claim_staking(self, account: LocalAccount) -> TxReceipt:
        return self.tx(account).transact(self.staking.functions.claim())

    def next_header(self, area_id: int, **roots: bytes) -> AreaHeader:
        """The header that would anchor next in `area_id` (height and parent from the chain)."""
        height = int(self.call(self.anchor_hub.functions.latest_height(area_id))) + 1
        parent = bytes(self.call(self.anchor_hub.functions.anchored_hash(area_id, height - 1)))
        now = int(self.w3.eth.get_block("latest")["timestamp"])
        return AreaHeader(area_id, height, parent, timestamp=now, **roots)

    def anchor(
        self, relayer: LocalAccount, header: AreaHeader, signatures: list[bytes]
    ) -> TxReceipt:
        """Submits `header` with `signatures` (sorted here by signer address)."""
        digest = hash_area_header(header, self.w3.eth.chain_id, str(self.anchor_hub.address))
        ordered = sorted(signatures, key=lambda sig: int(recover_signer(digest, sig), 16))
        fn = self.anchor_hub.functions.anchor(header.as_tuple(), ordered)
        return self.tx(relayer).transact(fn)

    def report_equivocation(self, judge: LocalAccount, evidence: Evidence) -> TxReceipt:
        fn = self.anchor_hub.functions.report_equivocation(
            evidence.header_a.as_tuple(),
            evidence.sig_a,
            evidence.header_b.as_tuple(),
            evidence.sig_b,
        )
        return self.tx(judge).transact(fn)

    # ------------------------------------------------------------------ reads

    def get_listing(self, listing_id: int) -> Listing:
        raw = self.call(self.escrow.functions.get_listing(listing_id))
        return Listing(listing_id, *raw)

    def get_order(self, order_id: int) -> Order:
        raw = list(self.call(self.escrow.functions.get_order(order_id)))
        raw[5] = OrderStatus(raw[5])
        return Order(order_id, *raw)

    def owed(self, account: str, token: str = ETH) -> int:
        return int(self.call(self.escrow.functions.owed(account, Web3.to_checksum_address(token))))

    def trust_of(self, account: str) -> int:
        return int(self.call(self.trust.functions.trust_of(account)))

    def status_of(self, account: str) -> TrustStatus:
        return TrustStatus(self.call(self.trust.functions.status_of(account)))

    def trades_of(self, account: str) -> int:
        """Completed trades `account` took part in, as seller or buyer, read from Escrow's
        events since the deployment: orders completed (`OrderCompleted`) and orders ruled
        for the seller (`OrderRuled`, ruling 2), the trades Escrow records. TrustIndex keeps
        no per-account count; trades other writers record show in the pair relations."""
        who = Web3.to_checksum_address(account)
        base: dict[str, Any] = {
            "address": self.escrow.address,
            "fromBlock": self.deployment.block,
            "toBlock": "latest",
        }

        def topic(signature: str) -> str:
            return "0x" + Web3.keccak(text=signature).hex()[-64:]

        completed = topic("OrderCompleted(uint256,address,address,uint256)")
        party = "0x" + "00" * 12 + who[2:].lower()
        count = len(self.w3.eth.get_logs({**base, "topics": [completed, None, party]}))
        count += len(self.w3.eth.get_logs({**base, "topics": [completed, None, None, party]}))
        ruled = self.escrow.events.OrderRuled()
        logs = self.w3.eth.get_logs(
            {**base, "topics": [topic("OrderRuled(uint256,uint8,uint256,uint256,uint256)")]}
        )
        for log in logs:
            args = ruled.process_log(log)["args"]
            if int(args["ruling"]) == 2:
                order = self.get_order(int(args["order_id"]))
                count += who in (order.buyer, order.seller)
        return count

    def get_relation(self, a: str, b: str) -> Relation:
        """Trades between `a` and `b`, the last one, the last that raised their trust, and
        whether the relation is live (a trade within the relation period)."""
        trades, last_trade, last_gain = self.call(self.trust.functions.relation_info(a, b))
        live = bool(self.call(self.trust.functions.is_live_relation(a, b)))
        return Relation(int(trades), int(last_trade), int(last_gain), live)

    def is_live_relation(self, a: str, b: str) -> bool:
        return bool(self.call(self.trust.functions.is_live_relation(a, b)))

    def relation_period(self) -> int:
        return int(self.call(self.trust.functions.relation_period()))

    def trust_value_floor(self, token: str = ETH) -> int:
        """Smallest trade in `token` that can raise a trust index (0: none can)."""
        fn = self.trust.functions.value_floor(Web3.to_checksum_address(token))
        return int(self.call(fn))

    def sec_balance(self, account: str) -> int:
        return int(self.call(self.token.functions.balanceOf(account)))
