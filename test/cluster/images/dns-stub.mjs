// A throwaway DNS server for verify.sh: answers A queries for Service names
// (<service>.<namespace>.svc.cluster.local) with the address given on the command line, AAAA
// queries for them with no answer, anything else with NXDOMAIN.
//   node dns-stub.mjs <listen address> <answer address>
import { createSocket } from 'node:dgram';

const [listen = '127.0.0.1', answer = '127.0.0.1'] = process.argv.slice(2);
const socket = createSocket('udp4');

socket.on('message', (query, peer) => {
  // Question: labels from offset 12, then type and class.
  const labels = [];
  let at = 12;
  while (query[at] !== 0) {
    labels.push(query.subarray(at + 1, at + 1 + query[at]).toString());
    at += query[at] + 1;
  }
  const questionEnd = at + 5;
  const type = query.readUInt16BE(at + 1);
  const name = labels.join('.').toLowerCase();
  const known = /^[^.]+\.[^.]+\.svc\.cluster\.local$/.test(name);
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2); // id
  header.writeUInt16BE(0x8180 | (known ? 0 : 3), 2); // response, recursion desired+available, rcode
  header.writeUInt16BE(1, 4); // one question
  const answers = [];
  if (known && type === 1) {
    const record = Buffer.alloc(16);
    record.writeUInt16BE(0xc00c, 0); // name: pointer to the question
    record.writeUInt16BE(1, 2); // A
    record.writeUInt16BE(1, 4); // IN
    record.writeUInt32BE(5, 6); // TTL
    record.writeUInt16BE(4, 10);
    answer.split('.').forEach((octet, i) => record.writeUInt8(Number(octet), 12 + i));
    answers.push(record);
  }
  header.writeUInt16BE(answers.length, 6);
  socket.send(Buffer.concat([header, query.subarray(12, questionEnd), ...answers]), peer.port, peer.address);
  console.log(
    `dns-stub: ${name} type ${type} -> ${answers.length ? answer : known ? 'no answer' : 'NXDOMAIN'}`,
  );
});
socket.bind(53, listen, () => console.log(`dns-stub: listening on ${listen}:53`));
