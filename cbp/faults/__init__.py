"""Faults and hostile input, as `cbp bench faults` and the `faults` test tier run them.

- `workloads`, `load`, `ledgercheck`, `kills`: processes killed with SIGKILL under load (the
  engine, each chaincode server, a connector, real Fabric's nodes), then every acknowledged
  transaction looked for on every peer: acknowledged, lost, doubled, limbo, time to recover.
- `wire`: generated bad inputs on every gRPC method of the peers and the orderer (byte
  mutations, garbage in nested fields, forged identities and signatures, replays, oversize).
- `contracts`: generated bad arguments for every transaction of every contract (hypothesis).
- `tenants`: every organisation against every channel: read, write, deliver, events, qscc,
  private data, each refused or allowed as the channels' membership says.
- `observe`: what must not change (heights, world state) and what must not appear (tracebacks
  in any log) while the above run; `report`: the figures.
"""
