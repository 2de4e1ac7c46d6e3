# pragma version 0.4.3
"""
@title AreaDirectory
@notice Per-epoch commitments to the account -> area directory: which autonomous area each
        account belongs to, as the Merkle root of an OpenZeppelin StandardMerkleTree whose
        leaves are (address account, uint256 area_id). Areas follow trade relations: the
        directory is recomputed every epoch from the chain's completed trades (Escrow's
        `OrderCompleted`) by `sec areas plan`; this contract is where anyone reads the
        root of an epoch and checks an account's area against it (`verify`).
@dev leaf = keccak256(keccak256(abi.encode(account, area_id))), internal nodes keccak256 of
     the sorted pair (snekmate's merkle_proof_verification, OpenZeppelin's format). The leaf
     is always computed here from (account, area_id), never taken from the caller, so an
     inner node cannot pass for a leaf. Epochs count from 1 and are published in order,
     once each: a root is never overwritten (a wrong one is superseded by the next epoch,
     and stays on record). Each epoch names the block whose events it was computed from,
     so anyone can recompute the root from the chain and the published parameters.
@custom:security Only accounts holding PUBLISHER_ROLE publish; the admin
                 (DEFAULT_ADMIN_ROLE, the deployer) grants and revokes it and can do nothing
                 else here. A publisher can post a wrong root, but not rewrite one already
                 posted, skip or repeat an epoch, or date a root to a block not yet mined;
                 whoever relies on the directory recomputes it from `source_block`.
@license AGPL-3.0-only
"""

from snekmate.auth import access_control

initializes: access_control

# Everything of access_control is exported: role administration is the only governance
# this contract has.
exports: access_control.__interface__

from snekmate.utils import merkle_proof_verification


# ---------------------------------------------------------------- #
#                            constants                             #
# ---------------------------------------------------------------- #

PUBLISHER_ROLE: public(constant(bytes32)) = keccak256("PUBLISHER_ROLE")

# Proofs of trees up to 2**32 accounts.
MAX_PROOF: public(constant(uint256)) = 32


# ---------------------------------------------------------------- #
#                             storage                              #
# ---------------------------------------------------------------- #

# The latest published epoch (0 before the first).
latest_epoch: public(uint256)
_roots: HashMap[uint256, bytes32]
_source_blocks: HashMap[uint256, uint256]


# ---------------------------------------------------------------- #
#                              events                              #
# ---------------------------------------------------------------- #

event DirectoryPublished:
    epoch: indexed(uint256)
    root: bytes32
    accounts: uint256
    areas: uint256
    source_block: uint256
    publisher: indexed(address)


@deploy
def __init__(publisher: address):
    """
    @param publisher The first holder of PUBLISHER_ROLE (may be empty: the admin grants it
           later). The deployer is the admin.
    """
    access_control.__init__()
    if publisher != empty(address):
        access_control._grant_role(PUBLISHER_ROLE, publisher)


# ---------------------------------------------------------------- #
#                              views                               #
# ---------------------------------------------------------------- #

@view
@external
def root_of(epoch: uint256) -> bytes32:
    """
    @notice The directory root of `epoch` (0x00..00 where none is published).
    @param epoch The epoch (from 1).
    @return The Merkle root.
    """
    return self._roots[epoch]


@view
@external
def source_block_of(epoch: uint256) -> uint256:
    """
    @notice The block whose events the directory of `epoch` was computed from (0: none).
    @param epoch The epoch (from 1).
    @return The block number.
    """
    return self._source_blocks[epoch]


@view
@external
def verify(
    epoch: uint256, account: address, area_id: uint256, proof: DynArray[bytes32, MAX_PROOF]
) -> bool:
    """
    @notice Whether the directory of `epoch` puts `account` in `area_id`.
    @dev False for an unpublished epoch (a zero root proves nothing).
    @param epoch The epoch (from 1).
    @param account The account.
    @param area_id The area it is claimed to be in.
    @param proof The sibling hashes from the leaf up (StandardMerkleTree.getProof).
    @return True when the proof leads from the leaf to the epoch's root.
    """
    root: bytes32 = self._roots[epoch]
    if root == empty(bytes32):
        return False
    leaf: bytes32 = keccak256(keccak256(abi_encode(account, area_id)))
    return merkle_proof_verification._verify(proof, root, leaf)


# ---------------------------------------------------------------- #
#                            publishing                            #
# ---------------------------------------------------------------- #

@external
def publish(
    epoch: uint256, root: bytes32, accounts: uint256, areas: uint256, source_block: uint256
):
    """
    @notice Commits the directory of `epoch`.
    @param epoch latest_epoch + 1.
    @param root The directory's Merkle root (non-zero).
    @param accounts How many accounts it lists (at least one).
    @param areas How many areas it uses (at least one).
    @param source_block The block whose events it was computed from: already mined, and not
           before the previous epoch's.
    @custom:security PUBLISHER_ROLE only.
    """
    assert access_control.hasRole[PUBLISHER_ROLE][msg.sender], "directory: caller is not a publisher"
    assert epoch == self.latest_epoch + 1, "directory: epoch out of order"
    assert root != empty(bytes32), "directory: zero root"
    assert accounts > 0, "directory: no accounts"
    assert areas > 0, "directory: no areas"
    assert source_block < block.number, "directory: source block not mined yet"
    assert source_block >= self._source_blocks[epoch - 1], "directory: source block before the last epoch's"
    self.latest_epoch = epoch
    self._roots[epoch] = root
    self._source_blocks[epoch] = source_block
    log DirectoryPublished(
        epoch=epoch,
        root=root,
        accounts=accounts,
        areas=areas,
        source_block=source_block,
        publisher=msg.sender,
    )
