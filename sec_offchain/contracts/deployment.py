"""The deployments file: `{"chain_id", "deployer", "block", "contracts": {name: {"address",
"abi"}}, "params"}` — everything other tools need to drive a deployed suite."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sec_offchain.exceptions import ConfigError


@dataclass
class ContractRecord:
    address: str
    abi: list[dict[str, Any]]


@dataclass
class Deployment:
    chain_id: int
    deployer: str
    block: int
    contracts: dict[str, ContractRecord] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "deployer": self.deployer,
            "block": self.block,
            "contracts": {
                name: {"address": rec.address, "abi": rec.abi}
                for name, rec in self.contracts.items()
            },
            "params": self.params,
        }

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        tmp.replace(path)
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Deployment:
        try:
            contracts = {
                name: ContractRecord(address=rec["address"], abi=rec["abi"])
                for name, rec in data["contracts"].items()
            }
            return cls(
                chain_id=int(data["chain_id"]),
                deployer=str(data["deployer"]),
                block=int(data["block"]),
                contracts=contracts,
                params=dict(data.get("params", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"malformed deployments file: missing or bad {exc}") from exc

    @classmethod
    def from_file(cls, path: Path) -> Deployment:
        if not path.is_file():
            raise ConfigError(f"deployments file not found: {path}")
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ConfigError(f"deployments file {path} is not JSON: {exc}") from exc
        return cls.from_dict(data)

    def address_of(self, name: str) -> str:
        if name not in self.contracts:
            raise ConfigError(f"deployment has no contract {name}")
        return self.contracts[name].address


def get_default_path(chain_id: int) -> Path:
    return Path("deployments") / f"{chain_id}.json"
