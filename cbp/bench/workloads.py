"""The transactions the benchmarks submit, as load-driver configurations.

Every bench writes new keys only (`$ID` is unique per transaction), so no two transactions
conflict and every commit is a valid one: the figures measure the ledger, not MVCC retries.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from cbp.bench.protocol import DriverConfig
from cbp.bench.settings import BenchSettings

CHANNEL = "bsp1-channel"
ORG = "bsp1"  # a BSP tenant, served by the BSP host's peer: the registry's usual path
USER = "User1"
VALUE = "v" * 64  # a small asset-sized value, the same for every engine and client

# Python runtime: SmokeContract.Put(key, value); Node contract API: ConformanceContract.put
SMOKE_PUT = ("smoke", "Put")
SMOKE_NODE_PUT = ("smoke-node", "put")


# `$ID` has 8 digits (POD codes are IT + 3 digits + E + 8 digits), so every number of a run
# must stay below this
ID_LIMIT = 10**8
# Subjects a bench can alternate at one level (engines, runtimes, clients)
MAX_SUBJECTS = 2


def id_base(settings: BenchSettings, run: int = 0) -> int:
    """Where `$ID` starts: on a fresh sandbox, run `run`'s own share of the 8-digit range (a bench
    makes at most levels x rounds x subjects driver runs, each given an equal block so none
    reuses another's keys); on a running one, somewhere random so a second bench does not
    register the same PODs again."""
    if settings.attached:
        return random.randrange(10**7, 9 * 10**7)
    runs = len(settings.levels) * settings.rounds * MAX_SUBJECTS
    if not 0 <= run < runs:
        raise ValueError(f"driver run {run} is outside this bench's {runs} runs")
    return run * (ID_LIMIT // runs)


def put_config(
    profile: Path,
    settings: BenchSettings,
    chaincode: str,
    function: str,
    run: int = 0,
    levels: list[int] | None = None,
) -> DriverConfig:
    return DriverConfig(
        profile=str(profile),
        org=ORG,
        user=USER,
        channel=CHANNEL,
        chaincode=chaincode,
        function=function,
        args=[f"bench-{chaincode}-$ID", VALUE],
        id_base=id_base(settings, run),
        levels=levels or settings.levels,
        duration=settings.duration,
        warmup=settings.warmup,
    )


def pod_template(bsp_eic: str, tso_eic: str, dso_eic: str) -> str:
    """A complete RegisterPod argument (seed table 3) whose POD code is IT002E + `$ID`."""
    pod = {
        "registrationPeriod": 1772355600,
        "receiverId": tso_eic,
        "receiverCodingSchemeType": "A01",
        "flexibilityServiceProviderId": bsp_eic,
        "flexibilityServiceProviderCodingSchemeType": "A01",
        "meteringPointId": "IT002E$ID",
        "resourceType": "GridConnectionPoint",
        "status": "registered",
        "locationId": "Roma-Ostiense",
        "resourceName": "Parking Ostiense $ID",
        "resourceId": "RES-IT002E$ID",
        "direction": "consumption",
        "contractedPower": 200.0,
        "maximumFlexUp": 120.0,
        "maximumFlexDown": 100.0,
        "gridVoltageLevel": "MV",
        "distributionGridOperatorName": dso_eic,
        "startDateTime": "2026-03-01T00:00:00Z",
        "endDateTime": "2027-03-01T00:00:00Z",
    }
    return json.dumps(pod, sort_keys=True)


__all__ = [
    "CHANNEL",
    "ORG",
    "SMOKE_NODE_PUT",
    "SMOKE_PUT",
    "USER",
    "id_base",
    "pod_template",
    "put_config",
]
