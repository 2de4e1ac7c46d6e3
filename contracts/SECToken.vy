# pragma version 0.4.3
"""
@title SECToken
@notice The ERC-20 "Social Ecommerce Chain" (SEC), 18 decimals. The genesis supply
        of 1,500,000,000 SEC is allocated at deploy time per the whitepaper's table:
        angel 7 %, private sale 33 %, foundation 10 %, business/strategic 20 %,
        founding team 10 %, investors/partners/community 20 %. The angel, foundation
        and team parts are minted to the Vesting contract, which releases them on
        their schedules. Further issuance only by minter-role accounts and never
        above the governance-set cap.
@custom:security The owner (governance) sets minters and the cap; it cannot lower
                 the cap below the current supply, and cannot mint itself unless it
                 is a minter. Burning is open to holders (and used by Staking).
@license AGPL-3.0-only
"""

from snekmate.auth import ownable
from snekmate.tokens import erc20

initializes: ownable
initializes: erc20[ownable := ownable]

# Everything of the ERC-20 module except `mint`, which this contract wraps to
# enforce the supply cap.
exports: (
    erc20.transfer,
    erc20.transferFrom,
    erc20.approve,
    erc20.balanceOf,
    erc20.allowance,
    erc20.totalSupply,
    erc20.name,
    erc20.symbol,
    erc20.decimals,
    erc20.burn,
    erc20.burn_from,
    erc20.is_minter,
    erc20.set_minter,
    erc20.permit,
    erc20.nonces,
    erc20.DOMAIN_SEPARATOR,
    erc20.eip712Domain,
    erc20.owner,
    erc20.transfer_ownership,
    erc20.renounce_ownership,
)


# ---------------------------------------------------------------- #
#                            constants                             #
# ---------------------------------------------------------------- #

GENESIS_SUPPLY: public(constant(uint256)) = 1_500_000_000 * 10**18
ANGEL_AMOUNT: public(constant(uint256)) = GENESIS_SUPPLY * 7 // 100
PRIVATE_SALE_AMOUNT: public(constant(uint256)) = GENESIS_SUPPLY * 33 // 100
FOUNDATION_AMOUNT: public(constant(uint256)) = GENESIS_SUPPLY * 10 // 100
BUSINESS_AMOUNT: public(constant(uint256)) = GENESIS_SUPPLY * 20 // 100
TEAM_AMOUNT: public(constant(uint256)) = GENESIS_SUPPLY * 10 // 100
COMMUNITY_AMOUNT: public(constant(uint256)) = GENESIS_SUPPLY * 20 // 100


# ---------------------------------------------------------------- #
#                             storage                              #
# ---------------------------------------------------------------- #

supply_cap: public(uint256)


# ---------------------------------------------------------------- #
#                              events                              #
# ---------------------------------------------------------------- #

event SupplyCapChanged:
    old: uint256
    new: uint256


@deploy
def __init__(
    private_sale: address,
    business: address,
    community: address,
    vesting: address,
    supply_cap: uint256,
):
    """
    @param private_sale Receives the private-sale part (33 %).
    @param business Receives the business/strategic part (20 %).
    @param community Receives the investors/partners/community part (20 %).
    @param vesting The Vesting contract; receives angel, foundation and team parts (27 %).
    @param supply_cap The issuance cap, at least the genesis supply.
    """
    assert supply_cap >= GENESIS_SUPPLY, "sec: cap below genesis supply"
    ownable.__init__()
    erc20.__init__("Social Ecommerce Chain", "SEC", 18, "Social Ecommerce Chain", "1")
    erc20._mint(private_sale, PRIVATE_SALE_AMOUNT)
    erc20._mint(business, BUSINESS_AMOUNT)
    erc20._mint(community, COMMUNITY_AMOUNT)
    erc20._mint(vesting, ANGEL_AMOUNT + FOUNDATION_AMOUNT + TEAM_AMOUNT)
    self.supply_cap = supply_cap
    log SupplyCapChanged(old=0, new=supply_cap)


@external
def mint(owner: address, amount: uint256):
    """
    @notice Creates `amount` SEC for `owner`.
    @custom:security Minter role only; never above `supply_cap`.
    """
    assert erc20.is_minter[msg.sender], "sec: caller is not a minter"
    assert erc20.totalSupply + amount <= self.supply_cap, "sec: supply cap exceeded"
    erc20._mint(owner, amount)


@external
def set_supply_cap(new_cap: uint256):
    """
    @notice Sets the issuance cap; never below what already exists.
    @custom:security Owner (governance) only.
    """
    ownable._check_owner()
    assert new_cap >= erc20.totalSupply, "sec: cap below supply"
    log SupplyCapChanged(old=self.supply_cap, new=new_cap)
    self.supply_cap = new_cap
