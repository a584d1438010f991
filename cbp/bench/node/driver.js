'use strict';
// The Node load driver: many concurrent submits through Fabric's official Node gateway client
// (@hyperledger/fabric-gateway) on ONE gRPC connection. Same protocol and loop as the Python
// driver (cbp/bench/protocol.py): config JSON on stdin, one JSON event per line on stdout.
//
// The npm packages are the conformance tests' (tests/conformance/node); they are required from
// there so the project keeps one npm project for the gateway client.

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { createRequire } = require('node:module');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const conformance = createRequire(path.join(ROOT, 'tests', 'conformance', 'node', 'package.json'));
const grpc = conformance('@grpc/grpc-js');
const { connect, signers } = conformance('@hyperledger/fabric-gateway');

const MAX_ERROR_KINDS = 20;
const TXID = /\b[0-9a-f]{64}\b/g;

function emit(event, fields) {
    process.stdout.write(JSON.stringify({ event, ...(fields || {}) }) + '\n');
}

function readStdin() {
    return new Promise((resolve, reject) => {
        const chunks = [];
        process.stdin.on('data', (c) => chunks.push(c));
        process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        process.stdin.on('error', reject);
    });
}

function renderArgs(args, n) {
    if (n >= 1e8) throw new Error(`transaction id ${n} does not fit the 8 digits that $ID stands for`);
    const id = String(n).padStart(8, '0');
    return args.map((a) => a.split('$ID').join(id));
}

function errorKind(err) {
    const text = String((err && err.message) || err).split('\n')[0].replace(TXID, '<txid>');
    return `${(err && err.constructor && err.constructor.name) || 'Error'}: ${text.slice(0, 160)}`;
}

// The same org/user/peer choice as gateway.profile.resolve_endpoint.
function resolveEndpoint(profile, orgKey, user) {
    const org = (profile.organizations || {})[orgKey];
    if (!org) throw new Error(`connection profile has no organization ${orgKey}`);
    const creds = (org.users || {})[user];
    if (!creds) throw new Error(`organization ${orgKey} has no user ${user} in the profile`);
    const peerName = (org.peers && org.peers[0]) || org.gatewayPeer;
    const peer = (profile.peers || {})[peerName];
    if (!peer) throw new Error(`connection profile has no peer ${peerName} (for org ${orgKey})`);
    return {
        mspId: org.mspid,
        url: peer.url.replace(/^grpcs?:\/\//, ''),
        hostname: peer.hostname || peerName,
        tlsCACert: fs.readFileSync(peer.tlsCACert),
        cert: fs.readFileSync(creds.cert),
        key: fs.readFileSync(creds.key),
    };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const cpuSeconds = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
};

async function runLevel(contract, cfg, level, nextId) {
    const w = { opened: null, closed: null, committed: 0, failed: 0, latencies: [], errors: {} };
    const counts = (now) => w.opened !== null && now >= w.opened && w.closed === null;
    let stop = false;

    async function worker() {
        while (!stop) {
            const args = renderArgs(cfg.args, nextId());
            const t0 = performance.now();
            let error = null;
            try {
                await contract.submitTransaction(cfg.function, ...args);
            } catch (err) {
                error = err;
            }
            const t1 = performance.now();
            if (!counts(t1)) continue;
            if (error === null) {
                w.committed += 1;
                w.latencies.push(t1 - t0);
            } else {
                w.failed += 1;
                let kind = errorKind(error);
                if (!(kind in w.errors) && Object.keys(w.errors).length >= MAX_ERROR_KINDS) kind = 'other errors';
                w.errors[kind] = (w.errors[kind] || 0) + 1;
            }
        }
    }

    const workers = Array.from({ length: level }, () => worker());
    await sleep(cfg.warmup * 1000);
    w.opened = performance.now();
    const cpu0 = cpuSeconds();
    emit('window_start', { level });
    const deadline = w.opened + cfg.duration * 1000;
    const every = (cfg.progress_every || 2) * 1000;
    for (let now = performance.now(); now < deadline; now = performance.now()) {
        await sleep(Math.min(every, deadline - now));
        if (performance.now() < deadline) {
            emit('progress', {
                level,
                elapsed: Math.round(performance.now() - w.opened) / 1000,
                committed: w.committed,
                failed: w.failed,
            });
        }
    }
    w.closed = performance.now();
    const cpu = cpuSeconds() - cpu0;
    emit('window_end', {
        level,
        elapsed: (w.closed - w.opened) / 1000,
        committed: w.committed,
        failed: w.failed,
        errors: w.errors,
        latencies_ms: w.latencies.map((x) => Math.round(x * 100) / 100),
        cpu_seconds: Math.round(cpu * 1e4) / 1e4,
    });
    stop = true;
    const drain = cfg.drain_timeout || 30;
    await Promise.race([Promise.allSettled(workers), sleep(drain * 1000)]);
}

async function main() {
    const cfg = JSON.parse(await readStdin());
    const ep = resolveEndpoint(JSON.parse(fs.readFileSync(cfg.profile, 'utf8')), cfg.org, cfg.user || 'User1');
    const client = new grpc.Client(ep.url, grpc.credentials.createSsl(ep.tlsCACert), {
        'grpc.ssl_target_name_override': ep.hostname,
        'grpc.default_authority': ep.hostname,
    });
    const gateway = connect({
        client,
        identity: { mspId: ep.mspId, credentials: ep.cert },
        signer: signers.newPrivateKeySigner(crypto.createPrivateKey(ep.key)),
        endorseOptions: () => ({ deadline: Date.now() + 60000 }),
        submitOptions: () => ({ deadline: Date.now() + 60000 }),
        commitStatusOptions: () => ({ deadline: Date.now() + 120000 }),
    });
    try {
        const contract = gateway.getNetwork(cfg.channel).getContract(cfg.chaincode);
        let id = cfg.id_base || 0;
        const nextId = () => id++;
        await contract.submitTransaction(cfg.function, ...renderArgs(cfg.args, nextId()));
        emit('ready');
        for (const level of cfg.levels) {
            await runLevel(contract, cfg, level, nextId);
        }
        emit('done');
    } finally {
        gateway.close();
        client.close();
    }
}

main().then(
    () => process.exit(0),
    (err) => {
        emit('error', { message: errorKind(err) });
        process.exit(2);
    },
);
