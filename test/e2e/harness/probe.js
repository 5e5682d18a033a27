#!/usr/bin/env node
// Client-side probes of the e2e suite, run inside a site's network namespace (`ip netns exec`).
// Each subcommand prints one JSON line on stdout; options are --key value pairs.
//   connect   --host --port [--timeout ms] [--local addr]          TCP connect, then close
//   hash      --host --port --bytes n [--local addr] [--rate B/s] [--progress n]
//                                                                 send random bytes to a hash sink, compare sha256
//   load      --host --port --conns n --seconds s [--local addr]    n keep-alive HTTP connections issuing GET /
//   garbage   --host --port [--bytes n]                            plain TCP garbage; report how the peer ended it
//   tls       --host --port --servername [--ca --cert --key files] [--request base64 | --request-file f] [--timeout ms]
//   slowloris --host --port --seconds s                             dribble a TLS ClientHello one byte a second
//   idle      --host --port --conns n --seconds s                   n connections that never start TLS
'use strict';
const net = require('node:net');
const tls = require('node:tls');
const fs = require('node:fs');
const crypto = require('node:crypto');

const [cmd, ...rest] = process.argv.slice(2);
const o = {};
for (let i = 0; i < rest.length; i += 2) o[rest[i].replace(/^--/, '')] = rest[i + 1];
const host = o.host;
const port = Number(o.port);
const local = o.local ? { localAddress: o.local } : {};
const started = Date.now();
const out = (obj) => {
  process.stdout.write(JSON.stringify({ ms: Date.now() - started, ...obj }) + '\n');
  process.exit(0);
};

function connect() {
  const timeout = Number(o.timeout || 3000);
  const s = net.connect({ host, port, ...local });
  const t = setTimeout(() => {
    s.destroy();
    out({ ok: false, error: 'ETIMEDOUT' });
  }, timeout);
  s.on('connect', () => {
    clearTimeout(t);
    s.destroy();
    out({ ok: true });
  });
  s.on('error', (e) => {
    clearTimeout(t);
    out({ ok: false, error: e.code || e.message });
  });
}

function hash() {
  const total = Number(o.bytes);
  const rate = o.rate ? Number(o.rate) : 0;
  // --progress n: a line {"progress": sent} on stderr every n bytes written, so that a test can act
  // once bytes flow instead of after a guessed delay (the result stays the last stdout line).
  const every = o.progress ? Number(o.progress) : 0;
  const sent = crypto.createHash('sha256');
  let left = total;
  let answer = '';
  let reported = 0;
  const s = net.connect({ host, port, ...local });
  const chunkSize = 256 * 1024;
  let connectedAt = 0;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, chunkSize);
      const chunk = crypto.randomBytes(n);
      sent.update(chunk);
      left -= n;
      const more = s.write(chunk);
      const written = total - left;
      if (every && written - reported >= every) {
        reported = written;
        process.stderr.write(JSON.stringify({ progress: written }) + '\n');
      }
      // Backpressure always (a slow tunnel must not pile the payload up in this process, or the
      // progress above would count bytes that never left); --rate only adds pacing on top.
      if (!more) return s.once('drain', pump);
      if (rate) {
        const due = connectedAt + (written / rate) * 1000;
        return setTimeout(pump, Math.max(0, due - Date.now()));
      }
    }
    s.end();
  };
  s.on('connect', () => {
    connectedAt = Date.now();
    pump();
  });
  s.on('data', (d) => (answer += d));
  s.on('error', (e) => out({ ok: false, error: e.code || e.message, sentBytes: total - left }));
  s.on('close', () => {
    const [bytes, digest, site] = answer.trim().split(' ');
    const expected = sent.digest('hex');
    out({
      ok: Number(bytes) === total && digest === expected,
      bytes: Number(bytes),
      digest,
      expected,
      site,
      sentBytes: total - left,
    });
  });
}

function load() {
  const conns = Number(o.conns);
  const until = Date.now() + Number(o.seconds) * 1000;
  const req = Buffer.from(`GET / HTTP/1.1\r\nhost: ${host}\r\n\r\n`);
  let opened = 0,
    failed = 0,
    requests = 0,
    closedEarly = 0,
    done = 0;
  const errors = {};
  const finish = () => {
    if (++done === conns)
      out({ ok: failed === 0 && closedEarly === 0, conns, opened, failed, closedEarly, requests, errors });
  };
  for (let i = 0; i < conns; i++) {
    const s = net.connect({ host, port, ...local });
    let buf = '';
    let finished = false;
    const end = (bad, code) => {
      if (finished) return;
      finished = true;
      if (bad) {
        failed++;
        errors[code] = (errors[code] || 0) + 1;
      }
      s.destroy();
      finish();
    };
    s.setEncoding('utf8');
    s.on('connect', () => {
      opened++;
      s.write(req);
    });
    s.on('data', (d) => {
      buf += d;
      const head = buf.indexOf('\r\n\r\n');
      if (head < 0) return;
      const len = Number((/content-length: *(\d+)/i.exec(buf.slice(0, head)) || [0, 0])[1]);
      if (buf.length < head + 4 + len) return;
      if (!buf.startsWith('HTTP/1.1 200')) return end(true, 'status');
      buf = buf.slice(head + 4 + len);
      requests++;
      if (Date.now() >= until) return end(false);
      setTimeout(() => s.write(req), 200 + Math.random() * 800);
    });
    s.on('error', (e) => end(true, e.code || e.message));
    s.on('close', () => {
      if (!finished) {
        closedEarly++;
        end(true, 'closed');
      }
    });
  }
}

function garbage() {
  const s = net.connect({ host, port });
  let received = 0;
  const t = setTimeout(() => {
    s.destroy();
    out({ ended: false, received });
  }, 5000);
  s.on('connect', () => s.write(crypto.randomBytes(Number(o.bytes || 4096))));
  s.on('data', (d) => (received += d.length));
  s.on('error', (e) => {
    clearTimeout(t);
    out({ ended: true, error: e.code || e.message, received });
  });
  s.on('close', () => {
    clearTimeout(t);
    out({ ended: true, received });
  });
}

function tlsProbe() {
  const opts = {
    host,
    port,
    servername: o.servername,
    rejectUnauthorized: false,
    ALPNProtocols: ['http/1.1'],
  };
  if (o.ca) opts.ca = fs.readFileSync(o.ca);
  if (o.cert) opts.cert = fs.readFileSync(o.cert);
  if (o.key) opts.key = fs.readFileSync(o.key);
  const s = tls.connect(opts);
  let response = '';
  let handshake = false;
  const t = setTimeout(
    () => {
      s.destroy();
      out({ handshake, response, error: 'ETIMEDOUT' });
    },
    Number(o.timeout || 5000),
  );
  s.on('secureConnect', () => {
    handshake = true;
    if (o.request) s.write(Buffer.from(o.request, 'base64'));
    if (o['request-file']) s.write(fs.readFileSync(o['request-file']));
  });
  const status = () => Number((/^HTTP\/1\.1 (\d+)/.exec(response) || [0, 0])[1]);
  const headers = (name) => (new RegExp(`^${name}: *(.*)$`, 'im').exec(response) || [])[1];
  s.on('data', (d) => {
    response += d;
    // A response head is all a probe needs; a CONNECT that succeeded would otherwise stay open.
    if (response.includes('\r\n\r\n')) {
      clearTimeout(t);
      s.destroy();
      out({
        handshake,
        status: status(),
        token: headers('x-access-token'),
        response: response.slice(0, 400),
      });
    }
  });
  s.on('error', (e) => {
    clearTimeout(t);
    out({ handshake, response, status: status(), error: e.code || e.message });
  });
  s.on('close', () => {
    clearTimeout(t);
    out({ handshake, response, status: status() });
  });
}

function slowloris() {
  // A real ClientHello would be fine too; any bytes that never complete a handshake will do.
  const hello = Buffer.from('16030100c8010000c40303', 'hex');
  const s = net.connect({ host, port });
  let i = 0;
  const t = setInterval(() => {
    if (i < hello.length) s.write(hello.subarray(i, ++i));
  }, 1000);
  const deadline = setTimeout(
    () => {
      clearInterval(t);
      s.destroy();
      out({ closedByServer: false });
    },
    Number(o.seconds) * 1000,
  );
  const done = (error) => {
    clearInterval(t);
    clearTimeout(deadline);
    out({ closedByServer: true, error, bytesSent: i });
  };
  s.on('error', (e) => done(e.code || e.message));
  s.on('close', () => done());
}

function idle() {
  const conns = Number(o.conns);
  let opened = 0,
    closedByServer = 0,
    failed = 0;
  const sockets = [];
  for (let n = 0; n < conns; n++) {
    const s = net.connect({ host, port });
    s.on('connect', () => opened++);
    s.on('error', () => failed++);
    s.on('close', () => closedByServer++);
    sockets.push(s);
  }
  setTimeout(
    () => {
      const report = { conns, opened, failed, closedByServer };
      for (const s of sockets) s.destroy();
      out(report);
    },
    Number(o.seconds) * 1000,
  );
}

// The upstream-compatible protocol by hand, each request on a new TLS connection, so that behind
// a Service with several replicas the token of one replica is used at another.
async function h1access() {
  const tlsOpts = {
    host,
    port,
    servername: o.servername,
    ca: fs.readFileSync(o.ca),
    cert: fs.readFileSync(o.cert),
    key: fs.readFileSync(o.key),
    ALPNProtocols: ['http/1.1'],
    checkServerIdentity: () => undefined, // the SAN is the peer name, checked via servername below
  };
  // untilClose: read to the end; followUp: written once the response head has arrived.
  const exchange = (request, untilClose, followUp) =>
    new Promise((resolve) => {
      const s = tls.connect(tlsOpts);
      let response = '';
      let followed = false;
      const t = setTimeout(() => {
        s.destroy();
        resolve({ error: 'ETIMEDOUT', response });
      }, 10000);
      s.on('secureConnect', () => s.write(request));
      s.on('data', (d) => {
        response += d;
        if (followUp && !followed && response.includes('\r\n\r\n')) {
          followed = true;
          s.write(followUp);
        }
        if (!untilClose && response.includes('\r\n\r\n')) {
          clearTimeout(t);
          s.destroy();
          resolve({ response });
        }
      });
      s.on('error', (e) => {
        clearTimeout(t);
        resolve({ error: e.code || e.message, response });
      });
      s.on('close', () => {
        clearTimeout(t);
        resolve({ response });
      });
    });
  const body = JSON.stringify({
    ServiceName: o.export,
    ServiceNamespace: o.namespace,
    SrcAttributes: { 'peer.clusterlink.net/name': o.peer },
  });
  let ok = 0;
  const failures = {};
  for (let i = 0; i < Number(o.count); i++) {
    const authz = await exchange(
      `POST /authz HTTP/1.1\r\nhost: ${o.servername}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      false,
    );
    const token = (/^x-access-token: *(.*)$/im.exec(authz.response) || [])[1];
    if (!token) {
      failures.authz = (failures.authz || 0) + 1;
      continue;
    }
    const tunnel = await exchange(
      `CONNECT ${o.export} HTTP/1.1\r\nhost: ${o.servername}\r\nauthorization: Bearer ${token.trim()}\r\n\r\n`,
      true,
      'GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n',
    );
    if (/^HTTP\/1\.1 200/.test(tunnel.response) && /"site":"/.test(tunnel.response)) ok++;
    else failures.connect = (failures.connect || 0) + 1;
  }
  out({ ok, count: Number(o.count), failures });
}

const commands = { connect, hash, load, garbage, tls: tlsProbe, slowloris, idle, h1access };
if (!commands[cmd]) {
  console.error(`unknown probe ${cmd}`);
  process.exit(2);
}
commands[cmd]();
