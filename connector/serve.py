"""Running one connector: `python -m connector.serve --org bsp1` (what `cbp connector` starts)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

import uvicorn
from pydantic import ValidationError

from connector.app import create_app
from connector.org import ProfileError
from connector.settings import ConnectorSettings
from hardening.logs import configure as configure_logging


def settings_from(args: argparse.Namespace) -> ConnectorSettings:
    given = {
        k: v for k, v in vars(args).items() if v is not None and k in ConnectorSettings.model_fields
    }
    return ConnectorSettings(**given)


def serve(settings: ConnectorSettings) -> None:
    from connector.runtime import Connector

    connector = Connector(settings)
    port = settings.port or connector.org.connector_port
    if port is None:
        raise ProfileError(f"organisation {settings.org} has no connector port; pass --port")
    app = create_app(settings, connector)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=port,
        log_level="info",
        log_config=None,  # uvicorn's lines go through the connector's safe, rotating handler
        http="httptools",  # the C parser: h11 costs about a millisecond of CPU per request
        loop="uvloop",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=75,  # longer than clients keep idle connections: no reuse race
    )
    uvicorn.Server(config).run()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cbp connector serve",
        description="Serve one organisation's CBP Connector (REST API and dashboard) in the "
        "foreground.",
    )
    p.add_argument(
        "--org", required=True, help="organisation key: tso, areti, bsp1, bsp2, regulator"
    )
    p.add_argument("--port", type=int, help="default: the topology's port for the organisation")
    p.add_argument("--host", help="default 127.0.0.1 (loopback only)")
    p.add_argument("--home", help="sandbox folder (default $CBP_HOME or ./.sandbox)")
    p.add_argument("--profile", help="connection profile (default HOME/connection-profile.json)")
    p.add_argument(
        "--database-url",
        dest="database_url",
        help="default: SQLite under HOME/connectors/ORG; or postgresql://...",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    configure_logging("INFO")
    # the webhook client would log every delivery; failed ones are logged by the connector
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        serve(settings_from(args))
    except ValidationError as exc:
        first = exc.errors()[0]
        print(
            f"cbp connector: error: {first['loc'][0] if first['loc'] else 'settings'}: "
            f"{first['msg']}",
            file=sys.stderr,
        )
        return 2
    except (ProfileError, OSError) as exc:
        print(f"cbp connector: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
