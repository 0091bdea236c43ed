// A gRPC relay on grpc-js with no tracing SDK: shop.Cart/Relay, while it serves a call, makes one
// downstream call (gRPC shop.Cart/Add on --grpc HOST:PORT, or HTTP/1 GET on --http URL) and
// answers with what came back. Node reads and writes sockets in one thread: the kernel's thread
// hook binds that thread to the request it read, and its downstream request continues the trace.
//   node grpc_relay.js --port N (--grpc HOST:PORT | --http URL) --port-file FILE
'use strict';
const fs = require('fs');
const http = require('http');
const grpc = require('@grpc/grpc-js');

const opt = {};
for (let i = 2; i < process.argv.length; i += 2) opt[process.argv[i].slice(2)] = process.argv[i + 1];
const ident = (b) => b;
const downstream = opt.grpc ? new grpc.Client(opt.grpc, grpc.credentials.createInsecure()) : null;

function relay(call, cb) {
  if (downstream) {
    downstream.makeUnaryRequest('/shop.Cart/Add', ident, ident, call.request, { deadline: Date.now() + 10000 },
      (err, res) => cb(err, res));
    return;
  }
  http.get(opt.http, (res) => {
    const parts = [];
    res.on('data', (d) => parts.push(d));
    res.on('end', () => cb(null, Buffer.concat(parts)));
  }).on('error', (e) => cb({ code: grpc.status.UNAVAILABLE, details: String(e) }));
}

const server = new grpc.Server();
server.addService({
  Relay: { path: '/shop.Cart/Relay', requestStream: false, responseStream: false,
           requestSerialize: ident, requestDeserialize: ident, responseSerialize: ident, responseDeserialize: ident },
}, { Relay: relay });
server.bindAsync('0.0.0.0:' + (opt.port || 0), grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) { console.error(err); process.exit(1); }
  fs.writeFileSync(opt['port-file'], 'grpc=' + port + '\n');
});
