"""What the sandbox's long-running processes share to stay safe under hostile input: logs
that cannot be forged or grow without bound (`logs`), and the error boundary of a gRPC server
(`grpc_boundary`). The embedded engine and the chaincode runtime both use it; it imports
nothing of the project's, so that neither of them depends on the other."""
