"""The `cbp` command: run the sandbox network, query and audit the ledger, benchmark.

Each subcommand is a thin layer over a package's public API: `network` for the sandbox,
`gateway` for ledger queries and audit, `chaincode.runtime` for serving contracts. Errors meet
one boundary, `main` (see cbp/errors.py): one line naming the problem and the way out.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from cbp.audit_cli import add_audit_parser
from cbp.bench_cli import add_bench_parser
from cbp.connector_cli import add_connector_parser
from cbp.console import quiet_stdout
from cbp.errors import EXIT_DEFECT, EXIT_REFUSED, explain
from cbp.network_cli import add_network_parser
from cbp.registry_cli import add_registry_parsers
from cbp.simulate_cli import add_simulate_parser
from simulations.routing.cli import add_routing_parser

log = logging.getLogger("cbp")
EXIT_BROKEN_PIPE = 141  # what a shell reports for a writer its reader left (128 + SIGPIPE)


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that says where the help is."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_REFUSED, f"{self.prog}: error: {message}; see `{self.prog} --help`\n")


def cmd_chaincode_serve(args: argparse.Namespace) -> int:
    from chaincode.runtime.cli import serve

    return serve(args)


def add_chaincode_parser(sub: Any) -> None:
    from chaincode.runtime.cli import SERVE_HELP, add_serve_arguments

    cc = sub.add_parser(
        "chaincode", help="serve Python contracts as chaincode-as-a-service (CCaaS)"
    )
    actions = cc.add_subparsers(dest="action", required=True, metavar="ACTION")
    serve = actions.add_parser(
        "serve",
        help=SERVE_HELP,
        description=f"{SERVE_HELP}. Flags fall back to Fabric's environment variables "
        "(shown in brackets).",
    )
    add_serve_arguments(serve)
    serve.set_defaults(func=cmd_chaincode_serve)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="cbp",
        description="Crowd Balancing Platform sandbox: a Hyperledger Fabric network for EV "
        "flexibility (TSO, DSOs, BSPs), its chaincode, ledger audit and benchmarks.",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging, and tracebacks")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_network_parser(sub)
    add_connector_parser(sub)
    add_registry_parsers(sub)
    add_audit_parser(sub)
    add_chaincode_parser(sub)
    add_bench_parser(sub)
    add_simulate_parser(sub)
    add_routing_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    prog = f"cbp {args.command}"
    try:
        code = int(args.func(args))
        sys.stdout.flush()
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        quiet_stdout()  # the reader left (`cbp network status | head`)
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # noqa: BLE001 - the command's one error boundary
        said = explain(exc)
        if args.verbose:
            log.exception("%s failed", prog)
        if said is not None:
            print(f"{prog}: error: {said}", file=sys.stderr)
            return EXIT_REFUSED
        print(
            f"{prog}: internal error (a defect, please report it): {type(exc).__name__}: "
            f"{' '.join(str(exc).split())}; `cbp -v ...` shows the traceback",
            file=sys.stderr,
        )
        return EXIT_DEFECT


if __name__ == "__main__":
    sys.exit(main())
