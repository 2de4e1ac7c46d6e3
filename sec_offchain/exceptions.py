"""Errors raised by sec_offchain, all under one root class."""


class SecError(Exception):
    """Root of every error sec_offchain raises on purpose."""


class ConfigError(SecError):
    """A deployments file, key or option is missing or malformed."""


class CompileError(SecError):
    """The contracts could not be compiled."""


class ContractRevert(SecError):
    """A transaction or call was reverted; `reason` is the contract's revert string."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransactionFailed(SecError):
    """A transaction was mined but failed, or never got a receipt."""


class DevchainError(SecError):
    """A devchain (anvil or the embedded chain) could not be started or driven."""


class DeploymentError(SecError):
    """Deploying the suite did not produce the expected contracts."""


class KeystoreError(SecError):
    """A keystore is missing, unreadable, exposed, malformed, or its password is wrong."""
