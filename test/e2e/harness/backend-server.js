#!/usr/bin/env node
// Backend services of one e2e site, run inside the site's network namespace:
//   HTTP echo on --http (answers with the site and service name, streams /bytes/<n> on request)
//   hash sink on --sink (reads until the client half-closes, answers "<bytes> <sha256>\n")
// Usage: node backend-server.js --site a --name echo --host 0.0.0.0 --http 8080 --sink 9000
'use strict';
const http = require('node:http');
const net = require('node:net');
const crypto = require('node:crypto');

const args = {};
for (let i = 2; i < process.argv.length; i += 2)
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const site = args.site || '?';
const name = args.name || 'echo';
const host = args.host || '0.0.0.0';

const servers = [];
if (args.http) {
  const server = http.createServer((req, res) => {
    const bytes = /^\/bytes\/(\d+)$/.exec(req.url || '');
    if (bytes) {
      let left = Number(bytes[1]);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(left) });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return res.once('drain', pump);
        }
        res.end();
      };
      return pump();
    }
    const body =
      JSON.stringify({ site, service: name, path: req.url, remote: req.socket.remoteAddress }) + '\n';
    req.resume();
    req.on('end', () => res.end(body));
  });
  server.keepAliveTimeout = 5000;
  servers.push([server, Number(args.http), 'http']);
}
if (args.sink) {
  const server = net.createServer((socket) => {
    const hash = crypto.createHash('sha256');
    let count = 0;
    socket.on('data', (chunk) => {
      count += chunk.length;
      hash.update(chunk);
    });
    socket.on('end', () => socket.end(`${count} ${hash.digest('hex')} ${site}\n`));
    socket.on('error', () => socket.destroy());
  });
  servers.push([server, Number(args.sink), 'sink']);
}

let pending = servers.length;
for (const [server, port, kind] of servers) {
  server.on('error', (err) => {
    console.error(`backend ${kind} error: ${err.message}`);
    process.exit(1);
  });
  server.listen(port, host, () => {
    console.log(`backend ${kind} listening on ${host}:${port}`);
    if (--pending === 0) console.log('backend ready');
  });
}
process.on('SIGTERM', () => process.exit(0));
