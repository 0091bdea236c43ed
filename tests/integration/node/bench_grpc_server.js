// `make bench` (h2.sh): a gRPC server on grpc-js answering shop.Cart/Add with the request's bytes,
// and counting the traceparent each call carried (so that the run can show the headers were
// inserted). Prints its port into --port-file, the counts into --count-file on SIGTERM.
'use strict';
const fs = require('fs');
const grpc = require('@grpc/grpc-js');
const opt = {};
for (let i = 2; i < process.argv.length; i += 2) opt[process.argv[i].slice(2)] = process.argv[i + 1];
const ident = (b) => b;
let calls = 0, traced = 0;
const server = new grpc.Server();
server.addService({
  Add: { path: '/shop.Cart/Add', requestStream: false, responseStream: false,
         requestSerialize: ident, requestDeserialize: ident, responseSerialize: ident, responseDeserialize: ident },
}, {
  Add: (call, cb) => {
    calls++;
    if (/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/.test(call.metadata.get('traceparent')[0] || '')) traced++;
    cb(null, call.request);
  },
});
const dump = () => fs.writeFileSync(opt['count-file'], calls + ' ' + traced + '\n');
setInterval(dump, 500);
process.on('SIGTERM', () => { dump(); process.exit(0); });
server.bindAsync('0.0.0.0:' + opt.port, grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) { console.error(err); process.exit(1); }
  fs.writeFileSync(opt['port-file'], String(port) + '\n');
});
