"""Compiled contract artifacts (ABI and deployment bytecode), compiled by Ape from contracts/.

Ape's compiler cache under .build/ makes every call after the first one cheap; only deploying
needs bytecode, everything else reads ABIs from the deployments file.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sec_offchain.exceptions import CompileError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str


def get_project_root() -> Path:
    """The repository root (holding ape-config.yaml and contracts/)."""
    env = os.environ.get("SEC_PROJECT_ROOT")
    root = Path(env) if env else Path(__file__).resolve().parents[2]
    if not (root / "ape-config.yaml").is_file():
        raise CompileError(f"no ape-config.yaml under {root}; set SEC_PROJECT_ROOT")
    return root


def _put_own_vyper_first_on_path() -> None:
    """ape-vyper uses the pip-installed compiler only when that `vyper` is first on PATH
    (otherwise it looks for a downloaded one and fails offline). The `vyper` installed
    beside this interpreter is the pinned one, so put its directory first, whether or not
    the virtual environment was activated."""
    bindir = str(Path(sys.executable).parent)
    if (Path(bindir) / "vyper").exists() and os.environ.get("PATH", "").split(os.pathsep)[
        0
    ] != bindir:
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


@lru_cache(maxsize=1)
def load_artifacts() -> dict[str, Artifact]:
    """Compiles (or reads from Ape's cache) every deployable contract of contracts/."""
    _put_own_vyper_first_on_path()
    warnings.filterwarnings("ignore", module="pydantic_settings")
    logging.getLogger("ape").setLevel(logging.WARNING)
    try:
        from ape import Project

        project = Project(get_project_root())
        containers = project.load_contracts()
    except Exception as exc:  # ape raises many kinds; report them as one
        raise CompileError(f"compiling contracts failed: {exc}") from exc
    artifacts: dict[str, Artifact] = {}
    for name, container in containers.items():
        bytecode = container.deployment_bytecode.bytecode if container.deployment_bytecode else None
        if not bytecode or bytecode == "0x":
            continue  # a module: internal functions only, nothing to deploy
        abi = [item.model_dump(mode="json", by_alias=True) for item in container.abi]
        artifacts[name] = Artifact(name=name, abi=abi, bytecode=bytecode)
    return artifacts


def get_artifact(name: str) -> Artifact:
    artifacts = load_artifacts()
    if name not in artifacts:
        raise CompileError(f"no contract named {name} in contracts/")
    return artifacts[name]
