# pragma version 0.4.3
"""
@title payouts
@notice Internal helpers to move ETH and ERC-20s safely: transfers that accept
        tokens returning nothing, `try_` variants that report failure instead of
        reverting (so a refusing receiver can be credited instead), and an ETH push
        with a bounded gas stipend that never copies return data.
@dev No state; used by Escrow and later value-moving contracts.
@license AGPL-3.0-only
"""

# Gas given to a receiver of a pushed ETH payout. Enough for a smart-contract
# wallet's receive hook (a Safe needs ~ 3k, an event-logging receiver ~ 5k),
# small enough that a griefing receiver costs the caller a bounded amount.
PUSH_GAS: constant(uint256) = 30_000


@internal
def _try_push_eth(to: address, amount: uint256) -> bool:
    """
    @dev Sends `amount` wei with at most PUSH_GAS gas; False when the receiver
         refuses or runs out of gas. Return data is never copied.
    """
    return raw_call(to, b"", value=amount, gas=PUSH_GAS, revert_on_failure=False)


@internal
def _send_eth(to: address, amount: uint256):
    """
    @dev Sends `amount` wei with all gas (for pull withdrawals); reverts on failure.
    """
    raw_call(to, b"", value=amount, max_outsize=0)


@internal
def _try_transfer(token: address, to: address, amount: uint256) -> bool:
    """
    @dev ERC-20 `transfer` that accepts an empty or `true` return and reports
         any revert or `false` as False.
    """
    success: bool = False
    response: Bytes[32] = b""
    success, response = raw_call(
        token,
        abi_encode(to, amount, method_id=method_id("transfer(address,uint256)")),
        max_outsize=32,
        revert_on_failure=False,
    )
    if not success:
        return False
    if len(response) == 0:
        return token.is_contract
    if len(response) != 32:
        return False
    return convert(response, bool)


@internal
def _try_transfer_from(token: address, owner: address, to: address, amount: uint256) -> bool:
    """
    @dev ERC-20 `transferFrom` with the same return handling as `_try_transfer`.
    """
    success: bool = False
    response: Bytes[32] = b""
    success, response = raw_call(
        token,
        abi_encode(owner, to, amount, method_id=method_id("transferFrom(address,address,uint256)")),
        max_outsize=32,
        revert_on_failure=False,
    )
    if not success:
        return False
    if len(response) == 0:
        return token.is_contract
    if len(response) != 32:
        return False
    return convert(response, bool)


@view
@internal
def _balance_of(token: address, account: address) -> uint256:
    response: Bytes[32] = raw_call(
        token,
        abi_encode(account, method_id=method_id("balanceOf(address)")),
        max_outsize=32,
        is_static_call=True,
    )
    assert len(response) == 32, "payouts: bad balanceOf"
    return convert(response, uint256)
