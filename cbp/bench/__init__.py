"""The benchmarks behind `cbp bench`: load drivers, process metrics, reports.

One module per benchmark (`ledger`, `chaincode`, `gateway`, `registry`); the pieces they share
are the driver protocol (`protocol`), the Python driver (`driver`, with `node/driver.js` its Node
twin), the runner that measures processes around a driver's windows (`runner`, `procstat`),
the figures (`stats`), the sandbox to drive (`target`) and the printed report (`report`).
"""
