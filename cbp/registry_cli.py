"""`cbp pod | uvam | load | op`: the registry through an organisation's connector (its REST API).

For partners who script: every command logs in to the connector of `--org` (the password from
CBP_PASSWORD, or the sandbox's demo log-in), waits for the ledger's outcome of a write (unless
--no-wait) and prints it for people, or as JSON with --json. A refusal prints the connector's
own words and exits 1; bad input exits 2.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from connector.client import ApiFailure, ConnectorClient

WAIT = 30.0


class UsageError(ValueError):
    """Bad input to a command: exit 2."""


def _read_json(path: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{path} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} must hold one JSON object")
    return data


def _client(args: argparse.Namespace) -> ConnectorClient:
    org = args.org or os.environ.get("CBP_ORG")
    if not org:
        raise UsageError("say which organisation's connector: --org bsp1 (or set CBP_ORG)")
    return ConnectorClient.for_org(org, args.user, home=Path(args.home) if args.home else None)


def _print_operation(op: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(op, indent=2))
        return
    where = f"{op['resourceKind']} {op['resourceId']}"
    if op["status"] == "committed":
        print(
            f"{op['service']}: {where} committed in block {op['blockNumber']} "
            f"(transaction {op['transactionId'][:16]}...)"
        )
    else:
        print(f"{op['service']}: {where} {op['status']}; follow it with `cbp op show {op['id']}`")


def _write(
    args: argparse.Namespace, method: str, path: str, body: dict[str, Any] | None, **kw: Any
) -> int:
    with _client(args) as api:
        op = api.write(method, path, body, wait=None if args.no_wait else WAIT, **kw)
    if isinstance(op, list):
        for item in op:
            _print_operation(item, args.json)
    else:
        _print_operation(op, args.json)
    return 0


def _table(items: list[dict[str, Any]], as_json: bool, total: int | None = None) -> None:
    if as_json:
        print(json.dumps(items, indent=2))
        return
    for r in items:
        print(
            f"{r['id']:<28} {str(r.get('status') or ''):<13} {str(r.get('name') or '')[:40]:<40} "
            f"{r['channel']}"
        )
    if total is not None:
        print(f"({len(items)} of {total})")


def _show(data: Any, as_json: bool) -> None:
    if as_json or not isinstance(data, dict):
        print(json.dumps(data, indent=2))
        return
    print(f"{data['kind']} {data['id']}   status {data.get('status')}   channel {data['channel']}")
    for key, value in sorted(data.get("record", {}).items()):
        print(f"  {key:<44} {json.dumps(value) if isinstance(value, dict | list) else value}")
    for part in ("devices", "attachments", "relations"):
        for item in data.get(part) or []:
            print(f"  {part[:-1]:<12} {item['id']:<30} {item.get('status')}")


def _history(data: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print(json.dumps(data, indent=2))
        return
    for entry in data:
        value = entry.get("value") or {}
        actor = (entry.get("actor") or {}).get("mspId", "?")
        print(
            f"{entry['timestamp']}  {str(value.get('status')):<13} by {actor:<10} "
            f"tx {entry['txId'][:16]}..."
        )


# -- commands ---------------------------------------------------------------------------------


def pod(args: argparse.Namespace) -> int:
    a, pid = args.action, args.id
    if a == "list":
        return _list(args, "/pods")
    if a in ("show", "history"):
        with _client(args) as api:
            data = api.get(f"/pods/{pid}" + ("/history" if a == "history" else ""))
        (_history if a == "history" else _show)(data, args.json)
        return 0
    if a == "register":
        return _write(args, "POST", "/pods", _read_json(_need(args.file, "FILE")))
    if a == "update":
        return _write(args, "PATCH", f"/pods/{pid}", _read_json(_need(args.file, "FILE")))
    if a == "device":
        return _write(args, "POST", f"/pods/{pid}/devices", _read_json(_need(args.file, "FILE")))
    if a == "attach":
        return _attach(args, f"/pods/{pid}/attachments/upload")
    if a == "submit":
        return _write(args, "PATCH", f"/pods/{pid}/status", {"status": "UnderReview"})
    if a in ("review", "validate"):
        body = _decision(args, "PreValidated" if a == "review" else "Validated")
        return _write(args, "PATCH", f"/pods/{pid}/status", body)
    if a == "constraints":
        return _write(args, "PUT", f"/pods/{pid}/constraints", _read_json(_need(args.file, "FILE")))
    raise UsageError(f"unknown action {a}")


def uvam(args: argparse.Namespace) -> int:
    a, uid = args.action, args.id
    if a == "list":
        return _list(args, "/uvams")
    if a in ("show", "history"):
        with _client(args) as api:
            data = api.get(f"/uvams/{uid}" + ("/history" if a == "history" else ""))
        (_history if a == "history" else _show)(data, args.json)
        return 0
    if a == "register":
        return _write(args, "POST", "/uvams", _read_json(_need(args.file, "FILE")))
    if a == "add":
        return _write(
            args,
            "POST",
            f"/uvams/{uid}/resources",
            {"resource": _need(args.file, "RESOURCE (a POD code or device id)")},
        )
    if a == "attach":
        path = _need(args.file, "FILE")
        with _client(args) as api:
            content = _file_bytes(path)
            body = {
                "externalDocumentId": Path(path).name,
                "documentType": args.type,
                "documentFile": base64.b64encode(content).decode(),
            }
            op = api.post(f"/uvams/{uid}/attachments", body, wait=None if args.no_wait else WAIT)
        _print_operation(op, args.json)
        return 0
    if a == "connect":
        return _write(
            args, "POST", f"/uvams/{uid}/connection", _read_json(_need(args.file, "FILE"))
        )
    if a == "submit":
        return _write(args, "PATCH", f"/uvams/{uid}/status", {"status": "UnderReview"})
    if a == "qualify":
        return _write(args, "PATCH", f"/uvams/{uid}/status", _decision(args, "Qualified"))
    if a == "end-relation":
        return _write(args, "PATCH", f"/relations/{uid}", {})
    raise UsageError(f"unknown action {a}")


def _need(value: str | None, what: str) -> str:
    if not value:
        raise UsageError(f"this action needs {what}")
    return value


def _file_bytes(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def _attach(args: argparse.Namespace, path: str) -> int:
    file = _need(args.file, "FILE (a PDF or XML document)")
    content = _file_bytes(file)
    return _write(
        args,
        "POST",
        path,
        None,
        files={"file": (Path(file).name, content)},
        data={"documentType": args.type},
    )


def _decision(args: argparse.Namespace, approve: str) -> dict[str, Any]:
    if args.approve == bool(args.reject):
        raise UsageError("say --approve or --reject REASON")
    if args.approve:
        return {"status": approve}
    return {"status": "Rejected", "reason": args.reject}


def _list(args: argparse.Namespace, path: str) -> int:
    params: dict[str, Any] = {"limit": args.limit}
    if args.status:
        params["status"] = args.status
    if args.search:
        params["q"] = args.search
    with _client(args) as api:
        page = api.get(path, params=params)
    _table(page["items"], args.json, page["total"])
    return 0


def load(args: argparse.Namespace) -> int:
    content = _file_bytes(args.file)
    with _client(args) as api:
        started = time.monotonic()
        progress = api.post("/loads", files={"file": (Path(args.file).name, content)})
        print(
            f"{progress['rows']} rows: {progress['accepted']} accepted, "
            f"{progress['invalid']} refused at once",
            flush=True,
        )
        while not args.no_wait and not progress["done"]:
            time.sleep(1.0)
            progress = api.get(f"/loads/{progress['id']}")
            print(
                f"  {time.monotonic() - started:6.1f} s  committed {progress['committed']}  "
                f"failed {progress['failed']}  running {progress['running']}",
                flush=True,
            )
        report = api.get_bytes(f"/loads/{progress['id']}/report").content
    out = Path(args.report or Path(args.file).with_suffix(".report.csv").name)
    out.write_bytes(report)
    if args.json:
        print(json.dumps(progress, indent=2))
    else:
        print(
            f"load {progress['id']}: committed {progress['committed']}, failed "
            f"{progress['failed']}, refused {progress['invalid']}; report: {out}"
        )
    return 0 if progress["failed"] == 0 and progress["invalid"] == 0 else 1


def op(args: argparse.Namespace) -> int:
    with _client(args) as api:
        if args.action == "list":
            params: dict[str, Any] = {"limit": args.limit}
            if args.status:
                params["status"] = args.status
            page = api.get("/operations", params=params)
            if args.json:
                print(json.dumps(page, indent=2))
            for o in [] if args.json else page["items"]:
                print(f"{o['id']}  {o['status']:<10} {o['function']:<24} {o['resourceId']}")
            return 0
        data = api.get(f"/operations/{_need(args.id, 'an operation id')}")
    if args.json or data["status"] != "failed":
        _print_operation(data, args.json)
    else:
        print(
            f"{data['service']}: {data['resourceKind']} {data['resourceId']} failed: "
            f"{data['error']['message']}"
        )
    return 0


# -- the parsers ------------------------------------------------------------------------------


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--org", help="whose connector (default $CBP_ORG): bsp1, bsp2, tso, areti, regulator"
    )
    p.add_argument("--user", help="user name (default <org>-operator)")
    p.add_argument("--home", help="sandbox folder (default $CBP_HOME or ./.sandbox)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--no-wait", action="store_true", help="return once accepted")


def _lists(p: argparse.ArgumentParser) -> None:
    p.add_argument("--status", help="list: only this status")
    p.add_argument("--search", help="list: in code or name")
    p.add_argument("--limit", type=int, default=50, help="list: how many (default 50)")


def _run(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def wrapped(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except UsageError as exc:
            print(f"cbp: error: {exc}", file=sys.stderr)
            return 2
        except ApiFailure as exc:
            detail = "".join(f"\n  {f.get('field') or 'body'}: {f.get('rule')}" for f in exc.fields)
            print(f"cbp: {exc.message}{detail}", file=sys.stderr)
            return 2 if exc.status in (0, 401, 422) else 1

    return wrapped


def add_registry_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "pod",
        help="PODs through the connector: register, list, review ...",
        description="PODs through an organisation's connector.",
    )
    p.add_argument(
        "action",
        choices=[
            "register",
            "list",
            "show",
            "history",
            "update",
            "device",
            "attach",
            "submit",
            "review",
            "validate",
            "constraints",
        ],
        help="register FILE; list; show ID; history ID; update ID FILE; device ID "
        "FILE; attach ID FILE; submit ID; review ID --approve|--reject R (TSO); "
        "validate ID --approve|--reject R (DSO); constraints ID FILE (DSO)",
    )
    p.add_argument("id", nargs="?", help="the POD code (or FILE for register)")
    p.add_argument("file", nargs="?", help="a JSON file (or - for stdin), or a document")
    p.add_argument("--approve", action="store_true")
    p.add_argument("--reject", metavar="REASON")
    p.add_argument("--type", default="SingleLineDiagram", help="attach: the document type")
    _lists(p)
    _common(p)
    p.set_defaults(func=_run(lambda a: pod(_shift(a))))

    u = sub.add_parser(
        "uvam",
        help="UVAMs through the connector: register, add, qualify ...",
        description="UVAMs (resource groups) through an organisation's connector.",
    )
    u.add_argument(
        "action",
        choices=[
            "register",
            "list",
            "show",
            "history",
            "add",
            "attach",
            "connect",
            "submit",
            "qualify",
            "end-relation",
        ],
        help="register FILE; list; show ID; history ID; add ID RESOURCE; attach ID "
        "FILE; connect ID FILE; submit ID; qualify ID --approve|--reject R (TSO); "
        "end-relation RELATION",
    )
    u.add_argument("id", nargs="?", help="the UVAM id (or FILE for register)")
    u.add_argument("file", nargs="?", help="a JSON file, a document, or a resource")
    u.add_argument("--approve", action="store_true")
    u.add_argument("--reject", metavar="REASON")
    u.add_argument("--type", default="Qualification", help="attach: the document type")
    _lists(u)
    _common(u)
    u.set_defaults(func=_run(lambda a: uvam(_shift(a))))

    ld = sub.add_parser(
        "load",
        help="mass-load PODs and devices from a CSV or XLSX file",
        description="Upload a CSV or XLSX of PODs and flex devices; follow it; "
        "save its per-row report.",
    )
    ld.add_argument("file", help="the CSV or XLSX file (first row: field names)")
    ld.add_argument("--report", help="where to save the per-row report (default FILE.report.csv)")
    _common(ld)
    ld.set_defaults(func=_run(load))

    o = sub.add_parser(
        "op",
        help="operations: where a write stands",
        description="Operations of an organisation's connector.",
    )
    o.add_argument("action", choices=["show", "list"])
    o.add_argument("id", nargs="?", help="the operation id (show)")
    o.add_argument("--status", help="list: accepted, submitted, committed or failed")
    o.add_argument("--limit", type=int, default=20)
    _common(o)
    o.set_defaults(func=_run(op))


def _shift(args: argparse.Namespace) -> argparse.Namespace:
    """`register FILE` and `list` take no id: the first positional is the file."""
    if args.action in ("register",) and args.file is None:
        args.file, args.id = args.id, None
    elif args.action not in ("list",) and not args.id:
        raise UsageError(f"`{args.action}` needs the resource's id")
    return args
