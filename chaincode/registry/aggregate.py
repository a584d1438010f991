"""A UVAM's members and their flexibility, read from its relation index.

The sum is recomputed when it is checked (submission and qualification) rather than kept as a
running total, because a member POD's flexibility can shrink after it joined (the DSO's
constraints).
"""

from __future__ import annotations

from typing import Any

from . import pods
from .codes import RelationStatus
from .ledger import DEVICE, POD, RELATION, RELATION_BY_UVAM, Tx


def active_relations(tx: Tx, uvam_id: str) -> list[dict[str, Any]]:
    relations = []
    for relation_id in tx.index_ids(RELATION_BY_UVAM, uvam_id):
        relation = tx.get(RELATION, relation_id)
        if relation is not None and relation["status"] == RelationStatus.ACTIVE:
            relations.append(relation)
    return relations


def members_flex(tx: Tx, relations: list[dict[str, Any]]) -> tuple[float, float]:
    """Total flexibility up and down (kW) of the members named by ``relations``."""
    up = down = 0.0
    for relation in relations:
        if relation["resourceType"] == "POD":
            pod = tx.get(POD, relation["resource"])
            if pod is not None:
                pod_up, pod_down = pods.effective_flex(pod)
                up, down = up + pod_up, down + pod_down
        else:
            device = tx.get(DEVICE, relation["resource"])
            if device is not None:
                up += float(device["maximumFlexUp"])
                down += float(device["maximumFlexDown"])
    return up, down


def pods_of(tx: Tx, relations: list[dict[str, Any]]) -> dict[str, str]:
    """Every POD behind the members (a member POD, or a member device's POD) -> its DSO."""
    pods: dict[str, str] = {}
    for relation in relations:
        pod_id = str(relation["podId"])
        if pod_id not in pods:
            pod = tx.get(POD, pod_id)
            pods[pod_id] = str(pod["distributionGridOperatorName"]) if pod else ""
    return pods


def holds_device(tx: Tx, relations: list[dict[str, Any]], device: dict[str, Any]) -> bool:
    """Whether the flex device is a member, itself or through its POD."""
    for relation in relations:
        if relation["resource"] == device["resourceId"]:
            return True
        if relation["resourceType"] == "POD" and relation["resource"] == device["parentResourceId"]:
            return True
    return False


def holds_pod(relations: list[dict[str, Any]], pod_id: str) -> bool:
    """Whether the POD is a member, itself or through one of its devices."""
    return any(relation["podId"] == pod_id for relation in relations)
