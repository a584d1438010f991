"""``python -m chaincode.runtime serve module:Class [...]``: run contracts as a CCaaS server.

Flags fall back to the environment variables Fabric's shims read (CHAINCODE_SERVER_ADDRESS,
CORE_CHAINCODE_ID_NAME, CHAINCODE_TLS_CERT, CHAINCODE_TLS_KEY, CHAINCODE_CLIENT_CA_CERT), and
CHAINCODE_CONFIG for the chaincode's configuration file (see ``chaincode_config``).
Logs go to stderr; SIGTERM or SIGINT stop the server cleanly. CHAINCODE_PROFILE=<path> profiles
the server (see ``profiling``). The server runs on uvloop where it is installed (less CPU per
message on the peer's stream); CBP_EVENT_LOOP=asyncio selects asyncio's own loop.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import signal
from collections.abc import Sequence

from hardening.logs import configure as configure_logging

from .chaincode_config import load_chaincode_config
from .config import ENV, ServerSettings, SettingsError
from .contract import Contract
from .profiling import profiled
from .router import ContractRouter
from .server import ChaincodeServer

__all__ = ["add_serve_arguments", "load_contract", "main", "serve"]

logger = logging.getLogger(__name__)


def load_contract(spec: str) -> type[Contract]:
    """Import ``package.module:ClassName``."""
    module_name, sep, class_name = spec.partition(":")
    if not sep or not module_name or not class_name:
        raise SettingsError(f"contract {spec!r} must be written module:Class")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SettingsError(f"contract module {module_name!r} cannot be imported: {exc}") from exc
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type) or not issubclass(cls, Contract):
        raise SettingsError(f"{spec} is not a chaincode.runtime.Contract subclass")
    return cls


def add_serve_arguments(serve: argparse.ArgumentParser) -> None:
    """The `serve` command's arguments (also `cbp chaincode serve`'s)."""
    serve.add_argument("contracts", nargs="+", metavar="module:Class", help="contracts to serve")
    serve.add_argument("--address", help=f"host:port to listen on [{ENV['address']}]")
    serve.add_argument("--chaincode-id", help=f"package id [{ENV['chaincode_id']}]")
    serve.add_argument("--tls-cert", help=f"server certificate PEM [{ENV['tls_cert']}]")
    serve.add_argument("--tls-key", help=f"server key PEM [{ENV['tls_key']}]")
    serve.add_argument(
        "--client-ca",
        "--client-ca-cert",
        dest="client_ca_cert",
        help=f"require peer certificates from this CA [{ENV['client_ca_cert']}]",
    )
    serve.add_argument(
        "--config",
        help=f"the chaincode's configuration: the network's organisations, as JSON [{ENV['config']}]",
    )
    serve.add_argument("--workers", type=int, help=f"transactions at once [{ENV['workers']}]")
    serve.add_argument("--title", default="", help="metadata title (default: the package label)")
    serve.add_argument("--version", default="", help="metadata version")
    serve.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level (default INFO)",
    )


SERVE_HELP = "serve contracts as chaincode-as-a-service (the peers dial this server)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chaincode.runtime")
    commands = parser.add_subparsers(dest="command", required=True)
    add_serve_arguments(commands.add_parser("serve", help=SERVE_HELP, description=SERVE_HELP))
    return parser


async def _serve(server: ChaincodeServer) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    await stop.wait()
    logger.info("stopping on signal")
    await server.stop(grace=2.0)


def _loop_factory() -> type[asyncio.AbstractEventLoop] | None:
    """uvloop's loop unless CBP_EVENT_LOOP=asyncio (or uvloop is missing); the same choice and
    the same refusal of any other value as the embedded engine's."""
    wanted = os.environ.get("CBP_EVENT_LOOP", "uvloop").strip().lower() or "uvloop"
    if wanted not in ("uvloop", "asyncio"):
        raise SettingsError(f"CBP_EVENT_LOOP={wanted!r}: expected uvloop or asyncio")
    if wanted == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.Loop


def main(argv: Sequence[str] | None = None) -> int:
    return serve(_parser().parse_args(argv))


def serve(args: argparse.Namespace) -> int:
    """Serve until SIGTERM or SIGINT; 2 for a bad setting (logged by name), 1 if it cannot
    listen."""
    # escaped, capped lines; a *.log stderr rotates by size (logs.py); sets the root level,
    # so under `cbp chaincode serve` too
    configure_logging(args.log_level)
    try:
        settings = ServerSettings.from_sources(
            address=args.address,
            chaincode_id=args.chaincode_id,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            client_ca_cert=args.client_ca_cert,
            workers=args.workers,
            config=args.config,
        )
        contracts = [load_contract(spec) for spec in args.contracts]
        title = args.title or settings.chaincode_id.partition(":")[0]
        config = load_chaincode_config(settings.config)
        router = ContractRouter(contracts, title=title, version=args.version, config=config)
        loop_factory = _loop_factory()
    except (SettingsError, TypeError, ValueError) as exc:
        logger.error("%s", exc)
        return 2
    try:
        with profiled(settings.chaincode_id.partition(":")[0]):
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                runner.run(_serve(ChaincodeServer(router, settings)))
    except OSError as exc:
        logger.error("%s", exc)
        return 1
    return 0
