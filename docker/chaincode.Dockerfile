# The project's Python chaincode server (chaincode-as-a-service), as docker-compose-fabric.yml
# runs it: `serve <module:Class> --address ... --chaincode-id <package id> --tls-...`.
# Build context: the repository root.
FROM python:3.11-slim
WORKDIR /opt/cbp
COPY pyproject.toml ./
COPY cbp ./cbp
COPY network ./network
COPY chaincode ./chaincode
COPY gateway ./gateway
COPY connector ./connector
COPY simulations ./simulations
RUN pip install --no-cache-dir .
# Chaincode imports nothing outside chaincode/ and fabric_protos; the rest is installed only
# because it is one Python distribution.
ENTRYPOINT ["python", "-m", "chaincode.runtime"]
CMD ["--help"]
