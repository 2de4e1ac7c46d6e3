"""SECToken: genesis allocation, capped issuance by minter role."""

import ape

SEC = 10**18
GENESIS = 1_500_000_000 * SEC


def test_metadata_and_genesis(token, vesting, deployer):
    assert (token.name(), token.symbol(), token.decimals()) == ("Social Ecommerce Chain", "SEC", 18)
    assert token.totalSupply() == GENESIS
    # The vested parts (angel 7 %, foundation 10 %, team 10 %) sit in Vesting.
    assert token.balanceOf(vesting) == GENESIS * 27 // 100
    assert (
        token.ANGEL_AMOUNT()
        + token.PRIVATE_SALE_AMOUNT()
        + token.FOUNDATION_AMOUNT()
        + token.BUSINESS_AMOUNT()
        + token.TEAM_AMOUNT()
        + token.COMMUNITY_AMOUNT()
        == GENESIS
    )


def test_mint__minter_within_cap__mints(token, deployer, stranger):
    token.set_minter(stranger, True, sender=deployer)
    cap = token.supply_cap()
    token.mint(stranger, cap - GENESIS, sender=stranger)
    assert token.totalSupply() == cap
    with ape.reverts("sec: supply cap exceeded"):
        token.mint(stranger, 1, sender=stranger)


def test_mint__not_minter__reverts(token, stranger):
    with ape.reverts("sec: caller is not a minter"):
        token.mint(stranger, 1, sender=stranger)


def test_set_supply_cap__below_supply_or_not_owner__reverts(token, deployer, stranger):
    with ape.reverts("sec: cap below supply"):
        token.set_supply_cap(GENESIS - 1, sender=deployer)
    with ape.reverts("ownable: caller is not the owner"):
        token.set_supply_cap(GENESIS * 2, sender=stranger)
    tx = token.set_supply_cap(GENESIS, sender=deployer)
    assert tx.events == [token.SupplyCapChanged(old=3_000_000_000 * SEC, new=GENESIS)]


def test_deploy__cap_below_genesis__reverts(project, deployer, vesting):
    with ape.reverts("sec: cap below genesis supply"):
        project.SECToken.deploy(deployer, deployer, deployer, vesting, GENESIS - 1, sender=deployer)
