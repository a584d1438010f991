"""The registry and the trading contract refuse hostile arguments with a 4xx naming the field,
write nothing, and log no traceback: each case a fault the hostile-input review found (a 500
with a traceback, or an input accepted that should not be)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from registry_fakes import sandbox_config

from chaincode.registry import RegistryContract
from chaincode.runtime import ContractRouter
from chaincode.runtime.testing import FakePeer, make_creator
from chaincode.trading import TradingContract

TSO_EIC, BSP_EIC, DSO_EIC = "10X1001A1001A345", "10XIT-BSP-ALFA-U", "10XIT-ARETI----C"
TSO = make_creator(
    "TSOMSP", "User1@tso.cbp.local", {"role": "TSO", "eic": TSO_EIC}, "tso.cbp.local"
)
BSP = make_creator("BSP1MSP", "User1@bsp1.cbp.local", {"role": "BSP", "eic": BSP_EIC})
OPERATOR = make_creator("InfraOpMSP", "User1@infraop.cbp.local", {}, "infraop.cbp.local")
EV_USER = make_creator(
    "EVUsersMSP",
    "User1@evusers.cbp.local",
    {"hf.EnrollmentID": "User1@evusers.cbp.local"},
    "evusers.cbp.local",
)


def pod(**changes: Any) -> dict[str, Any]:
    return {
        "registrationPeriod": 1772355600,
        "receiverId": TSO_EIC,
        "receiverCodingSchemeType": "A01",
        "flexibilityServiceProviderId": BSP_EIC,
        "flexibilityServiceProviderCodingSchemeType": "A01",
        "meteringPointId": "IT002E00112233",
        "resourceType": "GridConnectionPoint",
        "resourceName": "Parking Ostiense",
        "direction": "consumption",
        "contractedPower": 200.0,
        "maximumFlexUp": 120.0,
        "maximumFlexDown": 100.0,
        "gridVoltageLevel": "MV",
        "distributionGridOperatorName": DSO_EIC,
        "startDateTime": "2026-03-01T00:00:00Z",
        **changes,
    }


@pytest.fixture
def registry() -> Iterator[FakePeer]:
    with FakePeer(
        ContractRouter([RegistryContract], config=sandbox_config("registry")),
        chaincode_id="registry:1",
    ) as peer:
        for msp, eic, role, name, extra in (
            ("TSOMSP", TSO_EIC, "TSO", "Terna", {}),
            ("BSP1MSP", BSP_EIC, "BSP", "BSP Alfa", {}),
            ("ARETIMSP", DSO_EIC, "DSO", "Areti", {"distributorCode": "002"}),
        ):
            body = {"mspId": msp, "eic": eic, "role": role, "name": name, **extra}
            assert peer.invoke("AdmitParticipant", json.dumps(body), creator=TSO).status == 200
        yield peer


def _refused(peer: FakePeer, creator: bytes, *args: str | bytes) -> tuple[int, str]:
    before = dict(peer.state)
    outcome = peer.invoke(*args, creator=creator)
    assert peer.state == before, "a refused call wrote something"
    return outcome.status, outcome.error


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        (json.dumps(pod(startDateTime=1e20)), "startDateTime", "outside 2000-01-01T00:00:00Z"),
        (json.dumps(pod(startDateTime=1e18)), "startDateTime", "outside 2000-01-01T00:00:00Z"),
        (json.dumps(pod(startDateTime="1999-12-31T23:59:59Z")), "startDateTime", "outside"),
        (json.dumps(pod(startDateTime="2100-01-01T00:00:00Z")), "startDateTime", "outside"),
        (json.dumps(pod(registrationPeriod=2**70)), "registrationPeriod", "22 digits"),
        (json.dumps(pod(registrationPeriod=10**17)), "registrationPeriod", "outside"),
        ('{"meteringPointId": ' + "[" * 5000 + "]" * 5000 + "}", "pod", "nested deeper"),
        (
            json.dumps(pod()).replace("200.0", "9" * 5000, 1),
            "contractedPower",
            "integer of 5000 digits",
        ),
        (json.dumps(pod())[:-1] + ', "resourceName": "Other"}', "resourceName", "appears twice"),
        (json.dumps(pod(resourceName="Parking \u202eenitsO")), "resourceName", "right-to-left"),
        (json.dumps(pod(resourceName="two\nlines")), "resourceName", "line feed"),
        (json.dumps(pod(locationId="Roma\u2066")), "locationId", "left-to-right isolate"),
    ],
)
def test_registry_refuses_hostile_json_naming_the_field(
    registry: FakePeer, body: str, field: str, says: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        status, error = _refused(registry, BSP, "RegisterPod", body)
    assert status == 422, error
    assert error.startswith("InvalidArgument: ")
    assert field in error and says in error
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("RegisterPod", "{}", "extra"), "RegisterPod takes 1 argument(s) (pod); 2 given"),
        (("ListPodsByOwner", BSP_EIC, "abc"), "argument 'pageSize' of ListPodsByOwner"),
        (("ListPodsByOwner", BSP_EIC), "ListPodsByOwner takes 2 to 3 argument(s)"),
        (("ReadPod", "IT002E0011\n2233 forged line"), "argument 'podId' of ReadPod"),
        (("ReadPod", "IT002E\x0000112233"), "argument 'podId' of ReadPod"),
    ],
)
def test_registry_refuses_wrong_calls_with_400(
    registry: FakePeer, args: tuple[str, ...], says: str
) -> None:
    status, error = _refused(registry, BSP, *args)
    assert status == 400 and says in error, error


def test_registry_never_echoes_an_oversized_id(registry: FakePeer) -> None:
    status, error = _refused(registry, BSP, "ReadPod", "I" * 5000)
    assert status == 400
    assert len(error) < 120 and "I" * 65 not in error
    status, error = _refused(registry, BSP, "ReadPod", "I" * 1000)
    assert status == 404 and len(error) < 1200  # within the runtime's limit, then not found


def test_registry_pod_code_in_a_refusal_is_quoted_short(registry: FakePeer) -> None:
    body = json.dumps(pod(meteringPointId="X" * 3000))
    status, error = _refused(registry, BSP, "RegisterPod", body)
    assert status == 422 and "(3000 characters)" in error and len(error) < 400


@pytest.fixture
def trading() -> Iterator[FakePeer]:
    with FakePeer(
        ContractRouter([TradingContract], config=sandbox_config("trading")),
        chaincode_id="trading:1",
    ) as peer:
        params = {"buyThresholdPct": 70, "sellThresholdPct": 75, "priceEurPerKwh": "0.15"}
        outcome = peer.invoke("SetMarketParameters", json.dumps(params), creator=OPERATOR)
        assert outcome.status == 200, outcome.error
        yield peer


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            '{"evId": "EV-1", "evId": "EV-2", "batteryCapacityKwh": 60, "socPct": 50}',
            "appears twice",
        ),
        ('{"evId": "EV-1", "batteryCapacityKwh": ' + "9" * 40 + ', "socPct": 50}', "40 digits"),
        ('{"evId": "EV\\u202e1", "batteryCapacityKwh": 60, "socPct": 50}', "right-to-left"),
        ("[" * 100 + "]" * 100, "nested deeper"),
        ('{"evId": "EV-1", "batteryCapacityKwh": NaN, "socPct": 50}', "NaN"),
    ],
)
def test_trading_refuses_hostile_json(trading: FakePeer, body: str, says: str) -> None:
    status, error = _refused(trading, EV_USER, "DeclareEv", body)
    assert status == 422 and "argument 'ev'" in error and says in error, error


def test_trading_refuses_a_wrong_page_size_and_a_control_character_in_an_id(
    trading: FakePeer,
) -> None:
    status, error = _refused(trading, EV_USER, "ListEvs", "1.5")
    assert status == 400 and "argument 'pageSize'" in error
    status, error = _refused(trading, EV_USER, "ReadEv", "EV\x1b[31m-1")
    assert status == 400 and "argument 'evId'" in error and "\x1b" not in error
