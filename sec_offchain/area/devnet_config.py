"""The devnet's shared configuration file: the chain, the deployed contracts, and each area's
nodes (address, development key, port). Written by `sec devnet up`, read by every process it
starts. Development keys only: a real node keeps its key in its own keystore."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sec_offchain.area.block import anchor_domain_separator
from sec_offchain.area.records import domain_separator


@dataclass(frozen=True)
class NodeEntry:
    address: str
    key_hex: str
    port: int
    host: str = ""  # where the node listens; "" = 127.0.0.1 (every process on this machine)

    @property
    def key(self) -> bytes:
        return bytes.fromhex(self.key_hex[2:] if self.key_hex.startswith("0x") else self.key_hex)


@dataclass(frozen=True)
class AreaEntry:
    area_id: int
    nodes: tuple[NodeEntry, ...]


@dataclass(frozen=True)
class DevnetConfig:
    chain_id: int
    rpc: str
    deployments: str
    anchor_hub: str
    escrow: str
    trust_index: str
    home: Path
    interval: float
    areas: tuple[AreaEntry, ...]
    bridges: tuple[str, ...] = ()  # bridge addresses, primary first
    bridge_keys: tuple[str, ...] = ()
    relayer_key: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def anchor_separator(self) -> bytes:
        return anchor_domain_separator(self.chain_id, self.anchor_hub)

    @property
    def record_separator(self) -> bytes:
        return domain_separator(self.chain_id, self.escrow)

    def area(self, area_id: int) -> AreaEntry:
        for a in self.areas:
            if a.area_id == area_id:
                return a
        raise KeyError(f"no area {area_id} in the devnet")

    def area_of(self, account: str) -> int:
        """The address-hash area (accounts no published directory lists; processes without
        an AreaDirectory)."""
        ids = sorted(a.area_id for a in self.areas)
        return ids[int(account, 16) % len(ids)]

    @property
    def directory_folder(self) -> Path:
        """Where the published directories' files (`epoch-<N>.json`) are kept."""
        return Path(self.extra.get("areas_dir") or self.home / "areas")

    def published_directories(self):
        """The account -> area directories AreaDirectory published, each checked against its
        root (`PublishedDirectories`); None without a chain or an AreaDirectory."""
        if not self.rpc or not self.deployments:
            return None
        from web3 import Web3

        from sec_offchain.areas.published import PublishedDirectories
        from sec_offchain.contracts.deployment import Deployment

        deployment = Deployment.from_file(Path(self.deployments))
        rec = deployment.contracts.get("AreaDirectory")
        if rec is None:
            return None
        w3 = Web3(Web3.HTTPProvider(self.rpc, request_kwargs={"timeout": 5}))
        return PublishedDirectories(
            w3.eth.contract(address=Web3.to_checksum_address(rec.address), abi=rec.abi),
            self.directory_folder,
            tuple(sorted(a.area_id for a in self.areas)),
            start_block=int(self.extra.get("start_block", deployment.block)),
            confirmations=self.confirmations,
        )

    def seller_area_check(self, area_id: int):
        """What area `area_id`'s node checks a seller-written record with: its seller's
        area when the order was paid, by the published directories (`SellerAreaCheck`);
        None without a chain or an AreaDirectory (nothing to check against)."""
        published = self.published_directories()
        if published is None:
            return None
        from web3 import Web3

        from sec_offchain.areas.record_check import SellerAreaCheck
        from sec_offchain.contracts.deployment import Deployment

        escrow = Deployment.from_file(Path(self.deployments)).contracts["Escrow"]
        w3 = published.contract.w3
        return SellerAreaCheck(
            published,
            w3.eth.contract(address=Web3.to_checksum_address(self.escrow), abi=escrow.abi),
            area_id,
            start_block=int(self.extra.get("start_block", 0)),
            confirmations=self.confirmations,
        )

    def disabled_check(self) -> Callable[[bytes], bool]:
        """`TrustIndex.is_disabled`, read from the chain with a 10-second cache. Disabled is
        permanent, so a cached True never goes stale; an outage answers False for unknown
        accounts only until the chain is back (the escrow refuses disabled parties anyway)."""
        if not self.rpc:
            return lambda account: False
        from web3 import Web3

        w3 = Web3(Web3.HTTPProvider(self.rpc, request_kwargs={"timeout": 5}))
        abi = [
            {
                "name": "is_disabled",
                "type": "function",
                "stateMutability": "view",
                "inputs": [{"name": "account", "type": "address"}],
                "outputs": [{"name": "", "type": "bool"}],
            }
        ]
        trust = w3.eth.contract(address=Web3.to_checksum_address(self.trust_index), abi=abi)
        cache: dict[bytes, tuple[float, bool]] = {}

        def check(account: bytes) -> bool:
            hit = cache.get(account)
            if hit and (hit[1] or time.time() - hit[0] < 10):
                return hit[1]
            try:
                value = bool(trust.functions.is_disabled(Web3.to_checksum_address(account)).call())
            except Exception:  # noqa: BLE001 - RPC outage
                return hit[1] if hit else False
            cache[account] = (time.time(), value)
            return value

        return check

    def events(self):
        """BorderGateway's events on the devnet's chain (None without a chain)."""
        if not self.rpc or not self.deployments:
            return None
        from web3 import Web3

        from sec_offchain.area.events import Web3Events
        from sec_offchain.contracts.deployment import Deployment

        deployment = Deployment.from_file(Path(self.deployments))
        if "BorderGateway" not in deployment.contracts:
            return None
        w3 = Web3(Web3.HTTPProvider(self.rpc, request_kwargs={"timeout": 5}))
        gw = deployment.contracts["BorderGateway"]
        directory = deployment.contracts.get("AreaDirectory")
        return Web3Events(
            w3,
            gw.address,
            gw.abi,
            int(self.extra.get("start_block", 0)),
            confirmations=self.confirmations,
            directory=(directory.address, directory.abi) if directory else None,
        )

    @property
    def confirmations(self) -> int:
        """Main-chain blocks every reader of chain events waits for (reorg safety)."""
        return int(self.extra.get("confirmations", 0))

    def save(self, path: Path) -> Path:
        data = asdict(self)
        data["home"] = str(self.home)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2))
        return path

    @classmethod
    def load(cls, path: Path) -> DevnetConfig:
        data = json.loads(Path(path).read_text())
        data["home"] = Path(data["home"])
        data["areas"] = tuple(
            AreaEntry(a["area_id"], tuple(NodeEntry(**n) for n in a["nodes"]))
            for a in data["areas"]
        )
        data["bridges"] = tuple(data.get("bridges", ()))
        data["bridge_keys"] = tuple(data.get("bridge_keys", ()))
        return cls(**data)
