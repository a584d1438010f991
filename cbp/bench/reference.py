"""Published figures of real Hyperledger Fabric on this machine class, printed beside ours
(labelled as published) when no real Fabric can run in the same bench.

Measured by the project on Fabric v3.1.5 native binaries, the sandbox topology (1 Raft orderer,
TSO + BSP host + DSO host + infra peers), BatchTimeout 250 ms, MaxMessageCount 500, put/get
chaincode on the Python runtime, 2 cores. Only the figures actually published are filled in.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCE = "published reference, Fabric v3.1.5 on a 2-core machine (not measured in this run)"


@dataclass(frozen=True)
class ReferenceLevel:
    concurrency: int
    tps: float | None = None
    p50_s: float | None = None
    p99_s: float | None = None
    cpu_ms_per_tx: float | None = None
    rss_mib: float | None = None


FABRIC_LEDGER: tuple[ReferenceLevel, ...] = (
    ReferenceLevel(concurrency=50, tps=130.0),
    ReferenceLevel(concurrency=100, cpu_ms_per_tx=4.8, rss_mib=430.0),
    ReferenceLevel(concurrency=200, tps=240.0, p50_s=0.8, p99_s=1.3),
)
FABRIC_BEST_TPS = 240.0
FABRIC_CPU_MS_PER_TX = 4.8  # engine (peers + orderer) CPU per committed transaction
FABRIC_RSS_MIB = 430.0  # peers + orderer at concurrency 100

# the targets, as ratios to the reference (ours / theirs)
LEDGER_TPS_TARGET = 1.0  # at least Fabric's throughput
LEDGER_MEMORY_TARGET = 0.5  # at most half of Fabric's memory
REGISTRY_TPS_TARGET = 250.0  # registrations per second on 2 cores
REGISTRY_P50_TARGET = 0.5
REGISTRY_P99_TARGET = 2.0
# not a target: embedded over real Fabric measured in the same run, to show how far
# the 250/s target is from what Fabric itself does on the same machine
REGISTRY_FABRIC_RATIO_TARGET = 1.0
# the engine on every core: where the machine fills up, 1.3x real Fabric measured in the same
# run, and at most 1.5 ms of the engine's CPU per committed transaction
LEDGER_SATURATED_FROM = 200
REGISTRY_SATURATED_FROM = 100
SATURATED_RATIO_TARGET = 1.3
ENGINE_CPU_TARGET_MS = 1.5


def reference_at(concurrency: int) -> ReferenceLevel | None:
    for r in FABRIC_LEDGER:
        if r.concurrency == concurrency:
            return r
    return None


__all__ = [
    "FABRIC_BEST_TPS",
    "FABRIC_CPU_MS_PER_TX",
    "FABRIC_LEDGER",
    "FABRIC_RSS_MIB",
    "ENGINE_CPU_TARGET_MS",
    "LEDGER_MEMORY_TARGET",
    "LEDGER_SATURATED_FROM",
    "LEDGER_TPS_TARGET",
    "REGISTRY_FABRIC_RATIO_TARGET",
    "REGISTRY_P50_TARGET",
    "REGISTRY_P99_TARGET",
    "REGISTRY_SATURATED_FROM",
    "REGISTRY_TPS_TARGET",
    "SATURATED_RATIO_TARGET",
    "ReferenceLevel",
    "SOURCE",
    "reference_at",
]
