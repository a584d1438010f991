"""The connection profile: endpoints, TLS CAs and identities per org, for every client.

The gateway client, the connector, the CLI and the tests read this one file whichever engine
runs; only the engine name differs between engines.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from network.identities import CryptoLayout, write_private
from network.topology import Topology


def connection_profile(topology: Topology, layout: CryptoLayout, engine: str) -> dict[str, Any]:
    orgs: dict[str, Any] = {}
    for key, org in topology.orgs.items():
        users = {}
        names = ["Admin"] + [u.name for u in topology.users(key)]
        for name in names:
            d = layout.user_dir(key, name)
            users[name] = {
                "cert": str(layout.signcert(d)),
                "key": str(layout.keystore(d)),
                "tlsCert": str(d / "tls" / "client.crt"),
                "tlsKey": str(d / "tls" / "client.key"),
            }
        entry: dict[str, Any] = {
            "mspid": org.msp_id,
            "name": org.name,
            "role": org.role,
            "eic": org.eic,
            "tenantOf": org.tenant_of,
            "writer": org.writer,
            "peers": [p.host for p in topology.peers if p.org == key],
            "users": users,
            "tlsCACert": str(layout.tlsca_cert(key)),
        }
        if org.distributor_code:
            entry["distributorCode"] = org.distributor_code
        if org.connector_port is not None:
            entry["connectorUrl"] = f"http://{topology.host}:{org.connector_port}"
        if org.kind == "peer":
            host_org = org.tenant_of or key
            host_peers = [p.host for p in topology.peers if p.org == host_org]
            if not host_peers:  # users only and no host (the auditor): a peer on all its channels
                host_peers = _peers_on_every_channel_of(topology, key)
            entry["gatewayPeer"] = host_peers[0] if host_peers else None
        orgs[key] = entry

    peers = {
        p.host: {
            "url": f"grpcs://{p.address}",
            "mspid": p.msp_id,
            "org": p.org,
            "hostname": p.host,
            "tlsCACert": str(layout.tlsca_cert(p.org)),
            "operationsUrl": f"http://{topology.host}:{p.operations_port}",
        }
        for p in topology.peers
    }
    oorg = topology.orderer_org
    orderers = {
        o.host: {
            "url": f"grpcs://{o.address}",
            "mspid": oorg.msp_id,
            "hostname": o.host,
            "tlsCACert": str(layout.tlsca_cert(oorg.key)),
            "adminUrl": f"https://{topology.host}:{o.admin_port}",
        }
        for o in topology.orderers
    }
    channels = {
        name: {
            "orgs": list(ch.orgs),
            "peers": [p.host for p in topology.channel_peers(name)],
            "orderers": list(orderers),
            "chaincodes": list(ch.chaincodes),
        }
        for name, ch in topology.channels.items()
    }
    return {
        "name": topology.name,
        "version": "1.0.0",
        "engine": engine,
        # clients present their tlsCert/tlsKey when the peers and orderers require it
        "clientAuthRequired": topology.client_auth_required,
        "organizations": orgs,
        "peers": peers,
        "orderers": orderers,
        "channels": channels,
    }


def _peers_on_every_channel_of(topology: Topology, org_key: str) -> list[str]:
    mine = [c for c, spec in topology.channels.items() if org_key in spec.orgs]
    joined = [{p.host for p in topology.channel_peers(c)} for c in mine]
    return [p.host for p in topology.peers if joined and all(p.host in j for j in joined)]


def write_connection_profile(
    topology: Topology, layout: CryptoLayout, engine: str, path: Path
) -> Path:
    doc = connection_profile(topology, layout, engine)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True))
    os.replace(tmp, path)
    return path


def connection_json(topology: Topology, layout: CryptoLayout, chaincode: str) -> dict[str, Any]:
    """CCaaS `connection.json`: where the peers dial the chaincode server, with mutual TLS."""
    cc = topology.chaincodes[chaincode]
    d = layout.chaincode_tls(chaincode)
    return {
        "address": cc.address,
        "dial_timeout": "10s",
        "tls_required": True,
        "client_auth_required": True,
        "root_cert": (d / "ca.crt").read_text(),
        "client_cert": (d / "client.crt").read_text(),
        "client_key": (d / "client.key").read_text(),
    }


def write_connection_json(
    topology: Topology, layout: CryptoLayout, chaincode: str, path: Path
) -> Path:
    # holds the peers' client key: owner-only

    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, json.dumps(connection_json(topology, layout, chaincode), indent=2).encode())
    return path
