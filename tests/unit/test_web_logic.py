"""The dashboard's logic without a browser: forms parsed by the API's models (and in its words),
paging over cursors, the way back after log-in, histories' changes, values made readable,
channel policies decoded."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pydantic import ValidationError
from starlette.requests import Request

from connector.errors import validation_fields
from connector.feeds import REGISTRY_FEED
from connector.schemas import registry as s
from connector.services.explorer import key_shown, shown
from connector.services.history import diff, ledger_key
from connector.web import forms
from connector.web.lists import PAGE_SIZE, listing
from connector.web.session import safe_back
from gateway.channel_config import decode_channel_config
from network.configtx import build_genesis_block

POD = {
    "meteringPointId": "IT002E00112233",
    "resourceName": "Parking Ostiense",
    "direction": "consumption",
    "contractedPower": "200",
    "maximumFlexUp": "120",
    "maximumFlexDown": "100",
    "gridVoltageLevel": "MV",
    "distributionGridOperatorName": "10XIT-ARETI----C",
    "startDateTime": "2026-03-01",
}
KNOWN = set(POD) | {"endDateTime", "locationId"}


def test_web_form_values_parse_into_the_api_body() -> None:
    outcome = forms.parse(s.PodCreate, POD, KNOWN)
    assert outcome.ok and isinstance(outcome.body, s.PodCreate)
    assert outcome.body.contractedPower == 200.0
    assert outcome.body.startDateTime == "2026-03-01T00:00:00Z"


def test_web_form_rules_are_the_apis_words() -> None:
    bad = {**POD, "maximumFlexUp": "300", "meteringPointId": "IT2E1"}
    outcome = forms.parse(s.PodCreate, bad, KNOWN)
    assert not outcome.ok
    with pytest.raises(ValidationError) as refused:
        s.PodCreate.model_validate(bad)
    api = {f.field: f.rule for f in validation_fields([dict(e) for e in refused.value.errors()])}
    assert outcome.errors["meteringPointId"] == api["meteringPointId"]
    assert "must be IT + 3-digit distributor" in outcome.errors["meteringPointId"]


def test_web_form_rule_across_fields_goes_beside_the_field_it_names() -> None:
    outcome = forms.parse(s.PodCreate, {**POD, "maximumFlexUp": "300"}, KNOWN)
    rule = "maximumFlexUp 300 kW exceeds contractedPower 200 kW"
    assert outcome.form_errors == [rule]
    assert outcome.errors == {"maximumFlexUp": rule}


def test_web_form_missing_field_and_nested_constraints() -> None:
    outcome = forms.parse(s.PodCreate, {k: v for k, v in POD.items() if k != "direction"}, KNOWN)
    assert outcome.errors == {"direction": "is mandatory and missing"}
    decision = forms.parse(
        s.PodStatusChange,
        {"status": "Validated", "constraints.maximumFlexUp": "90"},
        {"status", "constraints.maximumFlexUp"},
    )
    assert decision.ok and isinstance(decision.body, s.PodStatusChange)
    assert decision.body.constraints is not None
    assert decision.body.constraints.maximumFlexUp == 90.0


def _request(query: str) -> Request:
    return Request(
        {"type": "http", "path": "/ui/pods", "query_string": query.encode(), "headers": []}
    )


def test_web_paging_next_previous_first() -> None:
    first = listing(
        _request("status=Open"),
        SimpleNamespace(items=[1] * PAGE_SIZE, total=120, nextCursor="c2"),
        None,
        None,
    )
    assert (first.number, first.first_item, first.last_item, first.pages) == (1, 1, 50, 3)
    assert first.next_url == "/ui/pods?status=Open&cursor=c2&back=-"
    assert first.prev_url is None and first.first_url is None
    second = listing(
        _request("status=Open&cursor=c2&back=-"),
        SimpleNamespace(items=[1] * PAGE_SIZE, total=120, nextCursor="c3"),
        "c2",
        "-",
    )
    assert (second.number, second.first_item) == (2, 51)
    assert second.prev_url == "/ui/pods?status=Open"
    assert second.next_url == "/ui/pods?status=Open&cursor=c3&back=-%2Cc2"
    third = listing(
        _request("cursor=c3&back=-,c2"),
        SimpleNamespace(items=[1] * 20, total=120, nextCursor=None),
        "c3",
        "-,c2",
    )
    assert (third.number, third.first_item, third.last_item) == (3, 101, 120)
    assert third.prev_url == "/ui/pods?cursor=c2&back=-" and third.next_url is None


@pytest.mark.parametrize(
    ("target", "back"),
    [
        (None, "/ui/"),
        (
            "/ui/pods/IT002E00112233?channel=bsp1-channel",
            "/ui/pods/IT002E00112233?channel=bsp1-channel",
        ),
        ("https://evil.example/ui/", "/ui/"),
        ("//evil.example/ui/", "/ui/"),
        ("/docs", "/ui/"),
    ],
)
def test_web_login_returns_only_to_a_page_of_the_dashboard(target: str | None, back: str) -> None:
    assert safe_back(target) == back


def test_history_changes_leave_the_stamps_out() -> None:
    before = {"status": "Open", "attachmentIds": [], "lastTxId": "a", "updatedAt": "t1"}
    after = {"status": "UnderReview", "attachmentIds": ["ATT-1"], "lastTxId": "b", "reason": "x"}
    changes = {c.field: (c.kind, c.before, c.after) for c in diff(before, after)}
    assert changes == {
        "attachmentIds": ("changed", "[]", '["ATT-1"]'),
        "reason": ("added", None, "x"),
        "status": ("changed", "Open", "UnderReview"),
    }


def test_history_key_is_the_registrys_composite_key() -> None:
    pod = SimpleNamespace(kind="pod", id="IT002E00112233", data={})
    assert ledger_key(REGISTRY_FEED, pod) == "\x00POD\x00IT002E00112233\x00"  # type: ignore[arg-type]
    participant = SimpleNamespace(
        kind="participant", id="BSP1MSP", data={"eic": "10XIT-BSP-ALFA-U"}
    )
    assert ledger_key(REGISTRY_FEED, participant) == "\x00Participant\x0010XIT-BSP-ALFA-U\x00"  # type: ignore[arg-type]


def test_explorer_values_never_shown_as_raw_bytes() -> None:
    assert shown(b'{"b":1,"a":2}').text == '{\n  "a": 2,\n  "b": 1\n}'
    assert shown(b"\x00").text == "index entry (one NUL byte)"
    binary = shown(b"\xff\xfe\x00\x01")
    assert binary.kind == "binary" and binary.text.startswith("4 bytes of binary data, SHA-256 ")
    assert key_shown("\x00POD~owner\x0010XIT-BSP-ALFA-U\x00IT002E00112233\x00") == (
        "POD~owner › 10XIT-BSP-ALFA-U › IT002E00112233"
    )


def test_channel_config_shows_the_auditor_a_reader_and_a_writer_of_none(topology, crypto) -> None:  # type: ignore[no-untyped-def]
    config = decode_channel_config(build_genesis_block(topology, "bsp2-channel", crypto.root))
    auditor = config.org("RegulatorMSP")
    assert auditor is not None and auditor.group == "Application"
    assert auditor.policies["Readers"] == (
        "OR('RegulatorMSP.admin', 'RegulatorMSP.peer', 'RegulatorMSP.client')"
    )
    assert auditor.policies["Writers"] == "OR('RegulatorMSP.orderer')"
    assert config.org("BSP2MSP").policies["Writers"] == "OR('BSP2MSP.admin', 'BSP2MSP.client')"  # type: ignore[union-attr]
    assert config.policies["/Channel/Application/Writers"] == "ANY Writers"
    assert config.acls["peer/Propose"] == "/Channel/Application/Writers"
    assert config.org("BSP1MSP") is None  # another BSP's channel
