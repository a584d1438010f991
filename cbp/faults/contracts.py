"""Generated bad arguments for every transaction of every contract, sent through the gateway.

The transactions and their parameters come from each contract's own metadata (what
`org.hyperledger.fabric:GetMetadata` returns), so a transaction added to a contract is
covered with no change here. For one transaction, hypothesis draws a call that is wrong in one
way:

- one argument too many (every transaction has a fixed largest count);
- a plain-text argument (an id, a name) holding a control or direction character, or longer
  than the contract accepts (contracts with `strict_text`; the smoke contract stores any text);
- an integer argument that is not one (`1.5`, `0x10`, 19 digits, `١٢`, nothing);
- a JSON argument that is not UTF-8, not JSON, not an object, nested past 32 levels, with an
  integer past 18 digits, NaN, a key twice, a control or direction character, or an object
  with no field the transaction knows.

Submit transactions are only endorsed (never ordered), evaluate ones evaluated: a bad call
must change nothing either way. The verdict of each call: the chaincode's status and message
as the gateway relays them; a call that is not refused with a 4xx status is a defect.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from chaincode.runtime import ContractRouter
from chaincode.runtime.chaincode_config import ChaincodeConfig
from chaincode.runtime.cli import load_contract
from network.chaincode_servers import chaincode_config
from network.topology import Topology

CHAINCODE_STATUS = re.compile(r"chaincode response (\d{3}), (.*)", re.S)
SYSTEM_CONTRACT = "org.hyperledger.fabric"
WRONG_INTEGERS = [
    "",
    " ",
    "abc",
    "1.5",
    "1e3",
    "0x10",
    "9" * 19,
    "-" + "9" * 25,
    "NaN",
    "١٢",
    "12abc",
]
UNSAFE_CHARACTERS = [
    "\n",
    "\r",
    "\t",
    "\x1b",
    "\x7f",
    "\x85",
    "\u202e",
    "\u2066",
    "\u200b",
    "\ufeff",
]


@dataclass(frozen=True)
class Transaction:
    chaincode: str
    name: str
    evaluate: bool
    params: tuple[tuple[str, str], ...]  # (name, kind): text, strict-text, integer, json, ...
    strict_text: bool

    @property
    def label(self) -> str:
        return f"{self.chaincode}.{self.name}"


@dataclass(frozen=True)
class BadCall:
    transaction: Transaction
    args: tuple[bytes, ...]
    target: str  # the parameter made wrong, or "count"
    flaw: str


@dataclass(frozen=True)
class Refusal:
    call: BadCall
    status: int | None  # the chaincode's status; None when no chaincode answered
    message: str

    @property
    def clean(self) -> bool:
        """A 4xx from the chaincode naming what is wrong: the argument made wrong, the count,
        a field of a JSON argument (`field 'startDateTime': ...`), or, for a refusal that came
        first because the other arguments are only placeholders, the record it could not find
        or may not touch (404, 403, 409: `POD x is not registered`)."""
        if self.status is None or not 400 <= self.status < 500:
            return False
        return (
            self.call.target == "count"
            or self.call.target in self.message
            or "field '" in self.message
            or self.status in (403, 404, 409)
        )


def _kind(schema: dict[str, Any], strict: bool) -> str:
    if schema.get("type") == "integer":
        return "integer"
    if schema.get("type") == "number":
        return "number"
    if schema.get("type") == "boolean":
        return "boolean"
    if not strict:
        return "text"  # a contract that takes any text (smoke) may take any bytes too
    if (
        schema.get("format") == "byte"
        or "$ref" in schema
        or schema.get("type") in ("object", "array")
    ):
        return "json"
    return "strict-text"


def transactions(topology: Topology, chaincode: str) -> list[Transaction]:
    """Every transaction a chaincode's contracts serve, from their metadata (the contract is
    configured as the sandbox configures it: the registry needs to know its BNA)."""
    cls = load_contract(topology.chaincodes[chaincode].contract)
    config = ChaincodeConfig.model_validate(chaincode_config(topology, chaincode))
    meta = json.loads(ContractRouter([cls], config=config).metadata())
    out = []
    for name, contract in meta["contracts"].items():
        if name == SYSTEM_CONTRACT:
            continue
        for t in contract["transactions"]:
            params = tuple(
                (p["name"], _kind(p["schema"], cls.strict_text)) for p in t.get("parameters", [])
            )
            out.append(
                Transaction(chaincode, t["name"], "EVALUATE" in t["tag"], params, cls.strict_text)
            )
    return out


# ---- strategies ---------------------------------------------------------------------------------


def _filler(kind: str) -> bytes:
    return {"integer": b"10", "number": b"1", "boolean": b"true", "json": b"{}"}.get(kind, b"x")


def _hostile_text() -> st.SearchStrategy[tuple[str, bytes]]:
    unsafe = st.builds(
        lambda before, ch, after: ("unsafe character", (before + ch + after).encode()),
        st.text("ABCDEFGHIJ0123456789-", max_size=20),
        st.sampled_from(UNSAFE_CHARACTERS),
        st.text("ABCDEFGHIJ0123456789-", max_size=20),
    )
    long = st.integers(1025, 6000).map(lambda n: ("too long", b"I" * n))
    nul = st.just(("NUL inside", b"IT002E\x0000112233"))
    return st.one_of(unsafe, long, nul)


def _hostile_integer() -> st.SearchStrategy[tuple[str, bytes]]:
    return st.sampled_from(WRONG_INTEGERS).map(lambda v: ("not an integer", v.encode()))


_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.text(max_size=10))


def _hostile_json() -> st.SearchStrategy[tuple[str, bytes]]:
    deep = st.integers(33, 3000).map(lambda n: ("nested too deep", ("[" * n + "]" * n).encode()))
    deep_objects = st.integers(33, 200).map(
        lambda n: ("nested too deep", ('{"a":' * n + "1" + "}" * n).encode())
    )
    big = st.integers(19, 5000).map(lambda n: ("huge integer", f'{{"value": {"9" * n}}}'.encode()))
    dup = st.sampled_from(["evId", "meteringPointId", "status", "value"]).map(
        lambda k: ("key twice", f'{{"{k}": "a", "{k}": "b"}}'.encode())
    )
    unsafe = st.sampled_from(UNSAFE_CHARACTERS[3:] + ["\x00"]).map(
        lambda ch: ("unsafe character", json.dumps({"name": f"a{ch}b"}).encode())
    )
    unsafe_key = st.sampled_from(UNSAFE_CHARACTERS).map(
        lambda ch: ("unsafe character in a key", json.dumps({f"na{ch}me": 1}).encode())
    )
    special = st.sampled_from(["NaN", "Infinity", "-Infinity"]).map(
        lambda v: ("not a number", f'{{"value": {v}}}'.encode())
    )
    not_object = st.one_of(st.lists(_json_leaf, max_size=3), _json_leaf).map(
        lambda v: ("not an object", json.dumps(v).encode())
    )
    broken = st.sampled_from(["", "{", "{'a': 1}", "[1,", '{"a" 1}', "nul"]).map(
        lambda v: ("not JSON", v.encode())
    )
    not_utf8 = st.binary(min_size=1, max_size=20).map(lambda b: ("not UTF-8", b"\xff\xfe" + b))
    unknown = st.dictionaries(
        st.text("xyzqw", min_size=1, max_size=8), _json_leaf, min_size=0, max_size=4
    ).map(lambda d: ("no field it knows", json.dumps(d).encode()))
    return st.one_of(
        deep,
        deep_objects,
        big,
        dup,
        unsafe,
        unsafe_key,
        special,
        not_object,
        broken,
        not_utf8,
        unknown,
    )


HOSTILE: dict[str, Callable[[], st.SearchStrategy[tuple[str, bytes]]]] = {
    "strict-text": _hostile_text,
    "integer": _hostile_integer,
    "number": lambda: st.sampled_from(["abc", "1e999", "NaN", ""]).map(
        lambda v: ("not a number", v.encode())
    ),
    "boolean": lambda: st.sampled_from(["maybe", "2", ""]).map(
        lambda v: ("not a boolean", v.encode())
    ),
    "json": _hostile_json,
}


def bad_calls(tx: Transaction) -> st.SearchStrategy[BadCall]:
    """Calls of `tx` that are wrong in exactly one way."""
    good = [_filler(kind) for _, kind in tx.params]
    extra = st.integers(1, 3).map(
        lambda n: BadCall(tx, (*good, *([b"x"] * n)), "count", f"{n} argument(s) too many")
    )
    targets = [(i, name, kind) for i, (name, kind) in enumerate(tx.params) if kind in HOSTILE]
    if not targets:
        return extra

    def one_wrong(choice: tuple[int, str, str]) -> st.SearchStrategy[BadCall]:
        i, name, kind = choice
        return HOSTILE[kind]().map(
            lambda flaw: BadCall(tx, (*good[:i], flaw[1], *good[i + 1 :]), name, flaw[0])
        )

    return st.one_of(extra, st.sampled_from(targets).flatmap(one_wrong))


# ---- calling ------------------------------------------------------------------------------------


def judge(call: BadCall, exc: Exception | None) -> Refusal:
    """The chaincode's status and message from the gateway's error (None: it was accepted)."""
    if exc is None:
        return Refusal(call, 200, "accepted")
    texts = [getattr(d, "message", "") for d in getattr(exc, "details", ())] + [
        getattr(exc, "message", str(exc))
    ]
    for text in texts:
        m = CHAINCODE_STATUS.search(text)
        if m:
            return Refusal(call, int(m.group(1)), m.group(2))
    return Refusal(call, None, texts[-1][:300])


def send(contracts: dict[str, Any], call: BadCall) -> Refusal:
    """Endorse (submit transactions) or evaluate `call` with a sync gateway contract."""
    from gateway.errors import GatewayClientError

    contract = contracts[call.transaction.chaincode]
    try:
        if call.transaction.evaluate:
            contract.evaluate_transaction(call.transaction.name, *call.args)
        else:
            contract.new_proposal(call.transaction.name, *call.args).endorse()
    except GatewayClientError as exc:
        return judge(call, exc)
    return judge(call, None)
