# The CBP Connector (REST API and dashboard) on the Python gateway client.
# Build context: the repository root. It reads the connection profile and identities from
# CBP_HOME (mounted read-only at /cbp by docker-compose-fabric.yml).
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
ENV CBP_HOME=/cbp
CMD ["python", "-m", "connector"]
