"""The dashboard's forms: which fields each shows, and turning what was typed into the API's
request bodies, so that a form breaks exactly the rules the API's 422 names, in its words.

A form is parsed by the API's own pydantic model; its errors go through the API's own
`validation_fields`, so the rule shown beside a field is the rule a 422 would give. A rule about
several fields (maximumFlexUp within contractedPower, say) is shown at the top of the form and
beside the first field it names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from connector.errors import validation_fields
from connector.org import OrgContext, Role
from connector.schemas import registry as s
from connector.schemas import trading as t
from connector.schemas.fields import CodingScheme, Direction, VoltageLevel


@dataclass(frozen=True)
class Field:
    name: str  # the API's field name; dotted for a nested one (constraints.maximumFlexUp)
    label: str
    kind: str = "text"  # text, number, date, select, textarea
    required: bool = False
    hint: str = ""
    options: tuple[tuple[str, str], ...] = ()
    default: str = ""
    placeholder: str = ""

    @property
    def html_id(self) -> str:
        return "f-" + self.name.replace(".", "-")


@dataclass(frozen=True)
class Section:
    title: str
    fields: tuple[Field, ...]


@dataclass
class Outcome:
    """What a form's values came to: the request body, or the rules they break."""

    body: BaseModel | None
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    form_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.body is not None


def _choices(enum: Any) -> tuple[tuple[str, str], ...]:
    return tuple((m.value, m.value) for m in enum)


DIRECTION = _choices(Direction)
VOLTAGE = (("", "—"), *_choices(VoltageLevel))
SCHEMES = (("", "—"), *((c.value, f"{c.value} ({c.name})") for c in CodingScheme))
KW = "kW, 0 or more"
DATE = "a date (midnight UTC)"


def pod_sections(org: OrgContext) -> tuple[Section, ...]:
    dsos = tuple((p.eic, f"{p.name} ({p.eic})") for p in org.parties if p.role is Role.DSO)
    return (
        Section(
            "Grid connection point",
            (
                Field(
                    "meteringPointId",
                    "POD code",
                    required=True,
                    hint="IT + 3-digit distributor + E + 8 digits",
                    placeholder="IT002E00112233",
                ),
                Field("resourceName", "Name", required=True, placeholder="Parking Ostiense"),
                Field("locationId", "Location", placeholder="Rome, Via Ostiense 131"),
                Field("resourceId", "Your own resource id", hint="optional"),
                Field("accountingPointId", "Secondary POD (accountingPointId)", hint="optional"),
                Field(
                    "contractedPowerSecondaryPOD",
                    "Contracted power of the secondary POD",
                    kind="number",
                    hint=KW,
                ),
            ),
        ),
        Section(
            "Power and flexibility",
            (
                Field("direction", "Direction", kind="select", required=True, options=DIRECTION),
                Field("contractedPower", "Contracted power", "number", True, KW),
                Field("maximumFlexUp", "Maximum flexibility up", "number", True, KW),
                Field("maximumFlexDown", "Maximum flexibility down", "number", True, KW),
                Field(
                    "gridVoltageLevel",
                    "Grid voltage level",
                    kind="select",
                    required=True,
                    options=VOLTAGE[1:],
                    default="MV",
                ),
                Field(
                    "distributionGridOperatorName",
                    "Distribution system operator",
                    kind="select",
                    required=True,
                    options=dsos,
                    hint="the DSO whose grid the POD is in",
                ),
            ),
        ),
        Section(
            "Balance responsible party and validity",
            (
                Field(
                    "brpConsumptionCodingSchemeType",
                    "BRP coding scheme",
                    kind="select",
                    options=SCHEMES,
                ),
                Field("brpContractId", "BRP contract id"),
                Field("startDateTime", "Valid from", "date", True, DATE),
                Field("endDateTime", "Valid until", "date", False, DATE + "; optional"),
            ),
        ),
    )


DEVICE_SECTIONS = (
    Section(
        "Flex device",
        (
            Field(
                "resourceId",
                "Device code",
                required=True,
                hint="unique in the registry",
                placeholder="IT002E00112233-EVSE-1",
            ),
            Field("resourceName", "Name", required=True, placeholder="Charger 1"),
            Field("deviceType", "Device type", required=True, default="EVSE"),
            Field("direction", "Direction", kind="select", required=True, options=DIRECTION),
            Field("contractedPower", "Contracted power", "number", True, KW),
            Field("maximumFlexUp", "Maximum flexibility up", "number", True, KW),
            Field("maximumFlexDown", "Maximum flexibility down", "number", True, KW),
            Field("gridVoltageLevel", "Grid voltage level", kind="select", options=VOLTAGE),
            Field("startDateTime", "Valid from", "date", True, DATE),
        ),
    ),
)

UVAM_SECTIONS = (
    Section(
        "Resource group (UVAM)",
        (
            Field("name", "Name", required=True, placeholder="Rome EV aggregate"),
            Field(
                "resourceGroupId",
                "UVAM code",
                hint="optional; the ledger derives one from the transaction",
            ),
            Field(
                "technicalFlexibilityServiceProviderId",
                "Technical flexibility service provider (EIC)",
                required=True,
                placeholder="10YIT-GRTN-----B",
            ),
            Field("perimeter", "Perimeter", required=True, placeholder="Centro-Sud"),
            Field("marketType", "Market", required=True, default="MSD"),
            Field("period", "Period", required=True, placeholder="2026"),
        ),
    ),
    Section(
        "Qualified power and validity",
        (
            Field("maximumQualifiedPower", "Maximum qualified power", "number", True, KW),
            Field("minimumQualifiedPower", "Minimum qualified power", "number", True, KW),
            Field("startDateTime", "Valid from", "date", True, DATE),
            Field("endDateTime", "Valid until", "date", False, DATE + "; optional"),
        ),
    ),
)

CONNECTION_SECTIONS = (
    Section(
        "Connection",
        (
            Field("type", "Protocol", required=True, default="IEC-104"),
            Field("manufacturer", "Manufacturer", required=True, placeholder="ABB"),
            Field("ipAddress", "IP address", required=True, placeholder="10.20.30.40"),
            Field("fullScaleMin", "Full scale, minimum", "number", True, "kW"),
            Field("fullScaleMax", "Full scale, maximum", "number", True, "kW"),
            Field(
                "externalDocumentId",
                "Document reference",
                required=True,
                placeholder="connection.xml",
            ),
        ),
    ),
)

CONSTRAINT_FIELDS = (
    Field("constraints.maximumFlexUp", "Maximum flexibility up", "number", False, KW),
    Field("constraints.maximumFlexDown", "Maximum flexibility down", "number", False, KW),
    Field("constraints.maximumImportPower", "Maximum import power", "number", False, KW),
    Field("constraints.maximumExportPower", "Maximum export power", "number", False, KW),
    Field("constraints.note", "Note", kind="textarea"),
)

PARTICIPANT_SECTIONS = (
    Section(
        "Admit a participant",
        (
            Field("mspId", "MSP id", required=True, placeholder="BSP3MSP"),
            Field("eic", "EIC code", required=True),
            Field(
                "role",
                "Role",
                kind="select",
                required=True,
                options=_choices(s.ParticipantRole),
            ),
            Field("name", "Name", required=True),
            Field("distributorCode", "Distributor code", hint="a DSO's 3 digits"),
        ),
    ),
)

# the P2P market's forms
PCT = "%, 0-100, to 0.01"


def ev_sections(owner_needed: bool) -> tuple[Section, ...]:
    """Declare an EV; the operator names the owner, an EV user is the owner."""
    owner = (
        Field(
            "owner",
            "Owner (the EV user)",
            required=True,
            hint="the EV user's enrollment id",
            placeholder="User1@evusers.cbp.local",
        ),
    )
    return (
        Section(
            "EV",
            (
                Field(
                    "evId",
                    "EV id",
                    required=True,
                    hint="1-64 of A-Z a-z 0-9 . _ : -",
                    placeholder="EV-B1",
                ),
                Field("batteryCapacityKwh", "Battery capacity", "number", True, "kWh, to the Wh"),
                Field("socPct", "State of charge", "number", True, PCT),
                *(owner if owner_needed else ()),
            ),
        ),
    )


PARAMETER_SECTIONS = (
    Section(
        "Market parameters",
        (
            Field("buyThresholdPct", "Buy threshold T_b", "number", True, "%: an EV below it buys"),
            Field(
                "sellThresholdPct", "Sell threshold T_s", "number", True, "%: an EV above it sells"
            ),
            Field("priceEurPerKwh", "P2P price P", "number", True, "EUR per kWh, to 0.0001"),
        ),
    ),
)

MODELS: dict[str, type[BaseModel]] = {
    "ev": t.EvDeclaration,
    "parameters": t.MarketParameters,
    "trade": t.TradeCreate,
    "pod": s.PodCreate,
    "pod-update": s.PodUpdate,
    "device": s.DeviceCreate,
    "uvam": s.UvamCreate,
    "uvam-update": s.UvamUpdate,
    "connection": s.ConnectionCreate,
    "participant": s.ParticipantCreate,
    "decision": s.PodStatusChange,
}

_FIRST_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")


def _nest(values: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in values.items():
        target = out
        *parents, last = name.split(".")
        for p in parents:
            target = target.setdefault(p, {})
        target[last] = value
    return out


def values_of(form: Any) -> dict[str, str]:
    """The filled-in fields of a submitted form (blank ones left out, as the API omits them)."""
    out = {}
    for name, value in form.multi_items():
        if name.startswith("_") or not isinstance(value, str):
            continue
        value = value.strip()
        if value:
            out[name] = value
    return out


def parse(
    model: type[BaseModel],
    values: dict[str, str],
    known: set[str],
    extra: dict[str, Any] | None = None,
) -> Outcome:
    """`values` through the API's model; `known` are the form's field names; `extra`, parts of
    the body a page built from its fields itself (an offer's profile as its quantities)."""
    try:
        body = model.model_validate({**_nest(values), **(extra or {})})
    except ValidationError as exc:
        outcome = Outcome(None, values)
        for problem in validation_fields([dict(e) for e in exc.errors()]):
            name = problem.field
            if name is None:
                outcome.form_errors.append(problem.rule)
                named = _FIRST_WORD.match(problem.rule)
                prefixed = [k for k in known if k.rsplit(".", 1)[-1] == (named and named[0])]
                if prefixed and prefixed[0] not in outcome.errors:
                    outcome.errors[prefixed[0]] = problem.rule
            elif name not in outcome.errors:
                outcome.errors[name] = problem.rule
                if name not in known:
                    outcome.form_errors.append(f"{name}: {problem.rule}")
        return outcome
    return Outcome(body, values)


def field_names(sections: tuple[Section, ...]) -> set[str]:
    return {f.name for sec in sections for f in sec.fields}
