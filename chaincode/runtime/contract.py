"""The contract API: ``Contract``, ``Context`` and the ``@transaction`` decorator.

A contract is a class of transaction methods. Only methods marked ``@transaction`` can be
called; each receives a ``Context`` first, then its arguments converted from the real type
hints (see ``convert``).

    class RegistryContract(Contract):
        name = "registry"

        @transaction()
        def RegisterPod(self, ctx: Context, pod: Pod) -> dict: ...

        @transaction(evaluate=True)
        def ReadPod(self, ctx: Context, pod_id: str) -> dict: ...
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar, overload

from .chaincode_config import ChaincodeConfig
from .errors import ChaincodeError
from .identity import ClientIdentity
from .strict import quote
from .stub import ChaincodeStub

__all__ = ["Context", "Contract", "TransactionSpec", "transaction"]

F = TypeVar("F", bound=Callable[..., Any])

_SPEC_ATTRIBUTE = "__chaincode_transaction__"


@dataclass(frozen=True, slots=True)
class TransactionSpec:
    evaluate: bool = False
    name: str | None = None
    description: str = ""


@overload
def transaction(fn: F, /) -> F: ...


@overload
def transaction(
    *, evaluate: bool = False, name: str | None = None, description: str = ""
) -> Callable[[F], F]: ...


def transaction(
    fn: F | None = None,
    /,
    *,
    evaluate: bool = False,
    name: str | None = None,
    description: str = "",
) -> F | Callable[[F], F]:
    """Mark a contract method as a transaction; ``evaluate=True`` marks it read-only.

    ``name`` overrides the function name clients call (default: the method name).
    """
    spec = TransactionSpec(evaluate=evaluate, name=name, description=description)

    def mark(function: F) -> F:
        setattr(function, _SPEC_ATTRIBUTE, spec)
        return function

    if fn is not None:
        return mark(fn)
    return mark


def transaction_spec(function: object) -> TransactionSpec | None:
    spec = getattr(function, _SPEC_ATTRIBUTE, None)
    return spec if isinstance(spec, TransactionSpec) else None


class Context:
    """What a transaction sees: the stub and the client identity (parsed on first use).

    Hooks may keep per-transaction values on it as attributes.
    """

    def __init__(self, stub: ChaincodeStub) -> None:
        self.stub = stub
        self._client_identity: ClientIdentity | None = None

    @property
    def client_identity(self) -> ClientIdentity:
        if self._client_identity is None:
            self._client_identity = ClientIdentity(self.stub.get_creator())
        return self._client_identity


class Contract:
    """Base class of contracts.

    ``name`` is the contract's namespace: clients call ``"<name>:<Function>"``; a function
    without a prefix goes to the default contract (the one named "" or else the first served).
    ``info`` is the metadata's title/version/description; ``write_batch`` (default on) batches
    the transaction's writes when the peer accepts it.
    """

    name: ClassVar[str] = ""
    info: ClassVar[dict[str, Any]] = {}
    # Buffer each transaction's writes and send them in one WRITE_BATCH_STATE when it ends, if
    # the peer offers batches (Fabric 3.1 peers do). Reads still see committed state either
    # way; what changes is that a write the peer refuses fails the transaction at its end, not
    # at the put call. Set False for a contract that must catch a refused write itself.
    write_batch: ClassVar[bool] = True
    # What the chaincode knows of the network (its MSP ids, the BNA...); see ``configure``.
    config: ChaincodeConfig = ChaincodeConfig()
    # Plain-text (``str``) arguments, ids and names, are refused when they hold a control or
    # direction character or run past ``max_text_argument`` characters (JSON arguments are
    # bounded whatever this says: runtime/strict.py). Off only for a contract that must store
    # whatever text a test hands it (the smoke contract).
    strict_text: ClassVar[bool] = True
    max_text_argument: ClassVar[int] = 1024

    def configure(self, config: ChaincodeConfig) -> None:
        """Called once when the contract is served, with the chaincode's configuration.

        Override to take what the contract needs from it (and so fail at start-up, naming the
        setting, when it is missing); keep ``super().configure(config)``.
        """
        self.config = config

    @property
    def contract_name(self) -> str:
        return type(self).name or type(self).__name__

    def create_context(self, stub: ChaincodeStub) -> Context:
        """Build the context handed to every transaction; override for a richer Context."""
        return Context(stub)

    def before(self, ctx: Context) -> None:
        """Runs before every transaction of this contract (after arguments are converted)."""

    def after(self, ctx: Context, result: Any) -> None:
        """Runs after every successful transaction, with its result."""

    def unknown(self, ctx: Context, fn: str) -> None:
        """Called for a function this contract does not have; raise to fail (the default)."""
        raise ChaincodeError(
            f"function {quote(fn)} is not a transaction of contract {self.contract_name!r}", 400
        )
