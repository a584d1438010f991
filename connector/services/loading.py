"""Mass loading: a CSV or XLSX file of PODs and their flex devices, one row per resource.

The first row names the columns with the API's field names (those of Register Flex
Resource). A row with `parentResourceId` is a flex device of that POD (in the same file, above
it, or already registered); any other row is a POD. Every row is checked on its own: a bad row
is reported with its line and reason and never stops the good ones, which become operations.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from openpyxl import load_workbook
from pydantic import ValidationError

from connector.errors import InvalidInput, UnsupportedMedia
from connector.schemas.registry import DeviceCreate, PodCreate

MAX_ROWS = 20_000
POD_FIELDS = set(PodCreate.model_fields)
DEVICE_FIELDS = set(DeviceCreate.model_fields) | {"parentResourceId"}
KNOWN = POD_FIELDS | DEVICE_FIELDS


@dataclass
class Row:
    line: int
    kind: str  # pod | device
    resource_id: str | None
    body: PodCreate | DeviceCreate | None = None
    parent: str | None = None
    reason: str | None = None


@dataclass
class Parsed:
    rows: list[Row] = field(default_factory=list)

    @property
    def good(self) -> list[Row]:
        return [r for r in self.rows if r.reason is None]


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00Z"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _records(content: bytes, filename: str) -> Iterator[list[str | None]]:
    """The file's rows as cells, whichever of CSV and XLSX it is (told by content)."""
    if content.startswith(b"PK\x03\x04"):
        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception:  # openpyxl raises many kinds for a damaged file
            raise UnsupportedMedia(
                f"{filename} looks like a ZIP but is not an XLSX workbook"
            ) from None
        sheet = book.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield [_cell(v) for v in values]
        return
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnsupportedMedia(f"{filename} is neither UTF-8 CSV nor an XLSX workbook") from None
    dialect = csv.excel
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")  # type: ignore[assignment]
    except csv.Error:
        pass
    for values in csv.reader(io.StringIO(text), dialect):
        yield [_cell(v) for v in values]


def _reason(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err["loc"])
        if err["type"] == "missing":
            parts.append(f"{where}: is mandatory and missing")
        elif err["type"] == "extra_forbidden":
            parts.append(f"{where}: is not a field of this kind of row")
        else:
            message = str(err["msg"]).removeprefix("Value error, ")
            parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def parse(content: bytes, filename: str) -> Parsed:
    rows = _records(content, filename)
    header = next(rows, None)
    if header is None or not any(header):
        raise InvalidInput(f"{filename} is empty: the first row must name the columns")
    columns = [h or "" for h in header]
    unknown = [c for c in columns if c and c not in KNOWN]
    if unknown:
        raise InvalidInput(
            f"{filename}: column {unknown[0]!r} is not a field of a POD or a flex device"
            + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
        )
    parsed = Parsed()
    first_seen: dict[tuple[str, str], int] = {}
    for line, cells in enumerate(rows, start=2):
        if len(parsed.rows) >= MAX_ROWS:
            raise InvalidInput(f"{filename} has more than {MAX_ROWS} rows; split it")
        data = {c: v for c, v in zip(columns, cells, strict=False) if c and v is not None}
        if not data:
            continue
        parsed.rows.append(_row(line, data, first_seen))
    if not parsed.rows:
        raise InvalidInput(f"{filename} has a header but no rows")
    return parsed


def _row(line: int, data: dict[str, Any], first_seen: dict[tuple[str, str], int]) -> Row:
    parent = data.pop("parentResourceId", None)
    kind = "device" if parent else "pod"
    rid = data.get("resourceId") if parent else data.get("meteringPointId")
    row = Row(line, kind, rid, parent=parent)
    try:
        row.body = DeviceCreate.model_validate(data) if parent else PodCreate.model_validate(data)
    except ValidationError as exc:
        row.reason = _reason(exc)
        return row
    key = (kind, str(rid).upper() if kind == "pod" else str(rid))
    if key in first_seen:
        row.reason = f"the same {'POD' if kind == 'pod' else 'device'} as line {first_seen[key]}"
    else:
        first_seen[key] = line
    return row
