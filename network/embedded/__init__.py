"""The embedded Fabric-compatible engine: Fabric's peer and orderer stages in one process.

Ledger core (pure logic, no gRPC): protoutil, msp, policydsl, policies, channelconfig, rwset,
statedb, history, blockstore, validator, ledger, blockcutter, blockfactory. The services that
expose them over Fabric's gRPC APIs live beside them (see README.md).
"""
