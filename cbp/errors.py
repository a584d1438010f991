"""The `cbp` command's one error boundary: every failure a user can cause or fix becomes one
line on stderr that names the problem and the way out, and exit status 2; anything else is a
defect, said as such in one line (`-v` shows its traceback), exit status 1.

    CliError          raised by the subcommands themselves for input they refuse
    user errors       the sandbox's, the fabric engine's, the gateway client's and the
                      topology's own errors, whose messages already say what to do;
                      translated here, once
"""

from __future__ import annotations

import re

EXIT_REFUSED = 2  # bad input, or a state the user can change (argparse uses 2 for usage errors)
EXIT_DEFECT = 1

START_HINT = "start it with `cbp network up` (`cbp network status` shows what runs)"


class CliError(Exception):
    """A refusal the user can act on; the message names the problem and the way out."""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _gateway_message(exc: BaseException) -> str | None:
    try:
        from gateway.errors import GatewayClientError, GatewayError
    except ImportError:  # pragma: no cover - the gateway ships with the command
        return None
    if not isinstance(exc, GatewayClientError):
        return None
    if isinstance(exc, GatewayError):
        if exc.code == "UNAVAILABLE":
            return (
                f"the sandbox's gateway peer does not answer; is the sandbox running? {START_HINT}"
            )
        if exc.code == "DEADLINE_EXCEEDED":
            return "the sandbox's gateway peer did not answer in time; `cbp network status` shows its state"
        # what the peers said is the message; the chaincode's own words come after its status
        said = exc.details[0].message if exc.details else exc.message
        return re.sub(r"^chaincode response \d+, ", "", said)
    return str(exc)


def explain(exc: BaseException) -> str | None:
    """The one line for an error a user can act on, or None for a defect."""
    if isinstance(exc, CliError):
        return _one_line(str(exc))
    said = _gateway_message(exc)
    if said is not None:
        return _one_line(said)
    from network.processes import ProcessError
    from network.sandbox import SandboxError

    if isinstance(exc, SandboxError | ProcessError):
        return str(exc)  # a process that died at start is named with the tail of its log
    from network.fabric.errors import FabricError
    from network.topology import TopologyError

    if isinstance(exc, FabricError):
        return str(exc)
    if isinstance(exc, TopologyError):
        return _one_line(str(exc))
    return None
