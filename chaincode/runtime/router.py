"""Routes ``"<contract>:<Function>"`` calls to contract methods, as fabric-contract-api does.

The first argument names the function; the part before the first ``:`` names the contract
(none: the default contract). ``org.hyperledger.fabric:GetMetadata`` returns the metadata of
every contract served. This is the runtime's one boundary for bad input: a call to no
transaction, a wrong number of arguments or an argument that does not convert is a status-400
response naming it; a ``ChaincodeError`` keeps its status; any other exception becomes a
status-500 response carrying its message, and its traceback is logged once per place it is
raised from (``logs.report_unexpected``), never once per request. Every message is cut to
``MESSAGE_LIMIT`` characters. The contract's ``after`` hook and the result conversion only
run on success.
"""

from __future__ import annotations

import inspect
import logging
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hardening.logs import report_unexpected

from . import messages as m
from .chaincode_config import ChaincodeConfig
from .contract import Contract, transaction_spec
from .convert import (
    ARGUMENT_STATUS,
    Parameter,
    convert_argument,
    json_schema,
    make_parser,
    to_bytes,
    to_json_bytes,
)
from .errors import ChaincodeError
from .strict import quote
from .stub import ChaincodeStub

__all__ = ["SYSTEM_CONTRACT", "ContractRouter"]

logger = logging.getLogger(__name__)

SYSTEM_CONTRACT = "org.hyperledger.fabric"
METADATA_SCHEMA = (
    "https://hyperledger.github.io/fabric-chaincode-node/main/api/contract-schema.json"
)
SUBMIT_TAGS = ["SUBMIT", "submitTx"]
EVALUATE_TAGS = ["EVALUATE"]
# A refusal travels back in the peer's error details (gRPC metadata, 16 KiB in all at most on
# most clients): each message stays well below that.
MESSAGE_LIMIT = 2048


@dataclass(frozen=True, slots=True)
class _Transaction:
    name: str
    method: Callable[..., Any]
    parameters: tuple[Parameter, ...]
    required: int
    evaluate: bool
    returns: dict[str, Any] | None
    description: str

    def convert(self, args: list[bytes]) -> list[Any]:
        params = self.parameters
        if not self.required <= len(args) <= len(params):
            names = ", ".join(p.name for p in params) or "none"
            expected = (
                str(len(params))
                if self.required == len(params)
                else f"{self.required} to {len(params)}"
            )
            raise ChaincodeError(
                f"{self.name} takes {expected} argument(s) ({names}); {len(args)} given",
                ARGUMENT_STATUS,
            )
        return [convert_argument(p, self.name, raw) for p, raw in zip(params, args, strict=False)]


@dataclass(frozen=True, slots=True)
class _ContractEntry:
    contract: Contract
    transactions: dict[str, _Transaction]


def _describe(contract: Contract, components: dict[str, Any]) -> dict[str, _Transaction]:
    transactions: dict[str, _Transaction] = {}
    cls = type(contract)
    text_limit = cls.max_text_argument if cls.strict_text else None
    for attr in dir(cls):
        spec = transaction_spec(getattr(cls, attr, None))
        if spec is None:
            continue
        function = getattr(cls, attr)
        method = getattr(contract, attr)
        hints = typing.get_type_hints(function)
        signature = inspect.signature(function)
        positional = list(signature.parameters.values())[1:]  # drop self
        if not positional:
            raise TypeError(f"transaction {cls.__name__}.{attr} must take a Context argument")
        params = []
        for p in positional[1:]:  # drop ctx
            if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                raise TypeError(
                    f"transaction {cls.__name__}.{attr} parameter {p.name} must be positional"
                )
            hint = hints.get(p.name, inspect.Parameter.empty)
            params.append(
                Parameter(
                    p.name,
                    hint,
                    make_parser(hint, text_limit),
                    json_schema(hint, components),
                    p.default,
                )
            )
        return_hint = hints.get("return", inspect.Parameter.empty)
        returns = (
            None
            if return_hint in (None, type(None), inspect.Parameter.empty)
            else json_schema(return_hint, components)
        )
        name = spec.name or attr
        if name in transactions:
            raise TypeError(f"contract {contract.contract_name} has two transactions named {name}")
        transactions[name] = _Transaction(
            name=name,
            method=method,
            parameters=tuple(params),
            required=sum(1 for p in params if p.required),
            evaluate=spec.evaluate,
            returns=returns,
            description=spec.description or inspect.getdoc(function) or "",
        )
    return transactions


class ContractRouter:
    """The ``Chaincode`` the handler runs: dispatch to contracts, plus the metadata contract."""

    def __init__(
        self,
        contracts: Sequence[Contract | type[Contract]],
        *,
        title: str = "",
        version: str = "",
        config: ChaincodeConfig | None = None,
    ) -> None:
        if not contracts:
            raise ValueError("a chaincode needs at least one contract")
        self._entries: dict[str, _ContractEntry] = {}
        self._components: dict[str, Any] = {}
        default: str | None = None
        for item in contracts:
            contract = item() if isinstance(item, type) else item
            if not isinstance(contract, Contract):
                raise TypeError(f"{type(contract).__name__} is not a chaincode.runtime.Contract")
            contract.configure(config or ChaincodeConfig())
            name = contract.contract_name
            if name in self._entries or name == SYSTEM_CONTRACT:
                raise ValueError(f"two contracts are named {name!r}; contract names must differ")
            self._entries[name] = _ContractEntry(contract, _describe(contract, self._components))
            if type(contract).name == "" and default is None:
                default = name
        self._default = default or next(iter(self._entries))
        self._metadata = to_json_bytes(self._build_metadata(title, version))

    @property
    def default_contract(self) -> str:
        return self._default

    def metadata(self) -> bytes:
        return self._metadata

    def init(self, stub: ChaincodeStub) -> m.Response:
        return self.invoke(stub)

    def invoke(self, stub: ChaincodeStub) -> m.Response:
        args = stub.get_args()
        if not args:
            return m.Response(status=m.STATUS_OK, payload=b"Default initiator successful.")
        try:
            qualified = args[0].decode("utf-8")
        except UnicodeDecodeError:
            return _failure("function name is not UTF-8", ARGUMENT_STATUS)
        contract_name, _, fn = qualified.partition(":")
        if not _:
            contract_name, fn = "", qualified
        if contract_name == SYSTEM_CONTRACT:
            if fn == "GetMetadata":
                return m.Response(status=m.STATUS_OK, payload=self._metadata)
            return _failure(
                f"function {quote(fn)} is not a transaction of contract {SYSTEM_CONTRACT!r}",
                ARGUMENT_STATUS,
            )
        entry = self._entries.get(contract_name or self._default)
        if entry is None:
            known = ", ".join(sorted(self._entries))
            return _failure(
                f"contract {quote(contract_name)} is not served here (served: {known})",
                ARGUMENT_STATUS,
            )
        contract = entry.contract
        if contract.write_batch:
            stub.start_write_batch()
        try:
            ctx = contract.create_context(stub)
            tx = entry.transactions.get(fn)
            if tx is None:
                contract.unknown(ctx, fn)
                return m.Response(status=m.STATUS_OK)
            values = tx.convert(args[1:])
            contract.before(ctx)
            result = tx.method(ctx, *values)
            contract.after(ctx, result)
            return m.Response(status=m.STATUS_OK, payload=to_bytes(result))
        except ChaincodeError as exc:
            logger.info("tx %s %s refused: %s", stub.get_tx_id()[:8], qualified, exc.message)
            return _failure(exc.message, exc.status)
        except Exception as exc:
            report_unexpected(logger, exc, f"tx {stub.get_tx_id()[:8]} {qualified} failed")
            return _failure(str(exc) or type(exc).__name__)

    def _build_metadata(self, title: str, version: str) -> dict[str, Any]:
        contracts: dict[str, Any] = {}
        for name, entry in self._entries.items():
            instance: dict[str, Any] = {"name": name}
            if name == self._default:
                instance["default"] = True
            info = {"title": "", "version": "", **type(entry.contract).info}
            contracts[name] = {
                "name": name,
                "contractInstance": instance,
                "transactions": [_tx_metadata(tx) for tx in entry.transactions.values()],
                "info": info,
            }
        contracts[SYSTEM_CONTRACT] = {
            "name": SYSTEM_CONTRACT,
            "contractInstance": {"name": SYSTEM_CONTRACT},
            "transactions": [
                {"name": "GetMetadata", "tag": EVALUATE_TAGS, "returns": {"type": "string"}}
            ],
            "info": {"title": "", "version": ""},
        }
        return {
            "$schema": METADATA_SCHEMA,
            "info": {"title": title, "version": version},
            "contracts": contracts,
            "components": {"schemas": self._components},
        }


def _tx_metadata(tx: _Transaction) -> dict[str, Any]:
    described: dict[str, Any] = {
        "name": tx.name,
        "tag": EVALUATE_TAGS if tx.evaluate else SUBMIT_TAGS,
        "parameters": [
            {"name": p.name, "description": "", "schema": p.schema} for p in tx.parameters
        ],
    }
    if tx.returns is not None:
        described["returns"] = tx.returns
    return described


def _failure(message: str, status: int = m.STATUS_ERROR) -> m.Response:
    if len(message) > MESSAGE_LIMIT:
        message = f"{message[: MESSAGE_LIMIT - 40]}… ({len(message)} characters)"
    return m.Response(status=status, message=message)
