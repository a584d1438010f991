"""Admission by the BNA, the bootstrap rule, and caller resolution."""

from __future__ import annotations

import pytest
from registry_fakes import (
    ARETI,
    ARETI_EIC,
    BSP1,
    BSP1_EIC,
    STRANGER,
    TSO,
    TSO_ADMIN,
    TSO_EIC,
    TSO_PLAIN,
    FakeLedger,
    Identity,
    bootstrapped,
    participant,
    pod,
)

from chaincode.runtime import ChaincodeError

TERNA = participant("TSOMSP", TSO_EIC, "TSO", "Terna S.p.A.")


def _refused(ledger: FakeLedger, who: Identity, function: str, *args: object) -> ChaincodeError:
    before = ledger.snapshot()
    with pytest.raises(ChaincodeError) as info:
        ledger.submit(who, function, *args)
    assert ledger.snapshot() == before
    return info.value


def test_registry_participants_tso_bootstraps_itself_as_bna() -> None:
    ledger = FakeLedger()
    record = ledger.submit(TSO, "AdmitParticipant", TERNA)
    assert record["role"] == "TSO" and record["eic"] == TSO_EIC
    assert record["updatedBy"]["mspId"] == "TSOMSP"
    assert [e.name for e in ledger.events] == ["ParticipantAdmitted"]
    assert ledger.evaluate(TSO, "WhoAmI")["role"] == "TSO"


def test_registry_participants_tso_admin_may_bootstrap() -> None:
    ledger = FakeLedger()
    ledger.submit(TSO_ADMIN, "AdmitParticipant", TERNA)
    assert ledger.evaluate(TSO_ADMIN, "ReadParticipant", "TSOMSP")["name"] == "Terna S.p.A."


def test_registry_participants_bootstrap_refused_to_others() -> None:
    ledger = FakeLedger()
    error = _refused(
        ledger, BSP1, "AdmitParticipant", participant("BSP1MSP", BSP1_EIC, "TSO", "fake BNA")
    )
    assert error.status == 403
    assert "only TSOMSP with role TSO" in error.message
    error = _refused(ledger, TSO_PLAIN, "AdmitParticipant", TERNA)
    assert error.status == 403


def test_registry_participants_bootstrap_must_admit_the_bna_itself() -> None:
    ledger = FakeLedger()
    error = _refused(ledger, TSO, "AdmitParticipant", participant("BSP1MSP", BSP1_EIC, "BSP", "x"))
    assert error.status == 422
    assert "the first admission must be the BNA itself" in error.message


def test_registry_participants_only_the_bna_admits() -> None:
    ledger = bootstrapped()
    newcomer = participant("BSP3MSP", "10YIT-GRTN-----B", "BSP", "BSP Gamma")
    assert _refused(ledger, BSP1, "AdmitParticipant", newcomer).status == 403
    assert _refused(ledger, TSO_PLAIN, "AdmitParticipant", newcomer).status == 403
    assert ledger.submit(TSO_ADMIN, "AdmitParticipant", newcomer)["mspId"] == "BSP3MSP"


def test_registry_participants_duplicates_are_refused() -> None:
    ledger = bootstrapped()
    same_msp = participant("BSP1MSP", "10YIT-GRTN-----B", "BSP", "again")
    error = _refused(ledger, TSO, "AdmitParticipant", same_msp)
    assert error.status == 409 and "participant BSP1MSP is already admitted" in error.message
    same_eic = participant("BSP9MSP", BSP1_EIC, "BSP", "again")
    error = _refused(ledger, TSO, "AdmitParticipant", same_eic)
    assert error.status == 409 and f"EIC code {BSP1_EIC} already belongs" in error.message


def test_registry_participants_distributor_code_only_for_dso() -> None:
    ledger = bootstrapped()
    bad = participant("BSP9MSP", "10YIT-GRTN-----B", "BSP", "x", distributorCode="002")
    assert (
        "only a DSO has a distributorCode" in _refused(ledger, TSO, "AdmitParticipant", bad).message
    )


def test_registry_participants_unadmitted_caller_is_refused() -> None:
    ledger = bootstrapped()
    error = _refused(ledger, STRANGER, "RegisterPod", pod())
    assert error.status == 403
    assert (
        error.message == "Forbidden: MSP BSPHostMSP is not an admitted participant of this registry"
    )


def test_registry_participants_certificate_attributes_must_match() -> None:
    ledger = bootstrapped()
    liar = Identity("BSP1MSP", "User9@bsp1", (("role", "BSP"), ("eic", ARETI_EIC)))
    error = _refused(ledger, liar, "RegisterPod", pod())
    assert "certificate says eic=10XIT-ARETI----C but participant BSP1MSP is" in error.message
    posing = Identity("BSP1MSP", "User9@bsp1", (("role", "TSO"),))
    assert "says role=TSO" in _refused(ledger, posing, "RegisterPod", pod()).message


def test_registry_participants_list_pages_with_bookmark() -> None:
    ledger = bootstrapped()
    first = ledger.evaluate(ARETI, "ListParticipants", 3, "")
    assert first["fetchedCount"] == 3 and first["bookmark"]
    rest = ledger.evaluate(ARETI, "ListParticipants", 3, first["bookmark"])
    assert rest["fetchedCount"] == 1 and rest["bookmark"] == ""
    names = {r["mspId"] for r in first["records"] + rest["records"]}
    assert names == {"TSOMSP", "BSP1MSP", "BSP2MSP", "ARETIMSP"}
    assert (
        "pageSize 0 must be between 1 and 1000"
        in pytest.raises(
            ChaincodeError, ledger.evaluate, ARETI, "ListParticipants", 0, ""
        ).value.message
    )
