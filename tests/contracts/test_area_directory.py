"""AreaDirectory: per-epoch roots of the account -> area directory, published in order by the
publisher role only, never overwritten; proofs made by sec_offchain.areas verified on chain
and forged ones refused."""

import ape
import pytest
from ape import chain

from sec_offchain.areas import AreaDirectory
from sec_offchain.crypto.hashing import keccak
from sec_offchain.crypto.keys import get_dev_account

ZERO = b"\x00" * 32
PUBLISHER_ROLE = keccak(b"PUBLISHER_ROLE")


@pytest.fixture(scope="session")
def directory_contract(project, deployment):
    return project.AreaDirectory.at(deployment.address_of("AreaDirectory"))


@pytest.fixture(scope="module")
def book():
    """Twelve accounts in three areas, epoch 1."""
    return AreaDirectory(1, {get_dev_account(i).address: i % 3 for i in range(12)})


def head() -> int:
    return chain.blocks.head.number


def test_publish__by_the_publisher__root_stored_and_logged(directory_contract, book, deployer):
    assert directory_contract.latest_epoch() == 0
    assert directory_contract.PUBLISHER_ROLE() == PUBLISHER_ROLE
    assert directory_contract.hasRole(PUBLISHER_ROLE, deployer)
    source = head()
    tx = directory_contract.publish(1, book.root, 12, 3, source, sender=deployer)
    assert tx.events == [
        directory_contract.DirectoryPublished(
            epoch=1, root=book.root, accounts=12, areas=3, source_block=source, publisher=deployer
        )
    ]
    assert directory_contract.latest_epoch() == 1
    assert bytes(directory_contract.root_of(1)) == book.root
    assert directory_contract.source_block_of(1) == source
    assert bytes(directory_contract.root_of(2)) == ZERO


def test_verify__python_proofs__accepted_and_forgeries_refused(directory_contract, book, deployer):
    directory_contract.publish(1, book.root, 12, 3, head(), sender=deployer)
    for i in range(12):
        entry = book.get_proof(get_dev_account(i).address)
        assert entry.area_id == i % 3
        assert directory_contract.verify(1, entry.account, entry.area_id, list(entry.proof))
    a = book.get_proof(get_dev_account(0).address)
    b = book.get_proof(get_dev_account(1).address)
    flipped = [bytes([a.proof[0][0] ^ 1]) + a.proof[0][1:], *a.proof[1:]]
    assert not directory_contract.verify(1, a.account, 1, list(a.proof))  # wrong area
    assert not directory_contract.verify(1, a.account, a.area_id, list(b.proof))
    assert not directory_contract.verify(1, b.account, a.area_id, list(a.proof))
    assert not directory_contract.verify(1, a.account, a.area_id, list(a.proof[:-1]))
    assert not directory_contract.verify(1, a.account, a.area_id, flipped)
    assert not directory_contract.verify(2, a.account, a.area_id, list(a.proof))  # unpublished
    assert not directory_contract.verify(0, a.account, a.area_id, list(a.proof))
    # an empty proof would take the leaf for the root
    assert not directory_contract.verify(1, a.account, a.area_id, [])


def test_publish__in_order_once_each__out_of_order_and_repeats_refused(
    directory_contract, book, deployer
):
    with ape.reverts("directory: epoch out of order"):
        directory_contract.publish(2, book.root, 12, 3, head(), sender=deployer)
    with ape.reverts("directory: epoch out of order"):
        directory_contract.publish(0, book.root, 12, 3, head(), sender=deployer)
    first = head()
    directory_contract.publish(1, book.root, 12, 3, first, sender=deployer)
    with ape.reverts("directory: epoch out of order"):
        directory_contract.publish(1, b"\x42" * 32, 12, 3, head(), sender=deployer)
    assert bytes(directory_contract.root_of(1)) == book.root  # never overwritten
    with ape.reverts("directory: source block before the last epoch's"):
        directory_contract.publish(2, b"\x42" * 32, 12, 3, first - 1, sender=deployer)
    directory_contract.publish(2, b"\x42" * 32, 12, 3, first, sender=deployer)  # same block: ok
    assert directory_contract.latest_epoch() == 2


def test_publish__malformed__refused(directory_contract, book, deployer):
    with ape.reverts("directory: zero root"):
        directory_contract.publish(1, ZERO, 12, 3, head(), sender=deployer)
    with ape.reverts("directory: no accounts"):
        directory_contract.publish(1, book.root, 0, 3, head(), sender=deployer)
    with ape.reverts("directory: no areas"):
        directory_contract.publish(1, book.root, 12, 0, head(), sender=deployer)
    # the publishing transaction's own block (head + 1) is not mined yet
    with ape.reverts("directory: source block not mined yet"):
        directory_contract.publish(1, book.root, 12, 3, head() + 1, sender=deployer)
    directory_contract.publish(1, book.root, 12, 3, head(), sender=deployer)


def test_publish__only_the_publisher_role__granted_and_revoked_by_the_admin(
    directory_contract, book, deployer, stranger, attacker
):
    with ape.reverts("directory: caller is not a publisher"):
        directory_contract.publish(1, book.root, 12, 3, head(), sender=attacker)
    with ape.reverts("access_control: account is missing role"):
        directory_contract.grantRole(PUBLISHER_ROLE, attacker, sender=attacker)
    directory_contract.grantRole(PUBLISHER_ROLE, stranger, sender=deployer)
    directory_contract.publish(1, book.root, 12, 3, head(), sender=stranger)
    directory_contract.revokeRole(PUBLISHER_ROLE, stranger, sender=deployer)
    with ape.reverts("directory: caller is not a publisher"):
        directory_contract.publish(2, book.root, 12, 3, head(), sender=stranger)
