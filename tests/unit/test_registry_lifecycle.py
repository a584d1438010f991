"""The lifecycle table: its shape, who may use each row, and the refusals it words."""

from __future__ import annotations

import pytest

from chaincode.registry.errors import Forbidden, WrongState
from chaincode.registry.ledger import Actor
from chaincode.registry.lifecycle import (
    POD,
    TRANSITIONS,
    UVAM,
    Who,
    check_assembling,
    check_editable,
    creation,
    find,
    plan,
)

BSP = Actor("BSP1MSP", "10XIT-BSP-ALFA-U", "BSP", "BSP Alfa", "x509::bsp1")
OTHER_BSP = Actor("BSP2MSP", "10XIT-BSP-BETA-3", "BSP", "BSP Beta", "x509::bsp2")
TSO = Actor("TSOMSP", "10X1001A1001A345", "TSO", "Terna", "x509::tso")
DSO = Actor("ARETIMSP", "10XIT-ARETI----C", "DSO", "Areti", "x509::areti")
OWNER, GRID = BSP.eic, DSO.eic


def _edges(entity: str) -> set[tuple[str | None, str, Who]]:
    return {(r.source, r.target, r.who) for r in TRANSITIONS if r.entity == entity}


def test_registry_lifecycle_pod_table_is_the_design() -> None:
    assert _edges(POD) == {
        (None, "Registered", Who.OWNER),
        ("Registered", "Open", Who.OWNER),
        ("Open", "UnderReview", Who.OWNER),
        ("UnderReview", "PreValidated", Who.TSO),
        ("UnderReview", "Rejected", Who.TSO),
        ("PreValidated", "Validated", Who.GRID_DSO),
        ("PreValidated", "Rejected", Who.GRID_DSO),
    }


def test_registry_lifecycle_uvam_table_is_the_design() -> None:
    assert _edges(UVAM) == {
        (None, "Registered", Who.OWNER),
        ("Registered", "Open", Who.OWNER),
        ("Open", "UnderReview", Who.OWNER),
        ("UnderReview", "Qualified", Who.TSO),
        ("UnderReview", "Rejected", Who.TSO),
    }


def test_registry_lifecycle_rejections_need_a_reason_and_event_names_are_unique_per_edge() -> None:
    for row in TRANSITIONS:
        assert row.needs_reason == (row.target == "Rejected")
    assert creation(POD).event == "PodRegistered"
    assert creation(UVAM).event == "UvamRegistered"


def test_registry_lifecycle_plan_finds_the_row_for_the_right_actor() -> None:
    assert (
        plan(POD, "P", "UnderReview", "PreValidated", TSO, OWNER, GRID).event == "PodPreValidated"
    )
    assert plan(POD, "P", "PreValidated", "Validated", DSO, OWNER, GRID).event == "PodValidated"
    assert plan(POD, "P", "PreValidated", "Rejected", DSO, OWNER, GRID).who is Who.GRID_DSO
    assert plan(POD, "P", "UnderReview", "Rejected", TSO, OWNER, GRID).who is Who.TSO
    assert plan(UVAM, "U", "UnderReview", "Qualified", TSO, OWNER).event == "UvamQualified"


def test_registry_lifecycle_a_bsp_validating_is_forbidden_whatever_the_state() -> None:
    for state in ("PreValidated", "UnderReview", "Open"):
        with pytest.raises(Forbidden, match="only the DSO named on the POD may move POD P"):
            plan(POD, "P", state, "Validated", BSP, OWNER, GRID)


def test_registry_lifecycle_only_the_owner_submits() -> None:
    with pytest.raises(Forbidden, match="only the owning BSP"):
        plan(POD, "P", "Open", "UnderReview", OTHER_BSP, OWNER, GRID)
    with pytest.raises(Forbidden, match="only the owning BSP"):
        plan(POD, "P", "Open", "UnderReview", TSO, OWNER, GRID)


def test_registry_lifecycle_another_dso_cannot_validate() -> None:
    stranger = Actor("OTHERMSP", "10YIT-GRTN-----B", "DSO", "Other", "x509::o")
    with pytest.raises(Forbidden, match="DSO named on the POD"):
        plan(POD, "P", "PreValidated", "Validated", stranger, OWNER, GRID)


def test_registry_lifecycle_wrong_state_says_what_was_expected() -> None:
    with pytest.raises(
        WrongState, match="POD P is Open; it can move to PreValidated only from UnderReview"
    ):
        plan(POD, "P", "Open", "PreValidated", TSO, OWNER, GRID)
    with pytest.raises(WrongState, match="cannot move to Registered"):
        find(POD, "P", "Open", "Registered")
    with pytest.raises(WrongState, match="it is final"):
        find(POD, "P", "Validated", "Registered")


def test_registry_lifecycle_information_changes_only_while_open() -> None:
    check_editable(POD, "IT002E00112233", "Open")
    with pytest.raises(WrongState) as info:
        check_editable(POD, "IT002E00112233", "UnderReview")
    assert info.value.message == (
        "POD IT002E00112233 is UnderReview; information can change only while Open"
    )
    assert str(info.value).startswith("WrongState: ")


def test_registry_lifecycle_parts_are_added_while_registered_or_open() -> None:
    check_assembling(UVAM, "U", "Registered", "its members")
    check_assembling(UVAM, "U", "Open", "its members")
    with pytest.raises(WrongState, match="its members can change only while Registered or Open"):
        check_assembling(UVAM, "U", "Qualified", "its members")
