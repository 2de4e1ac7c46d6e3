"""Who the relayer pays gas for: the sponsorship policy.

A request is sponsored only when every rule passes, checked in this order (the first that
fails is the reason given):
1. it carries no ETH (`value` 0: the relayer pays gas, never prices or deposits);
2. its (contract, function selector) is allow-listed;
3. its sender is not disabled in the TrustIndex (the trust gate);
4. its sender made fewer than `rate_limit` sponsored requests in the last `rate_window` seconds;
5. the gas it may cost fits the sender's daily budget and the relayer's global daily budget
   (days are UTC days of the relayer's clock).
A permit that comes with a request must be for an allow-listed token and spender and signed by
the request's sender.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sec_offchain.relay.requests import ForwardRequest, Permit

# The functions of a trade, a share and a case that the default policy sponsors.
SPONSORED: dict[str, tuple[str, ...]] = {
    "Escrow": (
        "buy_signed",
        "buy",
        "ship",
        "confirm",
        "finalize",
        "cancel",
        "dispute",
        "withdraw",
        "create_listing",
        "close_listing",
        "cancel_signed_listing",
    ),
    "ShareRewards": ("share", "claim"),
    "Court": ("draw", "vote", "execute"),
}


@dataclass(frozen=True)
class Decision:
    """Whether a request is sponsored, and why (or why not)."""

    allowed: bool
    reason: str


@dataclass(frozen=True)
class Usage:
    """What the relayer already spent, as the policy needs it."""

    recent_requests: int
    account_gas_today: int
    global_gas_today: int


def selector_of(abi_item: dict[str, Any]) -> bytes:
    from eth_utils import function_abi_to_4byte_selector

    return bytes(function_abi_to_4byte_selector(abi_item))


@dataclass
class SponsorshipPolicy:
    """The allow-list and limits; `is_disabled(address)` is the trust gate (None: no gate)."""

    allowed: dict[tuple[str, bytes], str]  # (lower-case address, selector) -> "Escrow.ship"
    rate_limit: int = 20
    rate_window: int = 3600
    account_gas_per_day: int = 3_000_000
    global_gas_per_day: int = 100_000_000
    is_disabled: Callable[[str], bool] | None = None
    permit_tokens: frozenset[str] = field(default_factory=frozenset)
    permit_spenders: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_contracts(
        cls,
        contracts: Iterable[tuple[str, str, list[dict[str, Any]]]],
        sponsored: dict[str, tuple[str, ...]] = SPONSORED,
        **limits: Any,
    ) -> SponsorshipPolicy:
        """Allow-lists the `sponsored` functions of (name, address, abi) contracts (every
        overload of a name; names a contract lacks are skipped)."""
        allowed: dict[tuple[str, bytes], str] = {}
        for name, address, abi in contracts:
            wanted = sponsored.get(name, ())
            for item in abi:
                if item.get("type") == "function" and item.get("name") in wanted:
                    allowed[(address.lower(), selector_of(item))] = f"{name}.{item['name']}"
        return cls(allowed=allowed, **limits)

    @classmethod
    def for_suite(cls, suite: Any, **limits: Any) -> SponsorshipPolicy:
        """The default policy over a deployed suite (a `contracts.client.Suite`): its
        sponsored functions, TrustIndex as the trust gate, SEC permits to the Escrow."""
        contracts = [
            (name, str(suite.contract(name).address), suite.contract(name).abi)
            for name in SPONSORED
        ]
        trust = suite.trust
        limits.setdefault("is_disabled", lambda a: bool(trust.functions.is_disabled(a).call()))
        limits.setdefault("permit_tokens", frozenset({str(suite.token.address).lower()}))
        limits.setdefault("permit_spenders", frozenset({str(suite.escrow.address).lower()}))
        return cls.from_contracts(contracts, **limits)

    def name_of(self, request: ForwardRequest) -> str:
        return self.allowed.get((request.to.lower(), request.selector), "")

    def decide(self, request: ForwardRequest, gas: int, usage: Usage) -> Decision:
        """Whether to sponsor `request`, which may cost up to `gas` (see the module docstring
        for the rules and their order)."""
        if request.value:
            return Decision(False, "refused: the request carries ETH (value must be 0)")
        name = self.name_of(request)
        if not name:
            return Decision(
                False,
                f"refused: {request.to} function 0x{request.selector.hex()} is not sponsored",
            )
        if self.is_disabled is not None and self.is_disabled(request.sender):
            return Decision(False, f"refused: {request.sender} is disabled in the TrustIndex")
        if usage.recent_requests >= self.rate_limit:
            return Decision(
                False,
                f"refused: rate limit, {usage.recent_requests} requests from {request.sender} "
                f"in the last {self.rate_window} s (limit {self.rate_limit})",
            )
        if usage.account_gas_today + gas > self.account_gas_per_day:
            return Decision(
                False,
                f"refused: {request.sender}'s gas budget for today is spent "
                f"({usage.account_gas_today:,} used + {gas:,} > {self.account_gas_per_day:,})",
            )
        if usage.global_gas_today + gas > self.global_gas_per_day:
            return Decision(
                False,
                f"refused: the relayer's gas budget for today is spent "
                f"({usage.global_gas_today:,} used + {gas:,} > {self.global_gas_per_day:,})",
            )
        return Decision(True, f"sponsored: {name} for {request.sender} ({gas:,} gas)")

    def check_permit(self, permit: Permit, request: ForwardRequest) -> Decision:
        if permit.token.lower() not in self.permit_tokens:
            return Decision(False, f"refused: permits for token {permit.token} are not relayed")
        if permit.spender.lower() not in self.permit_spenders:
            return Decision(False, f"refused: permit spender {permit.spender} is not the Escrow")
        if permit.owner != request.sender:
            return Decision(
                False, f"refused: the permit's owner {permit.owner} is not the request's sender"
            )
        return Decision(True, "permit accepted")
