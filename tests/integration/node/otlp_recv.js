// An OTLP trace receiver for the tests, decoding with the OpenTelemetry JS project's own
// protobuf root (the one @opentelemetry/otlp-transformer ships), over OTLP/HTTP (protobuf,
// POST /v1/traces) and/or OTLP/gRPC (@grpc/grpc-js server, TraceService/Export).
// Every span becomes one JSON line in OUT: hex ids, name, kind, flags, times, status,
// attributes and resource attributes flattened to {key: value}. Every request is logged as a
// JSON line in OUT.req (with the client's address:port, to tell connections apart). Once listening, writes "http=PORT grpc=PORT" to PORT_FILE.
//
// Usage: node otlp_recv.js --out OUT --port-file F [--host H] [--http PORT] [--grpc PORT]
//        [--fail N] [--fail-status 503] [--retry-after S] [--reject N] [--hold FILE]
//   --fail N        answer the first N requests with --fail-status (HTTP) / UNAVAILABLE (gRPC)
//   --fail-status   the HTTP status of those answers (gRPC: 503 -> UNAVAILABLE, else INVALID_ARGUMENT)
//   --retry-after S send Retry-After: S with them (HTTP)
//   --reject N      the first successful answer is a partial success rejecting N spans
//   --exhausted N   (gRPC) answer the first N requests RESOURCE_EXHAUSTED with a google.rpc.RetryInfo
//   --retry-delay-ms M  ... whose retry_delay is M ms (default 1000)
//   --hold FILE     load, write FILE, and listen only when SIGUSR2 arrives: a test can then
//                   bring a collector up at a chosen moment, which node's own start (many
//                   seconds under qemu without KVM) would not let it choose
//   --tls-cert PEM --tls-key KEY  serve both protocols over TLS (HTTPS; gRPC with ALPN h2)
//   --client-ca PEM require a client certificate signed by this CA (mutual TLS)
// Each request's line in OUT.req also has its headers (HTTP) or metadata (gRPC) as "headers",
// the body's Content-Encoding / grpc-encoding as "encoding" (a gzip body is inflated before
// it is decoded), and over mutual TLS the client certificate's CN as "client_cn".
"use strict";
const fs = require("fs");
const http = require("http");
const https = require("https");
const zlib = require("zlib");
// grpc-js hands the handler its metadata without grpc-encoding: the HTTP/2 request headers are
// kept here as each stream opens (the exporter sends one request at a time).
const http2 = require("http2");
let lastGrpcHeaders = {};
for (const f of ["createServer", "createSecureServer"]) {
  const orig = http2[f];
  http2[f] = function (...args) {
    const srv = orig.apply(this, args);
    srv.prependListener("stream", (stream, headers) => { lastGrpcHeaders = headers; });
    return srv;
  };
}
const grpc = require("@grpc/grpc-js");
const protobuf = require("protobufjs");
const root = require("@opentelemetry/otlp-transformer/build/src/generated/root.js");

const v1 = root.opentelemetry.proto.collector.trace.v1;
const Req = v1.ExportTraceServiceRequest;
const Resp = v1.ExportTraceServiceResponse;

const opt = { host: "127.0.0.1", fail: 0, failStatus: 503, retryAfter: null, reject: 0, exhausted: 0,
  retryDelayMs: 1000 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const k = argv[i], v = argv[i + 1];
  if (k === "--out") opt.out = v;
  else if (k === "--port-file") opt.portFile = v;
  else if (k === "--host") opt.host = v;
  else if (k === "--http") opt.http = Number(v);
  else if (k === "--grpc") opt.grpc = Number(v);
  else if (k === "--fail") opt.fail = Number(v);
  else if (k === "--fail-status") opt.failStatus = Number(v);
  else if (k === "--retry-after") opt.retryAfter = v;
  else if (k === "--reject") opt.reject = Number(v);
  else if (k === "--exhausted") opt.exhausted = Number(v);
  else if (k === "--retry-delay-ms") opt.retryDelayMs = Number(v);
  else if (k === "--hold") opt.hold = v;
  else if (k === "--tls-cert") opt.tlsCert = fs.readFileSync(v);
  else if (k === "--tls-key") opt.tlsKey = fs.readFileSync(v);
  else if (k === "--client-ca") opt.clientCa = fs.readFileSync(v);
  else { console.error("otlp_recv: unknown option " + k); process.exit(2); }
}
if (!opt.out || !opt.portFile || (opt.http === undefined && opt.grpc === undefined)) {
  console.error("otlp_recv: needs --out, --port-file and --http and/or --grpc");
  process.exit(2);
}

const hex = (b) => (b && b.length ? Buffer.from(b).toString("hex") : "");
const num = (x) => (x === null || x === undefined ? null : typeof x === "object" ? x.toString() : String(x));

function anyValue(v) {
  if (!v) return null;
  if (v.stringValue !== undefined && v.stringValue !== null) return v.stringValue;
  if (v.intValue !== undefined && v.intValue !== null) return Number(num(v.intValue));
  if (v.boolValue !== undefined && v.boolValue !== null) return v.boolValue;
  if (v.doubleValue !== undefined && v.doubleValue !== null) return v.doubleValue;
  if (v.bytesValue) return hex(v.bytesValue);
  return null;
}

function attrs(list) {
  const o = {};
  for (const kv of list || []) o[kv.key] = anyValue(kv.value);
  return o;
}

let requests = 0, answered = 0, rejectLeft = opt.reject;

// Decodes, records, and says how to answer: { fail: bool, rejected: N }.
function take(proto, buf, peer, meta) {
  const n = ++requests;
  meta = meta || {};
  let msg;
  try {
    if (meta.encoding === "gzip" && proto === "http") buf = zlib.gunzipSync(buf);
    msg = Req.decode(buf);
  } catch (e) {
    fs.appendFileSync(opt.out + ".req", JSON.stringify({ n, proto, peer, error: String(e), ...meta }) + "\n");
    return { bad: true };
  }
  const fail = n <= opt.fail || (proto === "grpc" && n <= opt.exhausted);
  let spans = 0;
  const lines = [];
  for (const rs of msg.resourceSpans || []) {
    const resource = attrs(rs.resource && rs.resource.attributes);
    for (const ss of rs.scopeSpans || []) {
      for (const s of ss.spans || []) {
        spans++;
        lines.push(JSON.stringify({
          proto, request: n,
          trace_id: hex(s.traceId), span_id: hex(s.spanId), parent_span_id: hex(s.parentSpanId),
          name: s.name, kind: s.kind, flags: s.flags || 0,
          start: num(s.startTimeUnixNano), end: num(s.endTimeUnixNano),
          status_code: s.status ? s.status.code || 0 : 0,
          attributes: attrs(s.attributes), resource, scope: ss.scope ? ss.scope.name : null,
        }));
      }
    }
  }
  let rejected = 0;
  if (!fail && rejectLeft) {
    rejected = Math.min(rejectLeft, spans);
    rejectLeft = 0;
  }
  fs.appendFileSync(opt.out + ".req", JSON.stringify({ n, proto, peer, spans, resources: (msg.resourceSpans || []).length, fail, rejected, ...meta }) + "\n");
  // Spans of a failed request are not accepted: the exporter must send them again.
  if (!fail && lines.length) fs.appendFileSync(opt.out, lines.join("\n") + "\n");
  return { fail, rejected };
}

function response(rejected) {
  return rejected ? { partialSuccess: { rejectedSpans: rejected, errorMessage: "rejected by the test" } } : {};
}

// google.rpc.Status { code, message, details: [Any(google.rpc.RetryInfo { retry_delay })] },
// encoded with protobufjs from a schema of those messages' fields (their public field numbers).
const rpc = protobuf.Root.fromJSON({ nested: {
  Duration: { fields: { seconds: { type: "int64", id: 1 }, nanos: { type: "int32", id: 2 } } },
  RetryInfo: { fields: { retryDelay: { type: "Duration", id: 1 } } },
  Any: { fields: { typeUrl: { type: "string", id: 1 }, value: { type: "bytes", id: 2 } } },
  Status: { fields: { code: { type: "int32", id: 1 }, message: { type: "string", id: 2 },
                      details: { rule: "repeated", type: "Any", id: 3 } } },
} });
function retryInfoStatus(ms) {
  const ri = rpc.lookupType("RetryInfo").encode({
    retryDelay: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 } }).finish();
  return Buffer.from(rpc.lookupType("Status").encode({
    code: grpc.status.RESOURCE_EXHAUSTED, message: "test throttling",
    details: [{ typeUrl: "type.googleapis.com/google.rpc.RetryInfo", value: ri }] }).finish());
}

const ports = {};
let pending = 0;
const binds = []; // each server's listen, run at once or on SIGUSR2 (--hold)
function listening() {
  if (--pending) return;
  const line = Object.entries(ports).map(([k, v]) => `${k}=${v}`).join(" ");
  fs.writeFileSync(opt.portFile + ".tmp", line + "\n");
  fs.renameSync(opt.portFile + ".tmp", opt.portFile);
}

if (opt.http !== undefined) {
  pending++;
  const tlsOpts = opt.tlsCert ? { cert: opt.tlsCert, key: opt.tlsKey, ca: opt.clientCa,
    requestCert: !!opt.clientCa, rejectUnauthorized: !!opt.clientCa } : null;
  const handler = (req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/traces" ||
          !(req.headers["content-type"] || "").startsWith("application/x-protobuf")) {
        res.writeHead(404).end();
        return;
      }
      const meta = { headers: req.headers, encoding: req.headers["content-encoding"] || "identity" };
      if (opt.clientCa) meta.client_cn = (req.socket.getPeerCertificate().subject || {}).CN || null;
      const a = take("http", Buffer.concat(chunks), `${req.socket.remoteAddress}:${req.socket.remotePort}`, meta);
      if (a.bad) { res.writeHead(400).end("undecodable"); return; }
      if (a.fail) {
        const h = opt.retryAfter !== null ? { "Retry-After": opt.retryAfter } : {};
        res.writeHead(opt.failStatus, h).end("test failure");
        return;
      }
      answered++;
      res.writeHead(200, { "Content-Type": "application/x-protobuf" })
        .end(Buffer.from(Resp.encode(response(a.rejected)).finish()));
    });
  };
  const srv = tlsOpts ? https.createServer(tlsOpts, handler) : http.createServer(handler);
  binds.push(() => srv.listen(opt.http, opt.host, () => { ports.http = srv.address().port; listening(); }));
}

if (opt.grpc !== undefined) {
  pending++;
  const server = new grpc.Server();
  server.addService({
    Export: {
      path: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
      requestStream: false, responseStream: false,
      requestDeserialize: (b) => b, // decoded in take(), so a bad message is recorded, not fatal
      requestSerialize: (b) => b,
      responseSerialize: (o) => Buffer.from(Resp.encode(o).finish()),
      responseDeserialize: (b) => Resp.decode(b),
    },
  }, {
    Export: (call, cb) => {
      const md = call.metadata.getMap();
      const meta = { headers: md, encoding: lastGrpcHeaders["grpc-encoding"] || "identity" };
      const a = take("grpc", call.request, call.getPeer(), meta);
      if (a.bad) return cb({ code: grpc.status.INVALID_ARGUMENT, details: "undecodable" });
      if (a.fail && opt.exhausted) {
        const md = new grpc.Metadata();
        md.set("grpc-status-details-bin", retryInfoStatus(opt.retryDelayMs));
        return cb({ code: grpc.status.RESOURCE_EXHAUSTED, details: "test throttling", metadata: md });
      }
      if (a.fail) {
        return cb({ code: opt.failStatus === 503 ? grpc.status.UNAVAILABLE : grpc.status.INVALID_ARGUMENT,
                    details: "test failure" });
      }
      answered++;
      cb(null, response(a.rejected));
    },
  });
  const addr = opt.host.includes(":") ? `[${opt.host}]:${opt.grpc}` : `${opt.host}:${opt.grpc}`;
  const creds = opt.tlsCert
    ? grpc.ServerCredentials.createSsl(opt.clientCa || null,
        [{ private_key: opt.tlsKey, cert_chain: opt.tlsCert }], !!opt.clientCa)
    : grpc.ServerCredentials.createInsecure();
  binds.push(() => server.bindAsync(addr, creds, (err, port) => {
    if (err) { console.error("otlp_recv: grpc: " + err.message); process.exit(1); }
    ports.grpc = port;
    listening();
  }));
}

const bindAll = () => binds.forEach((b) => b());
if (opt.hold) {
  // A signal handler alone does not keep node running: a timer does until the servers listen.
  const idle = setInterval(() => {}, 1 << 30);
  // The handler first: SIGUSR2 would otherwise end the process.
  process.once("SIGUSR2", () => { clearInterval(idle); bindAll(); });
  fs.writeFileSync(opt.hold + ".tmp", "loaded\n");
  fs.renameSync(opt.hold + ".tmp", opt.hold);
} else {
  bindAll();
}
