// The fluent org's FluentServer (@fluent-org/logger) as a second, independent Forward receiver:
// appends every entry to OUT as {"tag", "time_ns", "record", "chunk": null} and writes its port
// to PORT_FILE once listening. Usage: node fluent_server.js OUT PORT_FILE [SHARED_KEY]
"use strict";
const fs = require("fs");
const { FluentServer } = require("@fluent-org/logger");

const [out, portFile, sharedKey] = process.argv.slice(2);
const opts = { listenOptions: { host: "127.0.0.1", port: 0 } };
if (sharedKey) {
  opts.security = { serverHostname: "fluent-org", sharedKey, authorize: false, userDict: {} };
}
const server = new FluentServer(opts);
server.on("entry", (tag, time, record) => {
  let ns;
  if (typeof time === "number") ns = BigInt(Math.round(time * 1e3)) * 1000000n;
  else ns = BigInt(time.epoch) * 1000000000n + BigInt(time.nano);
  fs.appendFileSync(out, JSON.stringify({ tag, time_ns: 0, record, chunk: null })
    .replace('"time_ns":0', '"time_ns":' + ns.toString()) + "\n");
});
server.listen().then(() => {
  fs.writeFileSync(portFile + ".tmp", String(server.port));
  fs.renameSync(portFile + ".tmp", portFile);
});
