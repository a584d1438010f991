"""The connector's edge rules without a network: field types, documents, mass-loading files,
webhook signatures, the ledger's refusals as the API reports them, who may do what."""

from __future__ import annotations

import io
import time

import pytest
from openpyxl import Workbook
from pydantic import ValidationError

from connector import errors, webhooks
from connector.ledger import (
    LedgerRefused,
    LedgerTimeout,
    LedgerUnavailable,
    refusal_of,
    translate,
)
from connector.org import Role
from connector.permissions import Access, Action, allowed
from connector.schemas.registry import PodCreate, PodStatusChange
from connector.services import documents, loading
from gateway.errors import EndorseError, ErrorDetail, GatewayError

POD = {
    "meteringPointId": "IT002E00112233",
    "resourceName": "Parking Ostiense",
    "direction": "consumption",
    "contractedPower": 200,
    "maximumFlexUp": 120,
    "maximumFlexDown": 100,
    "gridVoltageLevel": "MV",
    "distributionGridOperatorName": "10XIT-ARETI----C",
    "startDateTime": "2026-03-01T00:00:00Z",
}


def _rules(**change: object) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as info:
        PodCreate.model_validate({**POD, **change})
    return [(".".join(map(str, e["loc"])), str(e["msg"])) for e in info.value.errors()]


def test_connector_fields_accept_the_seed_pod() -> None:
    pod = PodCreate.model_validate({**POD, "startDateTime": "2026-03-01"})
    assert pod.startDateTime == "2026-03-01T00:00:00Z"
    assert pod.ledger_json()["direction"] == "consumption"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            {"distributionGridOperatorName": "10XIT-ARETI----D"},
            "distributionGridOperatorName",
            "wrong check character",
        ),
        ({"receiverId": "10X1001A1001A34"}, "receiverId", "must have 16 characters"),
        ({"meteringPointId": "IT02E0011223"}, "meteringPointId", "IT + 3-digit distributor"),
        ({"startDateTime": "2026-03-01T00:00:00"}, "startDateTime", "UTC offset"),
        ({"startDateTime": 10**12}, "startDateTime", "out of range"),
        ({"resourceName": "Parking\u202eenitsO"}, "resourceName", "direction-override"),
        ({"resourceName": "two\nlines"}, "resourceName", "one line"),
        ({"contractedPower": -1}, "contractedPower", "greater than or equal to 0"),
    ],
)
def test_connector_fields_name_the_field_and_the_rule(
    change: dict[str, object], field: str, words: str
) -> None:
    rules = _rules(**change)
    assert any(f == field and words in m for f, m in rules), rules


def test_connector_rejection_needs_a_reason() -> None:
    with pytest.raises(ValidationError, match="a rejection needs a reason"):
        PodStatusChange.model_validate({"status": "Rejected"})


def test_connector_documents_are_judged_by_content() -> None:
    assert documents.check(b"%PDF-1.7 x", None).mime_type == documents.PDF
    assert documents.check(b"\xef\xbb\xbf <?xml version='1.0'?><a/>", "text/xml").mime_type == (
        documents.XML
    )
    with pytest.raises(errors.UnsupportedMedia, match="neither PDF nor XML"):
        documents.check(b"MZ\x90\x00 an executable", "application/pdf")
    with pytest.raises(errors.UnsupportedMedia, match="the content is application/pdf"):
        documents.check(b"%PDF-1.7", "application/xml")
    limit = b"%PDF-" + b"0" * (documents.MAX_BYTES - 5)
    assert documents.check(limit, None).size == documents.MAX_BYTES
    with pytest.raises(errors.TooLarge, match="at most 5 MB"):
        documents.check(limit + b"0", None)


CSV = (
    "meteringPointId,parentResourceId,resourceId,resourceName,deviceType,direction,"
    "contractedPower,maximumFlexUp,maximumFlexDown,gridVoltageLevel,"
    "distributionGridOperatorName,startDateTime\n"
    "IT002E00000001,,,Site 1,,consumption,80,66,66,LV,10XIT-ARETI----C,2026-03-01\n"
    ",IT002E00000001,IT002E00000001-EVSE-1,Charger 1,EVSE,consumption,22,22,22,,,2026-03-01\n"
    "IT002E0000000X,,,Site 2,,consumption,80,66,66,LV,10XIT-ARETI----C,2026-03-01\n"
    "IT002E00000001,,,Site 1 again,,consumption,80,66,66,LV,10XIT-ARETI----C,2026-03-01\n"
    ",IT002E00000001,IT002E00000001-EVSE-2,Charger 2,EVSE,consumption,22,99,22,,,2026-03-01\n"
)


def test_connector_loading_reports_each_bad_row_and_keeps_the_good() -> None:
    parsed = loading.parse(CSV.encode(), "pods.csv")
    outcome = {r.line: (r.kind, r.resource_id, r.reason) for r in parsed.rows}
    assert outcome[2] == ("pod", "IT002E00000001", None)
    assert outcome[3] == ("device", "IT002E00000001-EVSE-1", None)
    assert "meteringPointId" in str(outcome[4][2])
    assert outcome[5][2] == "the same POD as line 2"
    assert "maximumFlexUp 99 kW exceeds contractedPower 22 kW" in str(outcome[6][2])
    assert [r.line for r in parsed.good] == [2, 3]


def test_connector_loading_reads_xlsx_as_csv() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for line in CSV.splitlines()[:3]:
        sheet.append([cell or None for cell in line.split(",")])
    data = io.BytesIO()
    book.save(data)
    parsed = loading.parse(data.getvalue(), "pods.xlsx")
    assert [(r.kind, r.reason) for r in parsed.rows] == [("pod", None), ("device", None)]


def test_connector_loading_refuses_an_unknown_column_at_once() -> None:
    with pytest.raises(errors.InvalidInput, match="column 'resourcName' is not a field"):
        loading.parse(b"meteringPointId,resourcName\nIT002E00000001,x\n", "pods.csv")


def test_connector_webhook_signature_verifies_and_detects_tampering() -> None:
    secret, body = webhooks.new_secret(), b'{"event":"operation.completed"}'
    header = webhooks.sign(secret, body, int(time.time()))
    assert webhooks.verify(secret, body, header)
    assert not webhooks.verify(secret, body + b" ", header)
    assert not webhooks.verify("whsec_other", body, header)
    stale = webhooks.sign(secret, body, int(time.time()) - 3600)
    assert not webhooks.verify(secret, body, stale)


def test_connector_ledger_refusal_keeps_the_chaincode_words() -> None:
    exc = EndorseError(
        "failed to endorse transaction",
        code="ABORTED",
        details=(
            ErrorDetail(
                "127.0.0.1:7051",
                "TSOMSP",
                "chaincode response 409, WrongState: POD X is Registered",
            ),
        ),
    )
    refused = refusal_of(exc)
    assert isinstance(refused, LedgerRefused)
    assert (refused.status, refused.code) == (409, "WrongState")
    assert refused.message == "WrongState: POD X is Registered"
    api = errors.from_ledger(refused, "op1")
    assert (api.status, api.code, api.message, api.operation_id) == (
        409,
        "WrongState",
        "WrongState: POD X is Registered",
        "op1",
    )


def test_connector_ledger_outages_become_503_and_504() -> None:
    down = translate(GatewayError("connect failed", code="UNAVAILABLE"), "endorsement")
    slow = translate(GatewayError("deadline", code="DEADLINE_EXCEEDED"), "endorsement")
    assert isinstance(down, LedgerUnavailable) and errors.from_ledger(down).status == 503
    assert isinstance(slow, LedgerTimeout) and errors.from_ledger(slow).status == 504


def test_connector_permissions_by_role_and_access() -> None:
    assert allowed(Role.BSP, Access.viewer) == {Action.read}
    assert Action.register in allowed(Role.BSP, Access.operator)
    assert Action.review not in allowed(Role.BSP, Access.admin)
    assert Action.review in allowed(Role.TSO, Access.operator)
    assert Action.admit not in allowed(Role.TSO, Access.operator)
    assert Action.admit in allowed(Role.TSO, Access.admin)
    assert Action.validate in allowed(Role.DSO, Access.operator)


def test_connector_log_in_throttle_locks_a_name_for_its_window() -> None:
    from connector.throttle import LogInThrottle

    throttle = LogInThrottle(failures=3, window=60)
    for _ in range(3):
        assert throttle.wait("mallory") == 0
        throttle.failed("mallory")
    assert 59 < throttle.wait("mallory") <= 60
    assert throttle.wait("alice") == 0
    throttle.succeeded("mallory")
    assert throttle.wait("mallory") == 0


def test_connector_a_bug_hit_again_logs_one_line_not_another_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    app = FastAPI()
    errors.install(app)

    @app.get("/broken/{name}")
    async def broken(name: str) -> None:
        raise RuntimeError(f"cannot handle {name}")

    with caplog.at_level("ERROR", logger="connector.errors"):
        client = TestClient(app, raise_server_exceptions=False)
        first = client.get("/broken/a")
        second = client.get("/broken/b%0Aforged")
    for reply in (first, second):
        assert reply.status_code == 500
        assert "Traceback" not in reply.text and "cannot handle" not in reply.text
        assert reply.json()["error"]["code"] == "Internal"
    records = [r for r in caplog.records if r.name == "connector.errors"]
    assert len(records) == 2
    assert records[0].exc_info is not None  # the first time: where it happened
    assert records[1].exc_info is None  # the same bug again: one line
    reference = second.json()["error"]["message"].rsplit(" ", 1)[-1]
    assert reference in records[1].getMessage()
