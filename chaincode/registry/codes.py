"""Codes and fixed lists of the registry: EIC, POD codes, coding schemes, directions, levels.

Every checker returns the canonical form of a valid value and raises ``ValueError`` with the
rule it broke; the model layer adds the entity and field names to the message.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache, lru_cache
from typing import TypeVar

from stdnum.eu import eic as _eic
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength

from chaincode.runtime.strict import quote

# Powers are in kW throughout; the demo admits UVAMs smaller than the market's 1 MW.
MARKET_MINIMUM_KW = 1000.0

# The CBP GUI accepts single PDF or XML documents of at most 5 MB.
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
MIME_TYPES = ("application/pdf", "application/xml", "text/xml")

# IT + 3-digit distributor code + E + 8 digits (e.g. Areti, distributor 002: IT002E00112233).
_POD_RE = re.compile(r"IT(\d{3})E\d{8}")
# Ids chosen by clients (resource codes, document ids): printable, no composite-key separator.
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,127}")
_SHA256_RE = re.compile(r"[0-9a-f]{64}")


class Role(StrEnum):
    TSO = "TSO"
    DSO = "DSO"
    BSP = "BSP"


class CodingScheme(StrEnum):
    """ENTSO-E CodingSchemeType codes the CBP uses."""

    EIC = "A01"
    CGM = "A02"
    GS1 = "A10"
    ITALY = "NIT"


class Direction(StrEnum):
    CONSUMPTION = "consumption"
    GENERATION = "generation"
    MIXED = "mixed"


class VoltageLevel(StrEnum):
    LV = "LV"
    MV = "MV"
    HV = "HV"
    EHV = "EHV"


class PodStatus(StrEnum):
    REGISTERED = "Registered"
    OPEN = "Open"
    UNDER_REVIEW = "UnderReview"
    PRE_VALIDATED = "PreValidated"
    VALIDATED = "Validated"
    REJECTED = "Rejected"


class UvamStatus(StrEnum):
    REGISTERED = "Registered"
    OPEN = "Open"
    UNDER_REVIEW = "UnderReview"
    QUALIFIED = "Qualified"
    REJECTED = "Rejected"


class RelationStatus(StrEnum):
    ACTIVE = "Active"
    ENDED = "Ended"


_SEPARATORS = re.compile(r"[\s_-]")


def _squash(value: str) -> str:
    return _SEPARATORS.sub("", value).lower()


E = TypeVar("E", bound=StrEnum)


@cache
def _spellings(kind: type[StrEnum]) -> dict[str, StrEnum]:
    """Squashed value and name of every member; the first member wins, as a scan in order would."""
    table: dict[str, StrEnum] = {}
    for member in kind:
        table.setdefault(_squash(member.value), member)
        table.setdefault(_squash(member.name), member)
    return table


def enum_value(kind: type[E], value: str) -> E:
    """Match ``value`` to a member of ``kind`` ignoring case, spaces, '_' and '-'.

    The seed's API passes statuses as 'registered' or 'under review'; the ledger stores the
    canonical spelling.
    """
    member = _spellings(kind).get(_squash(value))
    if member is not None:
        return member  # type: ignore[return-value]
    allowed = ", ".join(m.value for m in kind)
    raise ValueError(f"{quote(value)} is not one of {allowed}")


@lru_cache(maxsize=4096)
def check_eic(value: str) -> str:
    """A 16-character ENTSO-E EIC code with a correct check character.

    Cached: stdnum's check is slow next to the rest of a registration, and a channel sees the
    same few participant codes on every transaction.
    """
    try:
        return str(_eic.validate(value.strip().upper()))
    except InvalidLength:
        raise ValueError(f"EIC code {quote(value)} must have 16 characters") from None
    except InvalidChecksum:
        raise ValueError(f"EIC code {quote(value)} has a wrong check character") from None
    except (InvalidFormat, InvalidComponent):
        raise ValueError(f"EIC code {quote(value)} may hold only A-Z, 0-9 and '-'") from None


def check_pod(value: str) -> str:
    """An Italian POD code: IT + 3-digit distributor code + E + 8 digits."""
    code = value.strip().upper()
    if not _POD_RE.fullmatch(code):
        raise ValueError(f"POD code {quote(value)} must be IT + 3-digit distributor + E + 8 digits")
    return code


def pod_distributor(pod: str) -> str:
    """The distributor code of a checked POD code (``002`` for Areti)."""
    match = _POD_RE.fullmatch(pod)
    if match is None:
        raise ValueError(f"POD code {quote(pod)} must be IT + 3-digit distributor + E + 8 digits")
    return match.group(1)


def check_id(value: str) -> str:
    """A client-chosen identifier: 1-128 printable characters starting with a letter or digit."""
    if not _ID_RE.fullmatch(value):
        raise ValueError(
            f"identifier {quote(value)} must be 1-128 characters of letters, digits and _.:/@+- "
            "starting with a letter or digit"
        )
    return value


def check_sha256(value: str) -> str:
    digest = value.strip().lower()
    if not _SHA256_RE.fullmatch(digest):
        raise ValueError(f"SHA-256 {quote(value)} must be 64 hexadecimal characters")
    return digest


def check_mime_type(value: str) -> str:
    mime = value.strip().lower()
    if mime not in MIME_TYPES:
        raise ValueError(
            f"mime type {quote(value)} must be one of {', '.join(MIME_TYPES)} (PDF or XML)"
        )
    return mime


def sniff_matches_mime(content: bytes, mime: str) -> bool:
    """Whether the document's first bytes agree with its declared type."""
    if mime == "application/pdf":
        return content.startswith(b"%PDF-")
    head = content.lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<")


__all__ = [
    "MARKET_MINIMUM_KW",
    "MAX_ATTACHMENT_BYTES",
    "MIME_TYPES",
    "CodingScheme",
    "Direction",
    "PodStatus",
    "RelationStatus",
    "Role",
    "UvamStatus",
    "VoltageLevel",
    "check_eic",
    "check_id",
    "check_mime_type",
    "check_pod",
    "check_sha256",
    "enum_value",
    "pod_distributor",
    "sniff_matches_mime",
]
