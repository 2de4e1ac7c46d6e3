"""Mutation testing by hand: does the suite notice a small, plausible mistake?

Each mutant below is one edit a careless change or a bad merge could make (an operator
swapped, a constant changed, a check deleted). The script applies them one at a time to the
file, runs the tests that cover that file with `-x`, and restores the file, always (also on
Ctrl-C or SIGTERM; a backup next to the file, `<name>.mutant-backup`, is restored on the next
start if the process was killed outright). A mutant is *killed* when the tests fail (or time
out), and *survives* when they pass: a survivor is a bug the suite would let through.

    make mutants                                   # every off-chain component
    .venv/bin/python scripts/mutants.py --component consensus --limit 5
    .venv/bin/python scripts/mutants.py --contracts --component contracts
    .venv/bin/python scripts/mutants.py --list     # the mutants, and whether each applies

`--limit N` takes at most N mutants per file (spread over the file's list, the same ones every
run), so a run stays short on a small machine. One test process runs at a time.
"""

from __future__ import annotations

import argparse
import os
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

# file -> (component, test files run for its mutants)
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
    "contracts/AnchorHub.vy": ("contracts", ("tests/contracts/test_anchor_hub.py",)),
    "contracts/BorderGateway.vy": ("contracts", ("tests/contracts/test_border_gateway.py",)),
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
        "if tx.dst_area in (0, self.area_id):",
        "if tx.dst_area == 0:",
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
        'depth = self.w3.eth.block_number - receipt["blockNumber"] + 1',
        'depth = self.w3.eth.block_number - receipt["blockNumber"] + 2',
        "depth counted one high",
    ),
    m(
        A,
        "            if self._anchored(header, digest):\n"
        '                return StepResult("already", height)\n',
        '            return StepResult("already", height)\n',
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
        'self.db.execute("UPDATE cursor SET block=? WHERE id=0", (e["blockNumber"] - 1,))',
        'self.db.execute("UPDATE cursor SET block=? WHERE id=0", (e["blockNumber"],))',
        "a refused block is skipped",
    ),
    m(B, "start = self.cursor + 1", "start = self.cursor", "the cursor block scanned again"),
    m(
        B,
        "head = self.w3.eth.block_number - self.cfg.confirmations",
        "head = self.w3.eth.block_number",
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
    h(L, "        if listing:\n", "        if not listing:\n", "purchase taken as a transfer"),
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
        "if time.time() - sent_at >= self.rebroadcast_after or not self._in_mempool(tx_hash):",
        "if time.time() - sent_at >= self.rebroadcast_after:",
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
        "area_id=self.area_of(seller),",
        "area_id=self.area_of(buyer),",
        "record sent to the buyer's area",
    ),
    # ---------------------------------------------------------------- contracts (--contracts)
    m("contracts/AnchorHub.vy", "* 3 > ", "* 3 >= ", "exactly 2/3 is a quorum"),
    m(
        "contracts/BorderGateway.vy",
        "assert message.nonce > delivered,",
        "assert message.nonce >= delivered,",
        "a message delivered twice",
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


def run_mutant(mu: Mutant, timeout: float) -> str:
    path = ROOT / mu.path
    original = path.read_bytes()
    backup = path.with_name(path.name + BACKUP)
    backup.write_bytes(original)
    try:
        path.write_text(original.decode().replace(mu.old, mu.new, 1))
        return run_tests(TARGETS[mu.path][1], timeout)
    finally:
        path.write_bytes(original)
        backup.unlink(missing_ok=True)


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
        and (not args.component or mu.component in args.component)
        and (not args.file or mu.path in args.file)
        and (not args.group or mu.group == args.group)
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
    print(f"\n{'component':14} killed / total   ({time.time() - started:.0f} s)")
    survivors = []
    for comp, rows in sorted(results.items()):
        killed = sum(1 for _, o in rows if o != "survived")
        print(f"{comp:14} {killed:3} / {len(rows):<3}  {100 * killed / len(rows):5.1f} %")
        survivors += [mu for mu, o in rows if o == "survived"]
    if survivors:
        print("\nsurviving mutants:")
        for mu in survivors:
            print(f"  {mu.path}: {mu.what}\n      {mu.old.strip()!r} -> {mu.new.strip()!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
