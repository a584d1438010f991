"""The bounds every contract's arguments get (chaincode/runtime/strict.py) and the runtime's
boundary: what it refuses, how it says so, and what it never repeats."""

from __future__ import annotations

import json
import logging

import pytest

from chaincode.runtime import ChaincodeError, Context, Contract, ContractRouter, transaction
from chaincode.runtime.strict import StrictInputError, check_text, loads_json, quote, shorten
from chaincode.runtime.testing import FakePeer
from hardening.logs import report_unexpected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[" * 5000 + "]" * 5000, "nested deeper than 32 levels"),
        ("[" * 40 + "]" * 40, "nested deeper than 32 levels"),
        ('{"a": ' + "9" * 5000 + "}", "field 'a' holds an integer of 5000 digits (at most 18)"),
        ('{"a": 1e400}', "field 'a' holds the number 1e400 beyond a float's range"),
        ('{"a": NaN}', "field 'a' holds NaN, which is not a JSON number"),
        ('{"a": 1, "a": 2}', "key 'a' appears twice in one object"),
        ('{"name": "abc\\u202edef"}', "field 'name' holds a right-to-left override (U+202E)"),
        ('{"b": [{"id": "x\\u0000"}]}', "field 'b[0].id' holds a NUL (U+0000)"),
        ('{"na\\nme": 1}', "a key of the value holds a line feed (U+000A)"),
    ],
)
def test_strict_json_refuses_hostile_input_naming_where(text: str, says: str) -> None:
    with pytest.raises(StrictInputError) as exc:
        loads_json(text)
    assert says in str(exc.value)


def test_strict_json_keeps_what_is_fine() -> None:
    value = loads_json(
        '{"a": [1, 2.5, "line one\\nline two\\ttab"], "b": {"c": null}, "n": -123456789012345678}'
    )
    assert value == {
        "a": [1, 2.5, "line one\nline two\ttab"],
        "b": {"c": None},
        "n": -123456789012345678,
    }
    assert loads_json("[" * 32 + "]" * 32) is not None


def test_strict_text_refuses_control_and_direction_characters() -> None:
    assert check_text("IT002E00112233", "podId") == "IT002E00112233"
    for ch in ("\n", "\x00", "\x1b", "\u202e", "\u2066", "\ufeff", "\x85"):
        with pytest.raises(StrictInputError, match="podId holds"):
            check_text(f"IT002{ch}E", "podId")
    assert check_text("two\nlines", "note", multiline=True) == "two\nlines"


def test_quote_escapes_and_caps_what_it_repeats() -> None:
    assert quote("I" * 5000) == "'" + "I" * 64 + "…' (5000 characters)"
    assert quote("a\nb\u202ec") == "'a\\nb\\u202ec'"
    assert shorten("x" * 70, 10) == "x" * 10 + "… (70 characters)"


class _Echo(Contract):
    name = "echo"

    @transaction(evaluate=True)
    def Read(self, ctx: Context, itemId: str, pageSize: int = 10) -> str:
        return f"{itemId}:{pageSize}"

    @transaction(evaluate=True)
    def Missing(self, ctx: Context, itemId: str) -> str:
        raise ChaincodeError(f"item {itemId} does not exist " + "and so on " * 400, 404)

    @transaction(evaluate=True)
    def Broken(self, ctx: Context) -> str:
        raise OverflowError("timestamp out of range for platform time_t")


def _peer() -> FakePeer:
    return FakePeer(ContractRouter([_Echo]), chaincode_id="echo:1")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("Read",), "Read takes 1 to 2 argument(s) (itemId, pageSize); 0 given"),
        (("Read", "a", "1", "extra"), "Read takes 1 to 2 argument(s) (itemId, pageSize); 3 given"),
        (
            ("Read", "a", "abc"),
            "argument 'pageSize' of Read is not a valid int: expected an integer",
        ),
        (("Read", "a", "١٢"), "argument 'pageSize' of Read is not a valid int"),
        (("Read", "a", "9" * 19), "argument 'pageSize' of Read is not a valid int"),
        (
            ("Read", "a\nforged line"),
            "argument 'itemId' of Read is not a valid str: the text holds a line feed",
        ),
        (("Read", "a\u202eb"), "the text holds a right-to-left override (U+202E)"),
        (
            ("Read", "I" * 5000),
            "argument 'itemId' of Read is not a valid str: 5000 characters (at most 1024)",
        ),
        ((b"\xff\xfe",), "function name is not UTF-8"),
        (("Nothing",), "function 'Nothing' is not a transaction of contract 'echo'"),
    ],
)
def test_runtime_refuses_a_bad_call_with_400_naming_it(args: tuple[str, ...], says: str) -> None:
    with _peer() as peer:
        outcome = peer.invoke(*args)
    assert outcome.status == 400, outcome.error
    assert says in outcome.error
    assert len(outcome.error) < 300  # nothing given is repeated whole


def test_runtime_keeps_a_bookmark_a_composite_key_is_made_of() -> None:
    bookmark = "\x00POD~owner\x0010XIT-BSP-ALFA-U\x00IT002E00112233\x00"
    with _peer() as peer:
        assert peer.invoke("Read", bookmark).payload == f"{bookmark}:10".encode()


def test_runtime_caps_a_contract_message_and_keeps_its_status() -> None:
    with _peer() as peer:
        outcome = peer.invoke("Missing", "x")
    assert outcome.status == 404
    assert outcome.error.startswith("item x does not exist")
    assert len(outcome.error) <= 2048 and outcome.error.endswith("characters)")


def test_runtime_logs_an_unexpected_exception_once_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR), _peer() as peer:
        for _ in range(5):
            outcome = peer.invoke("Broken")
            assert outcome.status == 500
            assert outcome.error == "timestamp out of range for platform time_t"
    with_trace = [r for r in caplog.records if r.exc_info]
    assert len(with_trace) == 1
    assert len([r for r in caplog.records if "OverflowError" in r.getMessage()]) == 5


def test_report_unexpected_counts_places_not_requests(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("strict-test")

    def fail(n: int) -> None:
        raise KeyError(n)

    with caplog.at_level(logging.ERROR):
        for n in range(3):
            try:
                fail(n)
            except KeyError as exc:
                report_unexpected(log, exc, "lookup")
    assert sum(1 for r in caplog.records if r.exc_info) == 1
    assert (
        caplog.records[-1].getMessage().startswith("lookup: KeyError: 2 at test_strict_input.py:")
    )


def test_json_typed_arguments_are_bounded_too() -> None:
    class Typed(Contract):
        name = "typed"

        @transaction(evaluate=True)
        def Sum(self, ctx: Context, values: list[int]) -> int:
            return sum(values)

    with FakePeer(ContractRouter([Typed]), chaincode_id="typed:1") as peer:
        assert peer.invoke("Sum", json.dumps([1, 2, 3])).payload == b"6"
        deep = peer.invoke("Sum", "[" * 100 + "]" * 100)
        big = peer.invoke("Sum", "[" + "9" * 30 + "]")
    assert deep.status == 400 and "nested deeper than 32 levels" in deep.error
    assert big.status == 400 and "integer of 30 digits" in big.error
