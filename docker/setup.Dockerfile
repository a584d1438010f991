# One-shot setup for docker-compose-fabric.yml: `python -m network.fabric attach` joins the
# orderers and peers to the channels with the project's genesis blocks, deploys the ccaas
# chaincodes and waits until a transaction commits through every gateway.
# It needs Fabric's `peer` and `osnadmin` CLIs at the pinned version, taken from Fabric's
# official release archive for that version (the same files `install-fabric.sh binary` fetches).
# Build context: the repository root.
FROM python:3.11-slim
ARG FABRIC_VERSION=3.1.5
ARG TARGETARCH=amd64
ADD https://github.com/hyperledger/fabric/releases/download/v${FABRIC_VERSION}/hyperledger-fabric-linux-${TARGETARCH}-${FABRIC_VERSION}.tar.gz /tmp/fabric.tar.gz
RUN mkdir -p /tmp/fabric && tar -xzf /tmp/fabric.tar.gz -C /tmp/fabric bin/peer bin/osnadmin \
    && mv /tmp/fabric/bin/peer /tmp/fabric/bin/osnadmin /usr/local/bin/ \
    && rm -rf /tmp/fabric /tmp/fabric.tar.gz
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
ENTRYPOINT ["python", "-m", "network.fabric"]
CMD ["attach"]
