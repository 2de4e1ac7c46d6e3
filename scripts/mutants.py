"""Mutation testing by hand: does the suite notice a small, plausible mistake?

Each mutant below is one edit a careless change or a bad merge could make (an operator
swapped, a constant changed, a check deleted). The script applies them one at a time to the
file, runs the tests that cover that file with `-x`, and restores the file, always (also on
Ctrl-C or SIGTERM; a backup next to the file, `<name>.mutant-backup`, is restored on the next
start if the process was killed outright). A mutant is *killed* when the tests fail (or time
out), and *survives* when they pass: a survivor is a bug the suite would let through.

    make mutants                                   # every off-chain component
    .venv/bin/python scripts/mutants.py --component consensus --limit 5
    .venv/bin/python scripts/mutants.py --contracts --component contracts   # every contract
    .venv/bin/python scripts/mutants.py --contracts --component contracts/court --limit 3
    .venv/bin/python scripts/mutants.py --list     # the mutants, and whether each applies
    .venv/bin/python scripts/mutants.py --component relay --no-baseline --match "rate"

`--limit N` takes at most N mutants per file (spread over the file's list, the same ones every
run), so a run stays short on a small machine. One test process runs at a time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BACKUP = ".mutant-backup"

OFF = "tests/offchain/"
INT = "tests/integration/"
# the quick, targeted files first: with -x a mutant is usually killed there
CHAIN_TESTS = (OFF + "test_area_hostile.py", OFF + "test_area_chain.py", OFF + "test_area_pow.py")
NODE_TESTS = (OFF + "test_area_hostile.py", OFF + "test_area_node.py")
CONSENSUS_TESTS = (
    OFF + "test_consensus_exact.py",
    OFF + "test_consensus.py",
    OFF + "test_area_pow.py",
    OFF + "test_signer.py",
)

GWT = "tests/gateway/"
# test_store.py before the files that start the session's gateway (test_proofs.py,
# test_api.py): its reorg test would otherwise show that gateway two reorgs, and
# test_api.py's "no alerts" would fail on the unmutated code
GATEWAY_TESTS = (
    GWT + "test_alerts.py",
    GWT + "test_store.py",
    GWT + "test_proofs.py",
    GWT + "test_durability.py",
    GWT + "test_api.py",
)
# the projection, the store and the indexer: unit tests on the module first, then the
# recorded history
PROJECTION_TESTS = (GWT + "test_projection.py", GWT + "test_store.py", GWT + "test_api.py")
# submissions and the lookup: the checks as functions first, then through a running gateway
GATEWAY_AREAS_TESTS = (GWT + "test_area_checks.py", GWT + "test_areas_api.py")
WEB_TESTS = (GWT + "test_api.py",)

RELAY_TESTS = (
    OFF + "test_relay.py",
    INT + "test_relay_core.py",
    INT + "test_gasless.py",
)
AREAS_TESTS = (OFF + "test_areas.py", OFF + "test_area_moves.py")

CT = "tests/contracts/"
ESCROW_TESTS = (
    CT + "test_escrow.py",
    CT + "test_escrow_receivers.py",
    CT + "test_escrow_tokens.py",
    CT + "test_economics_trade.py",
    CT + "test_share_rewards.py",
    CT + "test_court_draw.py",
    CT + "test_signed_listings.py",
)
COURT_TESTS = (CT + "test_court.py", CT + "test_court_draw.py", CT + "test_court_combined_draw.py")
STAKING_TESTS = (
    CT + "test_staking_rewards.py",
    CT + "test_economics_validators.py",
    CT + "test_anchor_hub.py",
    CT + "test_court.py",
    CT + "test_court_draw.py",
)

# file -> (component, test files run for its mutants); `--component contracts` takes every
# contracts/... component, `--component area` every area/... one
TARGETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sec_offchain/area/chain.py": ("area/chain", CHAIN_TESTS),
    "sec_offchain/area/ledger.py": ("area/chain", CHAIN_TESTS),
    "sec_offchain/area/records.py": ("area/records", CHAIN_TESTS[:2]),
    "sec_offchain/area/merkle.py": ("area/records", CHAIN_TESTS[:2]),
    "sec_offchain/area/node.py": ("area/node", NODE_TESTS),
    "sec_offchain/area/net.py": ("area/node", NODE_TESTS),
    "sec_offchain/storage.py": ("storage", (OFF + "test_durability.py",)),
    "sec_offchain/consensus/communities.py": ("consensus", CONSENSUS_TESTS),
    "sec_offchain/consensus/pow.py": ("consensus", CONSENSUS_TESTS),
    "sec_offchain/consensus/fork_choice.py": ("consensus", CONSENSUS_TESTS),
    "sec_offchain/consensus/signer.py": ("consensus", CONSENSUS_TESTS),
    "sec_offchain/relayers/anchor.py": ("relayers", (INT + "test_anchor_relayer.py",)),
    "sec_offchain/relayers/bridge.py": ("relayers", (INT + "test_escrow_bridge.py",)),
    "sec_offchain/relayers/bgc.py": ("relayers", (INT + "test_bgc.py",)),
    "sec_offchain/gateway/network.py": ("gateway", GATEWAY_TESTS),
    "sec_offchain/gateway/proofs.py": ("gateway", GATEWAY_TESTS),
    "sec_offchain/gateway/indexer.py": ("gateway", GATEWAY_TESTS),
    "sec_offchain/gateway/app.py": ("gateway", GATEWAY_TESTS),
    "sec_offchain/gateway/projection.py": ("gateway", PROJECTION_TESTS),
    "sec_offchain/gateway/store.py": ("gateway", PROJECTION_TESTS),
    "sec_offchain/gateway/areas.py": ("gateway", GATEWAY_AREAS_TESTS),
    "sec_offchain/gateway/web.py": ("gateway", WEB_TESTS),
    "sec_offchain/relay/policy.py": ("relay", RELAY_TESTS),
    "sec_offchain/relay/requests.py": ("relay", RELAY_TESTS),
    "sec_offchain/relay/core.py": ("relay", RELAY_TESTS),
    "sec_offchain/relay/store.py": ("relay", RELAY_TESTS),
    "sec_offchain/areas/graph.py": ("areas", AREAS_TESTS),
    "sec_offchain/areas/directory.py": ("areas", AREAS_TESTS),
    "sec_offchain/areas/published.py": ("areas", AREAS_TESTS[::-1]),
    "sec_offchain/areas/mover.py": ("areas", AREAS_TESTS[::-1]),
    "sec_offchain/areas/lookup.py": ("areas", AREAS_TESTS),
    "sec_offchain/areas/cluster.py": ("areas", AREAS_TESTS),
    "contracts/Escrow.vy": ("contracts/escrow", ESCROW_TESTS),
    "contracts/Court.vy": ("contracts/court", COURT_TESTS),
    "contracts/Staking.vy": ("contracts/staking", STAKING_TESTS),
    "contracts/TrustIndex.vy": (
        "contracts/trust",
        (CT + "test_trust_index.py", CT + "test_economics_trade.py"),
    ),
    "contracts/ShareRewards.vy": (
        "contracts/shares",
        (CT + "test_share_rewards.py", CT + "test_economics_trade.py"),
    ),
    "contracts/AnchorHub.vy": ("contracts/anchor", (CT + "test_anchor_hub.py",)),
    "contracts/BorderGateway.vy": ("contracts/gateway", (CT + "test_border_gateway.py",)),
    "contracts/Forwarder.vy": ("contracts/forwarder", (CT + "test_forwarder.py",)),
    "contracts/modules/erc2771.vy": (
        "contracts/forwarder",
        (CT + "test_forwarder.py", CT + "test_signed_listings.py"),
    ),
    "contracts/AreaDirectory.vy": ("contracts/directory", (CT + "test_area_directory.py",)),
}


@dataclass(frozen=True)
class Mutant:
    path: str
    old: str  # must occur exactly once in the file
    new: str
    what: str
    group: str = "base"  # "heldout": written after the tests, not aimed at by them

    @property
    def component(self) -> str:
        return TARGETS[self.path][0]


def m(path: str, old: str, new: str, what: str) -> Mutant:
    return Mutant(path, old, new, what)


def h(path: str, old: str, new: str, what: str) -> Mutant:
    return Mutant(path, old, new, what, "heldout")


C = "sec_offchain/area/chain.py"
L = "sec_offchain/area/ledger.py"
R = "sec_offchain/area/records.py"
MK = "sec_offchain/area/merkle.py"
N = "sec_offchain/area/node.py"
NT = "sec_offchain/area/net.py"
S = "sec_offchain/storage.py"
CM = "sec_offchain/consensus/communities.py"
P = "sec_offchain/consensus/pow.py"
F = "sec_offchain/consensus/fork_choice.py"
SG = "sec_offchain/consensus/signer.py"
A = "sec_offchain/relayers/anchor.py"
B = "sec_offchain/relayers/bridge.py"
G = "sec_offchain/relayers/bgc.py"
GN = "sec_offchain/gateway/network.py"
GP = "sec_offchain/gateway/proofs.py"
GI = "sec_offchain/gateway/indexer.py"
GA = "sec_offchain/gateway/app.py"
GJ = "sec_offchain/gateway/projection.py"
GS = "sec_offchain/gateway/store.py"
GR = "sec_offchain/gateway/areas.py"
GW = "sec_offchain/gateway/web.py"
RP = "sec_offchain/relay/policy.py"
RQ = "sec_offchain/relay/requests.py"
RC = "sec_offchain/relay/core.py"
RS = "sec_offchain/relay/store.py"
AG = "sec_offchain/areas/graph.py"
AD = "sec_offchain/areas/directory.py"
AP = "sec_offchain/areas/published.py"
AM = "sec_offchain/areas/mover.py"
AL = "sec_offchain/areas/lookup.py"
AC = "sec_offchain/areas/cluster.py"
ES = "contracts/Escrow.vy"
CO = "contracts/Court.vy"
ST = "contracts/Staking.vy"
TI = "contracts/TrustIndex.vy"
SR = "contracts/ShareRewards.vy"
AH = "contracts/AnchorHub.vy"
BG = "contracts/BorderGateway.vy"
FW = "contracts/Forwarder.vy"
M2771 = "contracts/modules/erc2771.vy"
ADC = "contracts/AreaDirectory.vy"

MUTANTS: list[Mutant] = [
    # ---------------------------------------------------------------- area/chain
    m(
        C,
        "if tx.nonce <= self.ledger.tx_nonces",
        "if tx.nonce < self.ledger.tx_nonces",
        "pool takes an applied tx again",
    ),
    m(
        C,
        "if h.timestamp <= parent.timestamp:",
        "if h.timestamp < parent.timestamp:",
        "block may reuse the parent's timestamp",
    ),
    m(C, 'raise BlockError("block is for another area")', "pass", "other area's block taken"),
    m(C, "FINALITY_DEPTH = 2", "FINALITY_DEPTH = 1", "finality one block deep"),
    m(
        C,
        "if current - slot <= LATE_SLOTS:",
        "if current - slot < LATE_SLOTS:",
        "late-block window one slot short",
    ),
    m(C, "if sealer != h.producer or not", "if not", "seal not checked against the producer"),
    m(
        C,
        'raise RecordError(f"record is for area',
        'print(f"record is for area',
        "record of another area taken",
    ),
    m(C, 'raise RecordError("buyer is disabled")', "pass", "disabled buyer not refused"),
    m(
        C,
        "if row and (row[0] < rank or",
        "if row and (row[0] > rank or",
        "a worse-ranked writer replaces the pooled record",
    ),
    m(
        C,
        "return 1 + self.config.bridges.index(signer)",
        "return self.config.bridges.index(signer)",
        "primary bridge ranks with the seller",
    ),
    m(C, "if orders & base_orders:", "if False:", "an order recorded twice along a chain"),
    m(
        C,
        "for height in range(len(self.canonical), common, -1):",
        "for height in range(len(self.canonical) - 1, common, -1):",
        "the top orphaned block's records do not return to the pool",
    ),
    m(
        C,
        "if h.height > self.height:",
        "if h.height >= self.height:",
        "an equal-length fork takes over",
    ),
    m(
        C,
        "return timestamp - since >= self.interval * (1 + 2 * rank)",
        "return timestamp - since > self.interval * (1 + 2 * rank)",
        "stand-in one tick late",
    ),
    m(C, "if tuple(egress) != block.egress:", "if False:", "egress not checked"),
    m(C, "if credit_root(table) != h.credit_root:", "if False:", "credit root not checked"),
    m(C, "MAX_CLOCK_DRIFT = 5", "MAX_CLOCK_DRIFT = 50", "clock drift allowance widened"),
    m(
        C,
        "if bid in on_best or bid in parents or hd.height <= final:",
        "if bid in on_best or bid in parents or hd.height < final:",
        "finality off by one",
    ),
    m(
        C,
        "        if member in bucket:\n            return False\n",
        "",
        "a member's second share replaces its first",
    ),
    m(C, "if not own and tx_root(ids, extra) != h.tx_root:", "if False:", "tx_root not checked"),
    # ---------------------------------------------------------------- area/ledger
    m(
        L,
        "if tx.nonce != self.tx_nonces.get(tx.sender, 0) + 1:",
        "if tx.nonce <= self.tx_nonces.get(tx.sender, 0):",
        "a nonce may be skipped",
    ),
    m(L, "if key in self.deposits:", "if False:", "a deposit credited twice"),
    m(L, "if key in self.ingress:", "if False:", "a message consumed twice"),
    m(
        L,
        "self.balances.get(tx.sender, 0) < tx.amount",
        "self.balances.get(tx.sender, 0) <= tx.amount",
        "paying the whole balance refused",
    ),
    m(L, "if tx.amount <= 0 or", "if tx.amount < 0 or", "zero payment taken"),
    m(
        L,
        'if tx.sender != p["seller"] or p["status"] != PAID:',
        'if p["status"] != PAID:',
        "anyone ships",
    ),
    m(
        L,
        'p["status"] not in (PAID, SHIPPED)',
        'p["status"] not in (PAID, SHIPPED, COMPLETED)',
        "an order confirmed twice",
    ),
    m(
        L,
        'self.balances[p["seller"]] = self.balances.get(p["seller"], 0) + p["amount"]',
        'self.balances[p["buyer"]] = self.balances.get(p["buyer"], 0) + p["amount"]',
        "the buyer is paid",
    ),
    m(
        L,
        "            if tx.dst_area == self.area_id:\n"
        '                raise LedgerError("a payment goes to another area")\n',
        "",
        "a payment to the own area",
    ),
    m(
        L,
        "if seen != (i.sender, i.recipient, i.amount, i.payload_hash):",
        "if False:",
        "ingress not matched against the delivered message",
    ),
    m(
        L,
        "        if signer != self.sender:\n",
        "        if signer == b'':\n",
        "tx signature not tied to its sender",
    ),
    # ---------------------------------------------------------------- area/records
    m(R, "if record.seller == record.buyer:", "if False:", "self-trade record taken"),
    m(
        R,
        "if record.credit_delta not in (-1, 0, 1):",
        "if record.credit_delta not in (-1, 0, 1, 2):",
        "credit delta 2",
    ),
    m(
        R,
        "if record.status == STATUS_COMPLETED and record.credit_delta != 1:",
        "if False:",
        "completed trade without credit",
    ),
    m(
        R,
        "if not 0 < len(record.ciphertext) <= MAX_CIPHERTEXT:",
        "if not 0 < len(record.ciphertext) < MAX_CIPHERTEXT:",
        "largest ciphertext refused",
    ),
    m(
        R,
        "+ keccak(self.ciphertext)\n",
        "+ keccak(self.ciphertext[:-1])\n",
        "last ciphertext byte not signed",
    ),
    m(R, "if record.area_id <= 0:", "if record.area_id < 0:", "area 0 taken"),
    m(
        R,
        "            if len(sig) != 65:\n",
        "            if len(sig) > 65:\n",
        "short signature decoded",
    ),
    m(
        MK,
        "if 2 * i + 2 < len(tree) and tree[i] != node_hash",
        "if False and tree[i] != node_hash",
        "inner nodes of a dump not checked",
    ),
    m(
        MK,
        "for i in range(len(tree) // 2 - 1 + (len(tree) % 2), -1, -1):",
        "for i in range(len(tree) // 2 - 1 + (len(tree) % 2), 0, -1):",
        "root of a dump not checked",
    ),
    m(
        MK,
        '            raise MerkleError("a proof node is not 32 bytes")',
        "            pass",
        "short proof nodes hashed",
    ),
    m(MK, "if loaded.leaf(i) != leaf_hash(types, value):", "if False:", "dump leaves not checked"),
    m(MK, 'if data.get("format") != "standard-v1":', "if False:", "any dump format taken"),
    # ---------------------------------------------------------------- area/node
    m(
        N,
        "            if recover_address(bid, sig) != validator:\n                return\n",
        "",
        "gossiped attestation signature not checked",
    ),
    m(
        N,
        "while self.attested < self.chain.final_height:",
        "while self.attested < self.chain.height:",
        "attests headers that are not final",
    ),
    m(
        N,
        '"next_tx_nonce": ledger.tx_nonces.get(account, 0) + 1',
        '"next_tx_nonce": ledger.tx_nonces.get(account, 0)',
        "ledger view nonce off by one",
    ),
    m(
        N,
        'return True, "accepted" if new else "duplicate"\n\n    async def _share',
        'return True, "duplicate" if new else "accepted"\n\n    async def _share',
        "record ack says duplicate for a new record",
    ),
    m(N, "min(count, SYNC_BATCH) - 1", "min(count, SYNC_BATCH)", "serves one block too many"),
    m(
        N,
        "if new:\n            self._broadcast(BLOCK, payload, skip=conn)",
        "if True:\n            self._broadcast(BLOCK, payload, skip=conn)",
        "known blocks gossiped again",
    ),
    m(N, "if cur.rowcount:", "if True:", "known attestations gossiped again"),
    m(
        NT,
        "        if signer != hello.node:\n",
        "        if signer == b'':\n",
        "hello not tied to the node it names",
    ),
    m(
        NT,
        "if theirs.chain_id != chain_id or theirs.area_id",
        "if theirs.area_id",
        "peer of another chain taken",
    ),
    m(
        NT,
        "if abs(theirs.timestamp - time.time()) > HELLO_MAX_SKEW:",
        "if theirs.timestamp - time.time() > HELLO_MAX_SKEW:",
        "an old hello taken",
    ),
    m(NT, "if not 1 <= length <= MAX_FRAME:", "if not 1 <= length:", "huge frames read"),
    # ---------------------------------------------------------------- storage
    m(
        S,
        'db.execute("PRAGMA synchronous=FULL")',
        'db.execute("PRAGMA synchronous=NORMAL")',
        "synchronous weakened",
    ),
    m(
        S,
        'db.execute("PRAGMA journal_mode=WAL")',
        'db.execute("PRAGMA journal_mode=DELETE")',
        "rollback journal instead of WAL",
    ),
    # ---------------------------------------------------------------- consensus
    m(
        CM,
        "half = min(degree // 2, (n - 1) // 2)",
        "half = degree // 2",
        "small rings repeat nodes",
    ),
    m(CM, '[:8], "big") % k + 1', '[:8], "big") % k', "votes 0..K-1"),
    m(
        CM,
        'if tie_break == "smallest" or len(tied) == 1:\n        return tied[0]',
        'if tie_break == "smallest" or len(tied) == 1:\n        return tied[-1]',
        "ties go to the largest",
    ),
    m(CM, "return slot % k + 1", "return (slot + 1) % k + 1", "duty shifted by a slot"),
    m(
        CM,
        "if c == vote(voter, epoch, node, k)",
        "if c == vote(node, epoch, voter, k)",
        "votes rechecked with voter and neighbor swapped",
    ),
    m(
        CM,
        "key=lambda n: keccak(_e(epoch) + n)",
        "key=lambda n: keccak(n)",
        "the ring is the same every epoch",
    ),
    m(
        P,
        'return int.from_bytes(h, "big") < MAX_TARGET',
        'return int.from_bytes(h, "big") <= MAX_TARGET',
        "work equal to the target passes",
    ),
    m(P, "factor = min(2.0, max(0.5,", "factor = min(4.0, max(0.5,", "retarget clamp widened"),
    m(
        P,
        "if (parent.height + 1) % self.retarget_every == 0",
        "if parent.height % self.retarget_every == 0",
        "retarget one height early",
    ),
    m(
        P,
        "if parent is not None and self.slot_of(parent.timestamp) >= slot:",
        "if parent is not None and self.slot_of(parent.timestamp) > slot:",
        "two blocks in one slot along a chain",
    ),
    m(
        P,
        'return "community is not the one on duty in this slot"',
        "pass",
        "community of the header not checked",
    ),
    m(P, 'return "difficulty does not follow from the parent"', "pass", "difficulty not checked"),
    m(
        P,
        "if member == header.producer or member in seen:",
        "if member in seen:",
        "the producer's own share counts",
    ),
    m(P, "SHARE_FACTOR = 16", "SHARE_FACTOR = 8", "shares twice as hard"),
    m(
        P,
        "return int((timestamp - self.genesis_time) // self.slot_time)",
        "return int(timestamp // self.slot_time)",
        "slots ignore the genesis time",
    ),
    m(F, "now_slot - b.slot <= LATE_SLOTS", "now_slot - b.slot < LATE_SLOTS", "late window short"),
    m(
        F,
        "if any(self.blocks[c].slot > b.slot",
        "if any(self.blocks[c].slot >= b.slot",
        "refusal on a same-slot child",
    ),
    m(
        F,
        "if self.best is None or b.height > self.height():",
        "if self.best is None or b.height >= self.height():",
        "ties go to the last seen",
    ),
    m(
        F,
        "if self.blocks[leaf].height > top - self.depth:",
        "if self.blocks[leaf].height > top - self.depth + 1:",
        "a close competitor ignored",
    ),
    m(F, "final = top - self.depth\n", "final = top - self.depth + 1\n", "final one block early"),
    m(
        SG,
        "if header.height < highest:",
        "if header.height < highest - 1:",
        "signs one height below the highest",
    ),
    m(SG, "if bytes(row[0]) != digest:", "if False:", "a second header at a height signed"),
    # ---------------------------------------------------------------- relayers
    m(
        A,
        "if total == 0 or signed * 3 <= total * 2:",
        "if total == 0 or signed * 3 < total * 2:",
        "exactly 2/3 taken as a quorum",
    ),
    m(
        A,
        "if recover_signer(digest, sig).lower() == validator.lower():",
        "if True:",
        "attestation signatures not checked before sending",
    ),
    m(
        A,
        "if depth < self.confirmations:",
        "if depth <= self.confirmations:",
        "one confirmation too many",
    ),
    m(
        A,
        'self.w3.eth.block_number - receipt["blockNumber"] + 1',
        'self.w3.eth.block_number - receipt["blockNumber"] + 2',
        "depth counted one high",
    ),
    m(
        A,
        "            if self._anchored(first.header, first.digest):\n"
        '                return StepResult("already", first.header.height)\n',
        '            return StepResult("already", first.header.height)\n',
        "every revert taken as done",
    ),
    m(
        A,
        "if int(self.hub.functions.latest_height(self.area_id).call()) >= height:",
        "if True:",
        "a failed anchor taken as done",
    ),
    m(A, "if mined_nonce > nonce:", "if mined_nonce >= nonce:", "in-flight tx dropped early"),
    m(
        A,
        "for a, s in zip(signers, stakes, strict=True) if s > 0]",
        "for a, s in zip(signers, stakes, strict=True) if s >= 0]",
        "unstaked signers sent",
    ),
    m(
        B,
        "if sender != self.primary or recover_address(keccak(body), sig) != sender:",
        "if sender != self.primary:",
        "heartbeat signature not checked",
    ),
    m(
        B,
        "# not acknowledged: stop before this block so it is retried\n"
        '                self.db.execute("UPDATE cursor SET block=? WHERE id=0", '
        '(e["blockNumber"] - 1,))',
        "# not acknowledged: stop before this block so it is retried\n"
        '                self.db.execute("UPDATE cursor SET block=? WHERE id=0", '
        '(e["blockNumber"],))',
        "a refused block is skipped",
    ),
    m(B, "start = self.cursor + 1", "start = self.cursor", "the cursor block scanned again"),
    m(
        B,
        "safe = fetch_safe_head(self.w3, self.cfg.confirmations)",
        "safe = fetch_safe_head(self.w3, 0)",
        "confirmations ignored",
    ),
    m(B, "        if not self.active:\n            return 0\n", "", "a standby submits"),
    m(
        B,
        "if self.active and self.heard_in_row >= self.cfg.step_back_after:",
        "if self.active and self.heard_in_row >= 1:",
        "steps back at the first heartbeat",
    ),
    m(
        B,
        "CREDIT_OF_RULING = {0: 0, RULING_BUYER: -1, RULING_SELLER: 1}",
        "CREDIT_OF_RULING = {0: 0, RULING_BUYER: 1, RULING_SELLER: -1}",
        "rulings swapped",
    ),
    m(G, "if m.nonce < nxt:", "if m.nonce <= nxt:", "the next message taken as delivered"),
    m(
        G,
        'if "already delivered" in str(exc) or moved > m.nonce:',
        "if True:",
        "every revert taken as delivered",
    ),
    # ---------------------------------------------------------------- held out: written after
    # the tests, to check the suite on mistakes it was not written against
    h(C, "if h.parent_hash != ZERO32:", "if False:", "a first block with a parent taken"),
    h(C, "if parent.height != h.height - 1:", "if False:", "a height gap taken"),
    h(
        C,
        '"SELECT 1 FROM included WHERE order_id=?", (record.order_id,)\n            ).fetchone():',
        '"SELECT 1 FROM included WHERE order_id=-1"\n            ).fetchone():',
        "an included order pooled again",
    ),
    h(
        C,
        "FROM pool ORDER BY seq LIMIT ?",
        "FROM pool ORDER BY seq DESC LIMIT ?",
        "pool newest first",
    ),
    h(
        C,
        "        if rank > 0:\n",
        "        if rank > 1:\n",
        "the primary bridge's record refused for a disabled party",
    ),
    h(L, "        elif listing:\n", "        elif not listing:\n", "purchase taken as a transfer"),
    h(
        L,
        "            self.egress_nonces[tx.dst_area] = n\n",
        "",
        "every message to an area gets nonce 1",
    ),
    h(
        R,
        'if area[:1] == b"\\0" or order[:1] == b"\\0" or status[:1] == b"\\0":',
        'if area[:1] == b"\\0":',
        "non-canonical order id decoded",
    ),
    h(
        R,
        '+ self.buyer.rjust(32, b"\\0")',
        '+ self.seller.rjust(32, b"\\0")',
        "the buyer is not signed",
    ),
    h(
        N,
        'return True, "accepted" if new else "duplicate"\n\n    def ledger_view',
        'return True, "duplicate" if new else "accepted"\n\n    def ledger_view',
        "tx ack says duplicate for a new tx",
    ),
    h(
        P,
        "if member not in self.producers or not self.on_duty(member, slot):",
        "if member not in self.producers:",
        "off-duty shares counted",
    ),
    h(
        P,
        "d = parent.difficulty or self.difficulty",
        "d = self.difficulty",
        "difficulty never carried over",
    ),
    h(
        CM,
        "    if not counts:\n        return 1\n",
        "    if not counts:\n        return 0\n",
        "a node without votes in no community",
    ),
    h(
        F,
        "self.reorgs.append(self.height() - fork)",
        "self.reorgs.append(fork)",
        "reorg depth as the fork height",
    ),
    h(
        A,
        "if header.height != height or header.area_id != self.area_id:",
        "if header.height != height:",
        "another area's header taken from the source",
    ),
    h(
        A,
        "        if stuck or not self._in_mempool(row.tx_hash):\n",
        "        if stuck:\n",
        "a dropped tx waits 30 s",
    ),
    h(
        B,
        "        if silent > self.cfg.heartbeat * 1.5:\n            self.heard_in_row = 0\n",
        "",
        "heartbeats with gaps count as in a row",
    ),
    h(
        B,
        'area_id = self.order_area(seller, int(paid[0]["blockNumber"]))\n'
        "        else:\n"
        "            area_id = self.area_of(seller)\n",
        'area_id = self.order_area(buyer, int(paid[0]["blockNumber"]))\n'
        "        else:\n"
        "            area_id = self.area_of(buyer)\n",
        "record sent to the buyer's area",
    ),
    # ---------------------------------------------------------------- gateway
    m(
        GN,
        'if status["lag"] > thresholds.index_lag:',
        'if status["lag"] >= thresholds.index_lag:',
        "index lag alert at the limit",
    ),
    m(
        GN,
        "if final - anchored > thresholds.anchor_lag:",
        "if final - anchored >= thresholds.anchor_lag:",
        "anchor lag alert at the limit",
    ),
    m(
        GN,
        "now - since > thresholds.finality_stall:",
        "now - since >= thresholds.finality_stall:",
        "finality stall alert at the limit",
    ),
    m(
        GN,
        "age > thresholds.anchor_age:",
        "age >= thresholds.anchor_age:",
        "anchor age alert at the limit",
    ),
    m(
        GP,
        "if root != header.credit_root:",
        "if False:",
        "credit proof not folded to the header's root",
    ),
    m(
        GP,
        "if anchored != digest:",
        "if False:",
        "bundle header not compared with the anchored digest",
    ),
    m(
        GI,
        "if number <= self.head and self._hash_of(number) == block_hash:",
        "if number <= self.head:",
        "rewind keeps a replaced block",
    ),
    m(
        GI,
        'tx.set_meta("cursor", str(end))',
        'tx.set_meta("cursor", str(end + 1))',
        "cursor one block past the batch",
    ),
    m(GA, "Query(ge=1, le=500,", "Query(ge=1, le=5000,", "page limit above 500 accepted"),
    # projection: the read model the API serves
    m(
        GJ,
        'seq, ts, oid, "completed", closed_at=ts, seller=a["seller"], buyer=a["buyer"]',
        'seq, ts, oid, "completed", closed_at=ts, seller=a["buyer"], buyer=a["seller"]',
        "completed order's buyer and seller swapped",
    ),
    m(
        GJ,
        'vol["paid"] = _add(vol["paid"], a["price"])',
        'vol["paid"] = str(a["price"])',
        "paid volume overwritten, not summed",
    ),
    m(
        GJ,
        'listing["orders"] = int(listing.get("orders", 0)) + 1',
        'listing["orders"] = 1',
        "a listing's order count stuck at 1",
    ),
    m(
        GJ,
        'd["status"] = "active" if int(a["reason"]) == 0 or d["status"] == "active" else "new"',
        'd["status"] = "active" if int(a["reason"]) == 0 else "new"',
        "an active account penalized shown as new",
    ),
    m(
        GJ,
        '        if d["status"] != "disabled":\n',
        "        if True:\n",
        "a disabled account shown active after a trust change",
    ),
    m(GJ, 'd["trust"] = int(a["new"])', 'd["trust"] = int(a["old"])', "trust before the change"),
    m(
        GJ,
        'acct["rewards_earned"] = _add(acct.get("rewards_earned"), a["bonus"])',
        'acct["rewards_earned"] = _add(acct.get("rewards_earned"), a["commission"])',
        "commission counted as SEC rewards",
    ),
    m(
        GJ,
        'acct["rewards_claimed"] = _add(acct.get("rewards_claimed"), a["amount"])',
        'acct["rewards_claimed"] = str(a["amount"])',
        "claimed rewards overwritten, not summed",
    ),
    m(
        GJ,
        'd["penalties"] = _add(d.get("penalties"), a["amount"])',
        'd["penalties"] = str(a["amount"])',
        "judge penalties overwritten, not summed",
    ),
    m(
        GJ,
        'd["status"] = "active" if int(a["stake"]) > 0 else "inactive"',
        'd["status"] = "active" if int(a["stake"]) >= 0 else "inactive"',
        "validator with no stake shown active",
    ),
    m(
        GJ,
        '        if d["status"] != "ejected":\n',
        "        if True:\n",
        "ejected validator reactivated by a weight change",
    ),
    m(
        GJ,
        '        self._move(src, -int(a["amount"]), seq, ts)\n        self._move(dst,',
        "        self._move(dst,",
        "delivered message not debited from its source area",
    ),
    m(
        GJ,
        '"buyer": order.get("buyer"),\n            "seller": order.get("seller"),',
        '"buyer": order.get("seller"),\n            "seller": order.get("buyer"),',
        "case parties swapped",
    ),
    m(
        GJ,
        'majority=a["majority"], absent=a["absent"]',
        'majority=a["absent"], absent=a["majority"]',
        "case majority and absent judges swapped",
    ),
    m(
        GJ,
        'self.put("header", f"{area_id}:{height:020d}"',
        'self.put("header", f"{area_id}:{height}"',
        "header keys not zero-padded (pages out of height order)",
    ),
    m(
        GJ,
        'area["equivocations"] = int(area.get("equivocations", 0)) + 1',
        'area["equivocations"] = 1',
        "equivocation count stuck at 1",
    ),
    m(
        GJ,
        '        area["paused"] = False\n',
        '        area["paused"] = True\n',
        "unpaused area still shown paused",
    ),
    m(
        GJ,
        "if v != ZERO and v.lower() not in self._contracts()",
        "if v != ZERO",
        "contracts listed among the accounts an event concerns",
    ),
    # store
    m(
        GS,
        "status = excluded.status, ",
        "",
        "an entity's status column never updated",
    ),
    m(GS, 'cur.execute("BEGIN IMMEDIATE")', 'cur.execute("BEGIN")', "deferred write transaction"),
    # indexer
    m(GI, "target = self.head - self.confirmations", "target = self.head", "confirmations ignored"),
    m(
        GI,
        'tx.execute("DELETE FROM events WHERE block_number > ?", (fork,))',
        'tx.execute("DELETE FROM events WHERE block_number >= ?", (fork,))',
        "rewind drops the fork block's events too",
    ),
    m(
        GI,
        '            tx.execute("DELETE FROM entities")\n',
        "",
        "rewind keeps the entities of dropped events",
    ),
    # area submissions and the lookup
    m(
        GR,
        "if balance < tx.amount:",
        "if balance <= tx.amount:",
        "paying the whole balance refused",
    ),
    m(
        GR,
        'SHIP: ("seller", ("paid",))',
        'SHIP: ("buyer", ("paid",))',
        "the buyer may ship",
    ),
    m(
        GR,
        'SHIP: ("seller", ("paid",))',
        'SHIP: ("seller", ("paid", "shipped"))',
        "a shipped payment shipped again",
    ),
    m(
        GR,
        "if signer != record.seller and signer not in bridges:",
        "if False:",
        "a record signed by anyone forwarded",
    ),
    m(GR, "if record.area_id != area:", "if False:", "another area's record forwarded"),
    m(GR, "if tx.area_id != area:", "if False:", "another area's transaction forwarded"),
    m(
        GR,
        "if pub.block > block:",
        "if pub.block >= block:",
        "lookup: a directory not in force at its publication block",
    ),
    m(
        GR,
        "if d.epoch == pub.epoch and d.root == pub.root)",
        "if d.epoch == pub.epoch)",
        "lookup: a directory file not matched to the published root",
    ),
    m(
        GR,
        "                    if key in delivered:\n                        continue\n",
        "",
        "delivered messages still pending",
    ),
    # the write API: POST /v1/listings
    m(
        GW,
        "if escrow.functions.disabled(listing.seller).call():",
        "if False:",
        "disabled seller's listing posted",
    ),
    m(
        GW,
        "if signed.chain_id != ctx.deployment.chain_id:\n            raise",
        "if False:\n            raise",
        "listing for another chain posted",
    ),
    m(GW, "if listing.expiry <= now:", "if listing.expiry < now:", "listing posted at its expiry"),
    m(
        GW,
        "if listing.expiry > now + LISTING_MAX_LIFE:",
        "if listing.expiry >= now + LISTING_MAX_LIFE:",
        "listing expiring exactly a year ahead refused",
    ),
    m(
        GW,
        "if listing.auto_complete and not lo <= listing.auto_complete <= hi:",
        "if listing.auto_complete and not lo < listing.auto_complete <= hi:",
        "auto-complete of exactly the minimum refused",
    ),
    m(
        GW,
        "if listing.price > int(escrow.functions.MAX_PRICE().call()):",
        "if listing.price >= int(escrow.functions.MAX_PRICE().call()):",
        "listing at exactly the maximum price refused",
    ),
    m(
        GW,
        "if signed.escrow.lower() != escrow_address().lower():\n            raise",
        "if False:\n            raise",
        "listing for another Escrow posted",
    ),
    # ---------------------------------------------------------------- relay
    m(RP, "        if request.value:\n", "        if False:\n", "request carrying ETH sponsored"),
    m(
        RP,
        "if usage.recent_requests >= self.rate_limit:",
        "if usage.recent_requests > self.rate_limit:",
        "rate limit one request late",
    ),
    m(
        RP,
        "if usage.account_gas_today + gas > self.account_gas_per_day:",
        "if usage.account_gas_today + gas >= self.account_gas_per_day:",
        "account budget refused at exactly the budget",
    ),
    m(
        RP,
        "if usage.account_gas_today + gas > self.account_gas_per_day:",
        "if usage.account_gas_today > self.account_gas_per_day:",
        "the request's own gas left out of the account budget",
    ),
    m(
        RP,
        "if usage.global_gas_today + gas > self.global_gas_per_day:",
        "if usage.global_gas_today + gas >= self.global_gas_per_day:",
        "global budget refused at exactly the budget",
    ),
    m(
        RP,
        "self.is_disabled(request.sender)",
        "self.is_disabled(request.to)",
        "trust gate asks about the target, not the sender",
    ),
    m(RP, "rate_limit: int = 20", "rate_limit: int = 25", "default rate limit 25 an hour"),
    m(RP, "rate_window: int = 3600", "rate_window: int = 60", "default rate window a minute"),
    m(
        RP,
        "account_gas_per_day: int = 3_000_000",
        "account_gas_per_day: int = 30_000_000",
        "default account budget ten times higher",
    ),
    m(RP, "if permit.owner != request.sender:", "if False:", "someone else's permit relayed"),
    m(
        RP,
        "if permit.spender.lower() not in self.permit_spenders:",
        "if False:",
        "permit to any spender relayed",
    ),
    m(
        RP,
        "if permit.token.lower() not in self.permit_tokens:",
        "if False:",
        "permit of any token relayed",
    ),
    m(
        RQ,
        'deadline=_uint(data["deadline"], "deadline", MAX_UINT48),',
        'deadline=_uint(data["deadline"], "deadline"),',
        "deadline beyond uint48 taken",
    ),
    m(
        RQ,
        "if not 0 <= number <= high:",
        "if not 0 <= number < high:",
        "the largest value of a field refused",
    ),
    m(
        RQ,
        '+ request.gas.to_bytes(32, "big")\n        + request.nonce.to_bytes(32, "big")',
        '+ request.nonce.to_bytes(32, "big")\n        + request.gas.to_bytes(32, "big")',
        "gas and nonce swapped in the request hash",
    ),
    m(
        RQ,
        '"uint48 deadline,bytes data)"',
        '"uint256 deadline,bytes data)"',
        "deadline typed uint256 in the request type",
    ),
    m(RQ, "if signer != request.sender:", "if False:", "request signature not checked"),
    m(RQ, "if len(permit.signature) != 65:", "if False:", "short permit signature taken"),
    m(
        RQ,
        "+ _word(owner)\n        + _word(spender)",
        "+ _word(spender)\n        + _word(owner)",
        "permit owner and spender swapped in its hash",
    ),
    m(
        RC,
        "if req.deadline <= block_time:\n            return Verdict",
        "if req.deadline < block_time:\n            return Verdict",
        "request taken at its deadline",
    ),
    m(
        RC,
        "ahead = on_chain + self.store.open_count(req.sender)",
        "ahead = on_chain",
        "a second request before the first is mined refused",
    ),
    m(
        RC,
        "charge = req.gas + FORWARD_OVERHEAD + (PERMIT_GAS if permit else 0)",
        "charge = req.gas + FORWARD_OVERHEAD",
        "permit gas not charged up front",
    ),
    m(
        RC,
        "self.store.recent_count(req.sender, now - self.policy.rate_window),",
        "self.store.recent_count(req.sender, 0),",
        "rate limit counts requests forever",
    ),
    m(
        RC,
        'charged = gas_used + int(row.body.get("permit_gas", 0))',
        "charged = gas_used",
        "permit gas dropped from the charge once mined",
    ),
    m(
        RC,
        'if allowance >= permit.value:\n            return Decision(True, f"permit skipped',
        'if allowance > permit.value:\n            return Decision(True, f"permit skipped',
        "permit sent although the allowance covers it exactly",
    ),
    m(
        RC,
        "if int(self.forwarder.functions.nonces(req.sender).call()) > req.nonce:\n"
        '                reason = "dropped',
        "if int(self.forwarder.functions.nonces(req.sender).call()) >= req.nonce:\n"
        '                reason = "dropped',
        "queued request with the next nonce dropped",
    ),
    m(
        RC,
        "known = self.store.outcome(digest)\n",
        "known = None\n",
        "a duplicate request sent again",
    ),
    m(RS, "sender=? AND created>=?", "sender=? AND created>?", "rate window one second short"),
    m(
        RS,
        "FROM requests WHERE day=? AND sender=?",
        "FROM requests WHERE day=? OR sender=?",
        "account budget counts everyone's gas",
    ),
    m(
        RS,
        "status IN ('queued','pending')",
        "status = 'queued'",
        "a sent, unmined request's nonce not taken",
    ),
    # ---------------------------------------------------------------- areas
    # Equivalent, left out: relation_weight's `age >= period` as `>` (at age == period both
    # return 0.0); placement's re-verification of an entry's proof (proof and root come from
    # one tree: only a Merkle bug, which area/records' mutants cover, makes it fail).
    m(
        AG,
        "if seller == buyer or age >= period:",
        "if seller == buyer or age > period:",
        "a relation exactly one period old kept (weight 0)",
    ),
    m(AG, "if seller == buyer or age >= period:", "if age >= period:", "self-trade is a relation"),
    m(
        AG,
        "sums[key] = sums.get(key, 0) + period - max(age, 0)",
        "sums[key] = sums.get(key, 0) + period - age",
        "a future trade weighs more than one",
    ),
    m(
        AG,
        "keep = (t[:, 0] != t[:, 1]) & (age < period)",
        "keep = (t[:, 0] != t[:, 1]) & (age <= period)",
        "array path keeps a relation exactly one period old",
    ),
    m(
        AG,
        "units = period - np.maximum(age[keep], 0)",
        "units = period - age[keep]",
        "array path: a future trade weighs more than one",
    ),
    m(
        AG,
        "key = (seller, buyer) if seller < buyer else (buyer, seller)",
        "key = (seller, buyer)",
        "trades in both directions are two relations",
    ),
    m(
        AD,
        "            if address in normal:\n"
        '                raise AreaError(f"{account} is listed twice")\n',
        "",
        "an account listed twice",
    ),
    m(
        AD,
        'if directory.root != tree.root or "0x" + directory.root.hex() != data.get("root"):',
        "if directory.root != tree.root:",
        "a dump's stated root not checked",
    ),
    m(AD, "if tuple(tree.types) != DIRECTORY_LEAF:", "if False:", "another leaf encoding loaded"),
    m(
        AD,
        "tuple(self._tree.proof(i))",
        "tuple(self._tree.proof(i))[::-1]",
        "proof nodes in reverse order",
    ),
    m(
        AP,
        "if directory.epoch != publication.epoch or directory.root != publication.root:",
        "if directory.epoch != publication.epoch:",
        "a file not matched to the committed root",
    ),
    m(
        AP,
        "if self._pending and self._pending[0].block <= block:",
        "if self._pending and self._pending[0].block < block:",
        "placed at the block a missing directory takes effect",
    ),
    m(
        AM,
        "        if src is None:\n            src = hash_area(account, area_ids)\n",
        "        if src is None:\n            src = dst\n",
        "an unlisted account assumed already in its new area",
    ),
    m(
        AM,
        "if previous is not None and previous.epoch != current.epoch - 1:",
        "if False:",
        "moves planned from a non-consecutive epoch",
    ),
    m(
        AM,
        'if move.epoch in view.get("moved_out_epochs", []):',
        "if False:",
        "a done move submitted again",
    ),
    m(AM, 'if int(view.get("balance", 0)) == 0:', "if False:", "an empty account moved"),
    m(
        AL,
        "i = bisect_right(self._blocks, block)",
        "i = bisect_left(self._blocks, block)",
        "a directory not in force at its publication block",
    ),
    m(
        AL,
        "publication.epoch != self._directories[-1].epoch + 1",
        "publication.epoch <= self._directories[-1].epoch",
        "a skipped epoch accepted",
    ),
    m(
        AL,
        "        if directory is not None and account in directory:\n"
        "            return directory.area_of",
        "        if directory is not None:\n            return directory.area_of",
        "an unlisted account has no area",
    ),
    m(
        AC,
        "if w_best < w_cur + p.min_gain or w_best < p.gain_ratio * w_cur:",
        "if w_best <= w_cur + p.min_gain or w_best < p.gain_ratio * w_cur:",
        "a move at exactly min_gain refused",
    ),
    m(
        AC,
        "if w_best < w_cur + p.min_gain or w_best < p.gain_ratio * w_cur:",
        "if w_best < w_cur + p.min_gain:",
        "gain ratio ignored",
    ),
    m(
        AC,
        "if load[best] + 1 > (hard_cap if acc in prev else pack_cap):",
        "if load[best] + 1 >= (hard_cap if acc in prev else pack_cap):",
        "an area one below its bound refused",
    ),
    m(
        AC,
        "hard_cap = max(1, math.floor(p.max_ratio * mean))",
        "hard_cap = max(1, math.ceil(p.max_ratio * mean))",
        "hard size bound rounded up",
    ),
    m(AC, "elif w_best <= w_cur:", "elif w_best < w_cur:", "new account moves for no gain"),
    m(
        AC,
        "    ids = sorted(area_ids)\n",
        "    ids = tuple(area_ids)\n",
        "hash area of unsorted ids",
    ),
    # ---------------------------------------------------------------- contracts (--contracts)
    # Escrow
    m(
        ES,
        'block.timestamp < order >> 216, "escrow: ship window has passed"',
        'block.timestamp <= order >> 216, "escrow: ship window has passed"',
        "ships at the ship-by instant",
    ),
    m(
        ES,
        'block.timestamp < order >> 216, "escrow: dispute window has passed"',
        'block.timestamp <= order >> 216, "escrow: dispute window has passed"',
        "disputes at the deadline, when finalize also passes",
    ),
    m(
        ES,
        'block.timestamp >= order >> 216, "escrow: auto-complete time not reached"',
        'block.timestamp > order >> 216, "escrow: auto-complete time not reached"',
        "finalize a second late",
    ),
    m(ES, "to_buyer = refund + rest", "to_buyer = refund", "buyer's deposit rest kept"),
    m(
        ES,
        "to_seller = price + rest",
        "to_seller = price",
        "malicious complaint's deposit not forfeited",
    ),
    m(
        ES,
        "self._pay(fee_to[0], token, fee - share * (len(fee_to) - 1))",
        "self._pay(fee_to[0], token, share)",
        "judges' fee dust lost",
    ),
    m(
        ES,
        "to_seller = price - price // 2",
        "to_seller = price // 2",
        "no-majority split drops a wei",
    ),
    m(
        ES,
        "price * MAX_COMMISSION_BPS // BPS)",
        "price * MAX_COMMISSION_BPS // 1_000)",
        "commission cap ten times too high",
    ),
    m(
        ES,
        '    assert not self.disabled[seller], "escrow: seller is disabled"\n\n',
        "\n",
        "disabled seller's listing still sells",
    ),
    m(
        ES,
        "return max(price * DISPUTE_DEPOSIT_BPS // BPS, least)",
        "return max((price * DISPUTE_DEPOSIT_BPS + BPS - 1) // BPS, least)",
        "deposit rounded up",
    ),
    m(
        ES,
        "    assert payouts._balance_of(token, self) == before + amount,"
        ' "escrow: token fee not supported"\n',
        "",
        "fee-on-transfer token taken",
    ),
    # Court
    m(
        CO,
        'block.timestamp < (word >> _DEADLINE) & _MASK_40, "court: voting has ended"',
        'block.timestamp <= (word >> _DEADLINE) & _MASK_40, "court: voting has ended"',
        "on-chain vote at the deadline",
    ),
    m(
        CO,
        'block.timestamp < deadline, "court: voting has ended"',
        'block.timestamp <= deadline, "court: voting has ended"',
        "signed votes at the deadline",
    ),
    m(
        CO,
        "block.number - draw_at <= BLOCKHASH_WINDOW,",
        "block.number - draw_at < BLOCKHASH_WINDOW,",
        "draw hash expires a block early",
    ),
    m(CO, "MAJORITY: constant(uint256) = 2", "MAJORITY: constant(uint256) = 1", "one vote rules"),
    m(
        CO,
        "elif v == 0 and block.timestamp >= deadline and word & _SHORT == 0:",
        "elif v == 0 and word & _SHORT == 0:",
        "judges penalized before the deadline",
    ),
    m(
        CO,
        "if ruling != 0 and v == convert(ruling, uint256):",
        "if ruling != 0 and v != 0:",
        "the dissenter shares the fee",
    ),
    m(
        CO,
        'block.timestamp >= deadline, "court: no majority yet"',
        'block.timestamp > deadline, "court: no majority yet"',
        "no-majority ruling a second late",
    ),
    m(
        CO,
        "penalize_judge(judge, NO_VOTE_PENALTY, fee_to)",
        "penalize_judge(judge, NO_VOTE_PENALTY, [])",
        "absent judges' penalty burned, not paid to the majority",
    ),
    # Staking
    m(
        ST,
        'block.timestamp >= self.unbonding_release[msg.sender], "staking: still unbonding"',
        'block.timestamp > self.unbonding_release[msg.sender], "staking: still unbonding"',
        "withdraw a second late",
    ),
    m(
        ST,
        'block.timestamp >= self._activates_at[validator], "staking: activation delay not over"',
        'block.timestamp > self._activates_at[validator], "staking: activation delay not over"',
        "activation a second late",
    ),
    m(
        ST,
        "self._credited[reporter] += bounty",
        "self._credited[validator] += bounty",
        "bounty to the offender",
    ),
    m(
        ST,
        "if height > self._area_activated[area_id]:",
        "if height >= self._area_activated[area_id]:",
        "validators activated at the offence height share its slash",
    ),
    m(
        ST,
        "(word >> _SEAT_SINCE) & _MASK_40 >= before_block:",
        "(word >> _SEAT_SINCE) & _MASK_40 > before_block:",
        "judge joining in the dispute's block drawn",
    ),
    m(
        ST,
        "    if self._disabled(convert(convert(word & _ADDR, uint160), address)):\n"
        "        return 0\n",
        "",
        "disabled judge drawn",
    ),
    m(
        ST,
        "if stake - take < _MIN_JUDGE_STAKE:",
        "if stake - take == 0:",
        "under-staked judge stays drawable",
    ),
    m(
        ST,
        "self._credited[beneficiaries[0]] += take - share * (len(beneficiaries) - 1)",
        "self._credited[beneficiaries[0]] += share",
        "judge penalty dust lost",
    ),
    m(
        ST,
        "burned: uint256 = nominated_amount + own_burned",
        "burned: uint256 = own_burned",
        "slashed nominations not burned",
    ),
    # TrustIndex
    m(
        TI,
        "block.timestamp < last + RELATION_PERIOD",
        "block.timestamp <= last + RELATION_PERIOD",
        "relation seen as recent a second too long",
    ),
    m(
        TI,
        "return last_gain == 0 or block.timestamp >= last_gain + RELATION_PERIOD",
        "return last_gain == 0 or block.timestamp > last_gain + RELATION_PERIOD",
        "trust gain a second late",
    ),
    m(
        TI,
        "min_amount != 0 and amount >= min_amount",
        "min_amount != 0 and amount > min_amount",
        "a trade of exactly the floor not valued",
    ),
    m(TI, "if old > amount + 1:", "if old >= amount:", "active account penalized to 0"),
    m(
        TI,
        "        if new == 0:\n            status = STATUS_DISABLED\n",
        "",
        "judged offence to 0 never disables",
    ),
    m(
        TI,
        "elif status == STATUS_ACTIVE and old < MAX_TRUST:",
        "elif status == STATUS_ACTIVE and old <= MAX_TRUST:",
        "trust passes 100",
    ),
    m(
        TI,
        'valued: bool):\n    assert seller != buyer, "trust: seller is the buyer"\n',
        "valued: bool):\n",
        "self-trade recorded",
    ),
    m(
        TI,
        "if reason <= REASON_MISSED_SHIP_WINDOW:",
        "if reason < REASON_MISSED_SHIP_WINDOW:",
        "missed ship window judged like fake goods",
    ),
    # ShareRewards
    m(
        SR,
        'block.timestamp < (word >> 208) + SHARE_WINDOW, "share: share expired"',
        'block.timestamp <= (word >> 208) + SHARE_WINDOW, "share: share expired"',
        "share valid at its expiry",
    ),
    m(
        SR,
        '    assert buyer != sharer, "share: sharer cannot buy through own share"\n',
        "",
        "sharer buys through its own share",
    ),
    m(
        SR,
        '    assert not self.rewarded[order_id], "share: already rewarded"\n',
        "",
        "order rewarded twice",
    ),
    m(
        SR,
        "min(min(worth, BONUS_CAP - used), self.pool)",
        "min(worth, self.pool)",
        "bonus cap ignored",
    ),
    m(
        SR,
        "worth = commission * ETH_TO_SEC_RATE",
        "worth = commission",
        "ETH commission not converted",
    ),
    m(SR, "if used >> 192 != period:", "if used >> 192 == period:", "bonus period never resets"),
    m(
        SR,
        '    assert order.buyer == sharer, "share: caller is not the buyer"\n',
        "",
        "anyone shares a buyer's order",
    ),
    # AnchorHub
    m(AH, "* 3 > ", "* 3 >= ", "exactly 2/3 is a quorum"),
    m(AH, "assert signer > last,", "assert signer >= last,", "one signature counted twice"),
    m(
        AH,
        '    assert header.parent_hash == parent, "anchor: wrong parent hash"\n',
        "",
        "header on a wrong parent anchored",
    ),
    m(
        AH,
        '    assert digest_a != digest_b, "anchor: headers are identical"\n',
        "",
        "one header reported as a double-sign",
    ),
    m(
        AH,
        '    assert self._recover(digest_b, sig_b) == signer, "anchor: signers differ"\n',
        "",
        "two signers' headers reported as one's double-sign",
    ),
    m(
        AH,
        '    assert staticcall STAKING.is_judge(msg.sender), "anchor: caller is not a judge"\n',
        "",
        "anyone reports equivocation",
    ),
    m(
        AH,
        "assert weight >> 128 == header.area_id and weight != 0,",
        "assert weight != 0,",
        "another area's validator signs",
    ),
    # BorderGateway
    m(
        BG,
        "assert message.nonce > delivered,",
        "assert message.nonce >= delivered,",
        "a message delivered twice",
    ),
    m(
        BG,
        "    if block.timestamp >= ends_at:\n        return self._allowance(word & _AMOUNT), block",
        "    if block.timestamp > ends_at:\n        return self._allowance(word & _AMOUNT), block",
        "outflow window a second longer",
    ),
    m(
        BG,
        "return max(balance * OUTFLOW_BPS // _BPS, OUTFLOW_FLOOR)",
        "return min(balance * OUTFLOW_BPS // _BPS, OUTFLOW_FLOOR)",
        "floor caps the allowance instead of raising it",
    ),
    m(
        BG,
        "assert balance >= message.amount,",
        "assert balance > message.amount,",
        "an area cannot send its whole balance",
    ),
    m(
        BG,
        "assert message.amount <= left,",
        "assert message.amount < left,",
        "exactly the limit refused",
    ),
    m(
        BG,
        '    assert src_word & _PAUSED == 0, "bgc: source area is paused"\n',
        "",
        "paused area sends",
    ),
    m(
        BG,
        '    assert header.area_id == message.src_area, "bgc: header is not of the source area"\n',
        "",
        "another area's header proves a message",
    ),
    m(
        BG,
        '    assert staticcall TOKEN.balanceOf(self) == before + amount, "bgc: token took a fee"\n',
        "",
        "fee-on-transfer deposit credited in full",
    ),
    # Forwarder and the ERC-2771 sender (gasless requests)
    m(
        FW,
        'block.timestamp <= convert(request.deadline, uint256), "forwarder: request expired"',
        'block.timestamp < convert(request.deadline, uint256), "forwarder: request expired"',
        "request refused at its deadline instant",
    ),
    m(
        FW,
        'assert request.nonce == nonce, "forwarder: invalid nonce"',
        'assert request.nonce >= nonce, "forwarder: invalid nonce"',
        "a future nonce accepted",
    ),
    m(FW, "self.nonces[request.from_] = nonce + 1", "self.nonces[request.from_] = nonce", "replay"),
    m(
        FW,
        '    assert signer == request.from_, "forwarder: signer is not from"\n',
        "",
        "anyone's signature acts for from",
    ),
    m(
        FW,
        '    assert self._trusted_by(request.to), "forwarder: target does not trust this'
        ' forwarder"\n',
        "",
        "calls a target that does not trust the forwarder",
    ),
    m(
        FW,
        '    assert msg.gas >= request.gas // 63, "forwarder: insufficient gas"\n',
        "",
        "a starved inner call passes",
    ),
    m(
        FW,
        'assert msg.value == request.value, "forwarder: value mismatch"',
        'assert msg.value >= request.value, "forwarder: value mismatch"',
        "extra value kept by the forwarder",
    ),
    m(FW, "if s > _HALF_N or (v != 27 and v != 28):", "if v != 27 and v != 28:", "high s"),
    m(FW, "keccak256(request.data),", 'keccak256(b""),', "calldata not signed"),
    m(
        FW,
        "if block.timestamp > convert(request.deadline, uint256):\n        return False",
        "if block.timestamp >= convert(request.deadline, uint256):\n        return False",
        "verify refuses at the deadline, execute accepts",
    ),
    m(
        FW,
        "    if request.nonce != self.nonces[request.from_]:\n        return False\n",
        "",
        "verify ignores the nonce",
    ),
    m(
        M2771,
        "if msg.sender == FORWARDER and len(msg.data) >= 20:",
        "if len(msg.data) >= 20:",
        "any caller appends a sender",
    ),
    # AreaDirectory
    m(
        ADC,
        '    assert access_control.hasRole[PUBLISHER_ROLE][msg.sender], "directory: caller is not'
        ' a publisher"\n',
        "",
        "anyone publishes",
    ),
    m(
        ADC,
        'assert epoch == self.latest_epoch + 1, "directory: epoch out of order"',
        'assert epoch > self.latest_epoch, "directory: epoch out of order"',
        "an epoch skipped",
    ),
    m(ADC, '    assert root != empty(bytes32), "directory: zero root"\n', "", "zero root"),
    m(
        ADC,
        'assert source_block < block.number, "directory: source block not mined yet"',
        'assert source_block <= block.number, "directory: source block not mined yet"',
        "dated to the block being mined",
    ),
    m(
        ADC,
        'source_block >= self._source_blocks[epoch - 1], "directory: source block before',
        'source_block > self._source_blocks[epoch - 1], "directory: source block before',
        "two epochs from one block refused",
    ),
    m(
        ADC,
        "leaf: bytes32 = keccak256(keccak256(abi_encode(account, area_id)))",
        "leaf: bytes32 = keccak256(abi_encode(account, area_id))",
        "single-hashed leaf (an inner node passes for a leaf)",
    ),
    # (Deleting verify's "unpublished epoch" early return is an equivalent mutant: a proof
    # would have to hash to the zero root, a keccak256 preimage of zero.)
    # Escrow's signed listings (run against their own tests)
    m(
        ES,
        'assert block.timestamp < listing.expiry, "escrow: listing expired"',
        'assert block.timestamp <= listing.expiry, "escrow: listing expired"',
        "signed listing bought at its expiry instant",
    ),
    m(
        ES,
        'assert listing.quantity == 0 or sold < listing.quantity, "escrow: listing sold out"',
        'assert listing.quantity == 0 or sold <= listing.quantity, "escrow: listing sold out"',
        "one order beyond the signed quantity",
    ),
    m(
        ES,
        '    assert word & _CANCELLED == 0, "escrow: listing cancelled"\n'
        "    assert block.timestamp",
        "    assert block.timestamp",
        "cancelled signed listing bought",
    ),
    m(
        ES,
        'assert s <= _HALF_N, "escrow: signature s is not low"',
        'assert s <= max_value(uint256), "escrow: signature s is not low"',
        "high-s listing signature (a second encoding)",
    ),
    m(
        ES,
        "self._signed[digest] = (word & ~(_MASK_64 << 48)) | ((sold + 1) << 48)",
        "self._signed[digest] = (word & ~(_MASK_64 << 48)) | (sold << 48)",
        "later purchases of a limited listing not counted",
    ),
]


# ------------------------------------------------------------------------- running


LOCK = ROOT / ".mutants.pid"


def take_lock() -> bool:
    """One run at a time per checkout (a second one would restore the first one's mutant)."""
    if LOCK.exists():
        try:
            os.kill(int(LOCK.read_text()), 0)
            return False
        except (ValueError, ProcessLookupError):
            pass
    LOCK.write_text(str(os.getpid()))
    return True


def restore_leftovers() -> None:
    for backup in list(ROOT.rglob("*" + BACKUP)):
        if ".venv" in backup.parts or "node_modules" in backup.parts:
            continue
        original = backup.with_name(backup.name[: -len(BACKUP)])
        original.write_bytes(backup.read_bytes())
        backup.unlink(missing_ok=True)
        if original.suffix == ".vy":
            forget_compiled()
        print(f"restored {original.relative_to(ROOT)} from a killed run")


def applies(mu: Mutant) -> bool:
    text = (ROOT / mu.path).read_text()
    return text.count(mu.old) == 1


def run_tests(tests: tuple[str, ...], timeout: float) -> str:
    """'killed', 'survived' or 'timeout' (counted as killed)."""
    tests = tuple(t for t in tests if (ROOT / t).exists())
    if not tests:  # nothing covers it (and pytest without paths would run everything)
        return "survived"
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
    env = dict(os.environ, PATH=f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}")
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return "timeout"
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    return "survived" if rc == 0 else "killed"


def forget_compiled() -> None:
    """Drops Ape's compiled contracts: its cache does not always notice a restored source
    (a test run after a contract mutant could otherwise still deploy the mutant)."""
    shutil.rmtree(ROOT / ".build", ignore_errors=True)


def run_mutant(mu: Mutant, timeout: float) -> str:
    path = ROOT / mu.path
    original = path.read_bytes()
    backup = path.with_name(path.name + BACKUP)
    backup.write_bytes(original)
    contract = mu.path.endswith(".vy")
    try:
        path.write_text(original.decode().replace(mu.old, mu.new, 1))
        if contract:
            forget_compiled()
        return run_tests(TARGETS[mu.path][1], timeout)
    finally:
        path.write_bytes(original)
        backup.unlink(missing_ok=True)
        if contract:
            forget_compiled()


def sample(mutants: list[Mutant], limit: int | None) -> list[Mutant]:
    if limit is None or len(mutants) <= limit:
        return mutants
    step = len(mutants) / limit
    return [mutants[int(i * step)] for i in range(limit)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--component", action="append", help="only these components (repeatable)")
    ap.add_argument("--file", action="append", help="only mutants of these files (repeatable)")
    ap.add_argument("--limit", type=int, help="at most N mutants per file")
    ap.add_argument("--group", choices=["base", "heldout"], help="only this group of mutants")
    ap.add_argument("--match", action="append", help="only mutants whose description has this")
    ap.add_argument("--rest", action="store_true", help="the mutants --limit leaves out")
    ap.add_argument("--contracts", action="store_true", help="also mutate the Vyper contracts")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per mutant's tests")
    ap.add_argument("--no-baseline", action="store_true", help="skip the unmutated test run")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = ap.parse_args(argv)

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    if not take_lock():
        print(f"another mutants run is active ({LOCK.name}); not touching any file")
        return 3
    try:
        return _main(args)
    finally:
        LOCK.unlink(missing_ok=True)


def _main(args: argparse.Namespace) -> int:
    restore_leftovers()
    chosen = [
        mu
        for mu in MUTANTS
        if (args.contracts or not mu.path.endswith(".vy"))
        and (
            not args.component
            or mu.component in args.component
            or mu.component.split("/")[0] in args.component
        )
        and (not args.file or mu.path in args.file)
        and (not args.group or mu.group == args.group)
        and (not args.match or any(w in mu.what for w in args.match))
    ]
    by_file: dict[str, list[Mutant]] = {}
    for mu in chosen:
        by_file.setdefault(mu.path, []).append(mu)
    if args.rest:  # the held-out part: what a --limit run of the same size leaves out
        chosen = [
            mu for muts in by_file.values() for mu in muts if mu not in sample(muts, args.limit)
        ]
    else:
        chosen = [mu for muts in by_file.values() for mu in sample(muts, args.limit)]
    stale = [mu for mu in chosen if not applies(mu)]
    if args.list:
        for mu in chosen:
            flag = "STALE" if mu in stale else "ok   "
            print(f"{flag} {mu.component:13} {mu.group:8} {mu.path}: {mu.what}")
        return 1 if stale else 0
    for mu in stale:
        print(f"stale (does not apply once, skipped): {mu.path}: {mu.what}")
    chosen = [mu for mu in chosen if mu not in stale]
    if not chosen:
        print("no mutants selected")
        return 1

    if not args.no_baseline:
        suites = sorted({TARGETS[mu.path][1] for mu in chosen})
        for tests in suites:
            if run_tests(tests, args.timeout) != "survived":
                print(f"the unmutated tests fail: {' '.join(tests)}")
                return 2

    results: dict[str, list[tuple[Mutant, str]]] = {}
    started = time.time()
    try:
        for n, mu in enumerate(chosen, 1):
            t0 = time.time()
            outcome = run_mutant(mu, args.timeout)
            results.setdefault(mu.component, []).append((mu, outcome))
            print(
                f"[{n}/{len(chosen)}] {outcome:8} {time.time() - t0:5.1f}s {mu.path}: {mu.what}",
                flush=True,
            )
    except KeyboardInterrupt:
        print("interrupted: the file under mutation is restored")
    print(f"\n{'component':18} killed / total   ({time.time() - started:.0f} s)")
    survivors = []
    for comp, rows in sorted(results.items()):
        killed = sum(1 for _, o in rows if o != "survived")
        print(f"{comp:18} {killed:3} / {len(rows):<3}  {100 * killed / len(rows):5.1f} %")
        survivors += [mu for mu, o in rows if o == "survived"]
    if survivors:
        print("\nsurviving mutants:")
        for mu in survivors:
            print(f"  {mu.path}: {mu.what}\n      {mu.old.strip()!r} -> {mu.new.strip()!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
