"""Chaincode of the Crowd Balancing Platform: the Python runtime and the contracts on it.

``chaincode.runtime`` is the chaincode-as-a-service shim and contract API; ``chaincode.smoke``,
``chaincode.registry`` and ``chaincode.trading`` are contracts served with
``python -m chaincode.runtime serve module:Class``. Chaincode imports only ``fabric_protos``.
"""
