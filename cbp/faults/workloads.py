"""What the load submits while a process is killed: one workload per chaincode.

Every operation writes a new record under a key of its own (a smoke key, a POD code, an EV id),
so that a record found twice on the ledger is an operation committed twice, and a record
missing is an acknowledged operation lost.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cbp.bench.workloads import pod_template
from network.topology import Topology

# the parameters the trading workload's EVs are declared under (set once if absent)
MARKET = {"buyThresholdPct": 70, "sellThresholdPct": 75, "priceEurPerKwh": "0.15"}


@dataclass(frozen=True)
class Workload:
    """One kind of write: who submits it where, its arguments, and its record's key."""

    name: str
    channel: str
    chaincode: str
    org: str  # the submitting organisation (its User1), through its gateway peer
    function: str
    make: Callable[[int], tuple[list[str], str]]  # operation number -> (arguments, key)
    key_of: Callable[[Sequence[bytes]], str | None]  # a committed tx's arguments -> its key


def _json_key(field: str) -> Callable[[Sequence[bytes]], str | None]:
    def key(args: Sequence[bytes]) -> str | None:
        try:
            value = json.loads(args[0]).get(field)
        except (ValueError, IndexError, AttributeError):
            return None
        return value if isinstance(value, str) else None

    return key


def _first_arg(args: Sequence[bytes]) -> str | None:
    return args[0].decode(errors="replace") if args else None


def workloads(topology: Topology, tag: str | None = None) -> dict[str, Workload]:
    """The workloads of this topology; `tag` keeps one run's keys apart from another's."""
    tag = tag or f"{random.randrange(16**6):06x}"
    eic = {k: o.eic or "" for k, o in topology.orgs.items()}
    pod = pod_template(eic["bsp1"], eic[topology.bna.key], eic["areti"])
    pod_base = random.randrange(10**7, 8 * 10**7)  # POD codes are IT002E + 8 digits

    def smoke(n: int) -> tuple[list[str], str]:
        key = f"fault-{tag}-{n}"
        return [key, f"value-{n}"], key

    def registry(n: int) -> tuple[list[str], str]:
        code = f"{pod_base + n:08d}"
        return [pod.replace("$ID", code)], f"IT002E{code}"

    def trading(n: int) -> tuple[list[str], str]:
        ev = f"EV-{tag}-{n}"
        body = {"evId": ev, "batteryCapacityKwh": 60, "socPct": 50}
        return [json.dumps(body)], ev

    return {
        "smoke": Workload("smoke", "bsp1-channel", "smoke", "bsp1", "Put", smoke, _first_arg),
        "registry": Workload(
            "registry",
            "bsp1-channel",
            "registry",
            "bsp1",
            "RegisterPod",
            registry,
            _json_key("meteringPointId"),
        ),
        "trading": Workload(
            "trading", "p2p-trading", "trading", "evusers", "DeclareEv", trading, _json_key("evId")
        ),
    }


async def prepare(workload: Workload, profile: Path) -> None:
    """What a workload needs on the ledger first: participants admitted (registry), market
    parameters in force (trading). Idempotent."""
    from gateway.aio import from_profile
    from gateway.errors import GatewayError

    if workload.chaincode == "registry":
        from connector.bootstrap import admit_all

        await admit_all(profile)
    elif workload.chaincode == "trading":
        async with from_profile("infraop", "User1", profile) as gw:
            market = gw.get_network(workload.channel).get_contract("trading")
            try:
                await market.evaluate_transaction("ReadMarketParameters")
            except GatewayError:
                await market.submit_transaction("SetMarketParameters", json.dumps(MARKET))


def describe(workload: Workload) -> dict[str, Any]:
    return {
        "channel": workload.channel,
        "chaincode": workload.chaincode,
        "function": workload.function,
        "org": workload.org,
    }
