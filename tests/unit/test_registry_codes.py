"""Field checks of the registry's codes, without a ledger."""

from __future__ import annotations

import pytest

from chaincode.registry.codes import (
    Direction,
    PodStatus,
    UvamStatus,
    check_eic,
    check_mime_type,
    check_pod,
    enum_value,
    pod_distributor,
    sniff_matches_mime,
)

SANDBOX_EICS = [
    "10YIT-GRTN-----B",
    "10X1001A1001A345",
    "10XIT-BSP-ALFA-U",
    "10XIT-BSP-BETA-3",
    "10XIT-ARETI----C",
]


@pytest.mark.parametrize("code", SANDBOX_EICS)
def test_registry_eic_accepts_valid_codes(code: str) -> None:
    assert check_eic(code) == code


def test_registry_eic_normalises_case() -> None:
    assert check_eic(" 10x1001a1001a345 ") == "10X1001A1001A345"


@pytest.mark.parametrize(
    ("code", "rule"),
    [
        ("10X1001A1001A346", "wrong check character"),
        ("10YIT-GRTN-----A", "wrong check character"),
        ("10X1001A1001A3", "16 characters"),
        ("10X1001A1001A34$", "may hold only"),
    ],
)
def test_registry_eic_refuses_bad_codes_naming_the_rule(code: str, rule: str) -> None:
    with pytest.raises(ValueError, match=rule):
        check_eic(code)


def test_registry_pod_code_format_and_distributor() -> None:
    assert check_pod("it002e00112233") == "IT002E00112233"
    assert pod_distributor("IT002E00112233") == "002"


@pytest.mark.parametrize(
    "code", ["IT002E0011223", "IT02E00112233", "FR002E00112233", "IT002X00112233", ""]
)
def test_registry_pod_code_refuses_other_forms(code: str) -> None:
    with pytest.raises(ValueError, match="IT \\+ 3-digit distributor"):
        check_pod(code)


def test_registry_enum_values_accept_the_seed_spellings() -> None:
    assert enum_value(PodStatus, "registered") is PodStatus.REGISTERED
    assert enum_value(PodStatus, "Under Review") is PodStatus.UNDER_REVIEW
    assert enum_value(PodStatus, "pre_validated") is PodStatus.PRE_VALIDATED
    assert enum_value(Direction, "MIXED") is Direction.MIXED
    with pytest.raises(ValueError, match="not one of Registered, Open"):
        enum_value(UvamStatus, "Validated")


def test_registry_mime_types_are_pdf_or_xml() -> None:
    assert check_mime_type("Application/PDF") == "application/pdf"
    with pytest.raises(ValueError, match="PDF or XML"):
        check_mime_type("image/png")
    assert sniff_matches_mime(b"%PDF-1.7 ...", "application/pdf")
    assert not sniff_matches_mime(b"<?xml version='1.0'?>", "application/pdf")
    assert sniff_matches_mime(b"\xef\xbb\xbf<?xml version='1.0'?><a/>", "application/xml")
