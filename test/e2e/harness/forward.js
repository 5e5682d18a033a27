#!/usr/bin/env node
// Byte-for-byte TCP/Unix-socket forwarder. The e2e suite bridges a site namespace's loopback to the
// site's API server in the root namespace through a Unix socket (filesystem paths cross network
// namespaces, routes do not), so nothing but the gateway port connects sites over the network.
// Usage: node forward.js <listen> <target>   where each is tcp:HOST:PORT or unix:PATH
'use strict';
const net = require('node:net');
const fs = require('node:fs');

function parse(spec) {
  const unix = /^unix:(.+)$/.exec(spec);
  if (unix) return { path: unix[1] };
  const tcp = /^tcp:(.+):(\d+)$/.exec(spec);
  if (tcp) return { host: tcp[1], port: Number(tcp[2]) };
  throw new Error(`bad address ${spec}`);
}
const listen = parse(process.argv[2]);
const target = parse(process.argv[3]);
if (listen.path) fs.rmSync(listen.path, { force: true });

const server = net.createServer((client) => {
  const upstream = net.connect(target);
  client.pipe(upstream);
  upstream.pipe(client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
  client.on('close', close);
  upstream.on('close', close);
});
server.on('error', (err) => {
  console.error(`forward error: ${err.message}`);
  process.exit(1);
});
server.listen(listen, () => console.log(`forward ready ${process.argv[2]} -> ${process.argv[3]}`));
process.on('SIGTERM', () => process.exit(0));
