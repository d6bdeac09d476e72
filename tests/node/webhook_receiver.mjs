// A webhook receiver for the end-to-end tests: every request is checked with `standardwebhooks`,
// the Standard Webhooks reference implementation, never with the service's own code.
//
//   WEBHOOK_SECRET=whsec_... node webhook_receiver.mjs --port 0 --record FILE --ready FILE
//                                [--tls-cert PEM --tls-key PEM]
//
// With --tls-cert and --tls-key it speaks https (the control requests too), else http.
// POST /hooks          an event. Verified, then recorded as one JSON line in FILE (so the record
//                      survives a restart) once answered: {seq, webhook_id, verified, error?, type,
//                      domain_id, answered, body, authorization, started_ms, ended_ms, cut}.
//                      Answers as the mode says; a request that fails verification gets 401
//                      whatever the mode. authorization: the Authorization header as sent ("" for
//                      none), not checked here.
//                      started_ms: when the request came (Date.now()), ended_ms: when the answer
//                      was over or the connection gone; cut: the answer's body never all sent.
// POST /control/mode   {"status": 200|500|..., "delay_ms": n, "trickle_ms": n,
//                      "trickle": "body"|"headers", "domain_id": "..."?}: how to answer from now
//                      on (for one domain only when domain_id is given). trickle_ms > 0, body
//                      (the default): the status line and headers at once with a Content-Length
//                      of 1 MB, then one byte of body every trickle_ms; headers: the status line,
//                      then one byte of a header every trickle_ms, the headers never ended. Either
//                      until the client goes away or 40 s have passed (the connection dropped).
// Once listening it writes its port to the --ready file. Binds 127.0.0.1 only.
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { STATUS_CODES, createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { Webhook } from "standardwebhooks";

function option(name, fallback) {
    const at = process.argv.indexOf(`--${name}`);
    return at > 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

const recordFile = option("record");
const readyFile = option("ready");
const port = Number(option("port", "0"));
if (!recordFile || !readyFile || !process.env.WEBHOOK_SECRET) {
    console.error("usage: WEBHOOK_SECRET=whsec_... webhook_receiver.mjs --port N --record FILE --ready FILE");
    process.exit(2);
}
const webhook = new Webhook(process.env.WEBHOOK_SECRET);

const defaultMode = { status: 204, delay_ms: 0, trickle_ms: 0, trickle: "body" };
const kTrickleLengthBytes = 1_000_000;
const kTrickleForMs = 40_000;
let modes = { all: defaultMode };  // "all", or a domain id
let seq = 0;

function readBody(request) {
    return new Promise((resolve, reject) => {
        const chunks = [];
        request.on("data", (chunk) => chunks.push(chunk));
        request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        request.on("error", reject);
    });
}

// An answer never finished: one byte of its body (part "body") or of a header (part "headers")
// every `everyMs`. Settled with {ended_ms, cut} once the client has gone away (or after
// kTrickleForMs, the connection dropped).
function trickle(response, status, everyMs, part) {
    return new Promise((resolve) => {
        const socket = response.socket;
        const started = Date.now();
        let timer = null;
        const finish = () => {
            if (timer === null) return;
            clearInterval(timer);
            timer = null;
            resolve({ ended_ms: Date.now(), cut: true });
        };
        response.on("error", () => {});  // a write racing the client's close: finish() follows
        socket.on("error", () => {});
        let writeByte;
        if (part === "headers") {
            // Straight to the socket, past node's own response writing.
            socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Status"}\r\n` +
                         "Content-Type: application/json\r\nX-Trickle: ");
            writeByte = () => socket.write("a");
        } else {
            response.writeHead(status, {
                "Content-Type": "application/json",
                "Content-Length": String(kTrickleLengthBytes),
            });
            response.flushHeaders();
            writeByte = () => response.write(" ");
        }
        timer = setInterval(() => {
            if (Date.now() - started >= kTrickleForMs) {
                finish();
                socket.destroy();
                return;
            }
            if (!socket.destroyed && socket.writable) writeByte();
        }, everyMs);
        // The client closing: its FIN (the server then ends its side) or a reset.
        socket.once("end", finish);
        socket.once("close", finish);
        socket.once("error", finish);
        response.once("close", finish);
    });
}

async function receive(request, response) {
    const started_ms = Date.now();
    const body = await readBody(request);
    const entry = { seq: ++seq, webhook_id: request.headers["webhook-id"] ?? "", verified: false };
    try {
        // Checks webhook-signature against "id.timestamp.body" and that the timestamp is recent.
        const payload = webhook.verify(body, request.headers);
        entry.verified = true;
        entry.type = payload.type;
        entry.domain_id = payload.data?.id ?? "";
    } catch (error) {
        entry.error = String(error.message ?? error);
    }
    entry.body = body;
    entry.authorization = request.headers.authorization ?? "";
    const mode = entry.verified ? (modes[entry.domain_id] ?? modes.all) : { status: 401, delay_ms: 0 };
    if (mode.delay_ms > 0) await new Promise((resolve) => setTimeout(resolve, mode.delay_ms));
    entry.answered = mode.status;
    entry.started_ms = started_ms;
    if (mode.trickle_ms > 0) {
        entry.trickled = mode.trickle;
        Object.assign(entry, await trickle(response, mode.status, mode.trickle_ms, mode.trickle));
        appendFileSync(recordFile, JSON.stringify(entry) + "\n");
        return;
    }
    entry.ended_ms = Date.now();
    entry.cut = false;
    appendFileSync(recordFile, JSON.stringify(entry) + "\n");
    response.writeHead(mode.status, { "Content-Type": "application/json" });
    response.end(JSON.stringify({ received: entry.verified }));
}

async function control(request, response) {
    const wanted = JSON.parse(await readBody(request));
    const mode = {
        status: wanted.status ?? 204,
        delay_ms: wanted.delay_ms ?? 0,
        trickle_ms: wanted.trickle_ms ?? 0,
        trickle: wanted.trickle === "headers" ? "headers" : "body",
    };
    if (wanted.domain_id) modes[wanted.domain_id] = mode;
    else modes = { all: mode };
    response.writeHead(200, { "Content-Type": "application/json" });
    response.end(JSON.stringify(modes));
}

const tlsCert = option("tls-cert");
const tlsKey = option("tls-key");
const createServer = (handler) =>
    tlsCert && tlsKey
        ? createHttpsServer({ cert: readFileSync(tlsCert), key: readFileSync(tlsKey) }, handler)
        : createHttpServer(handler);

const server = createServer((request, response) => {
    const handler =
        request.method === "POST" && request.url === "/hooks" ? receive
        : request.method === "POST" && request.url === "/control/mode" ? control
        : null;
    if (!handler) {
        response.writeHead(404).end();
        return;
    }
    handler(request, response).catch((error) => {
        response.writeHead(500).end(String(error));
    });
});
server.keepAliveTimeout = 1000;
server.listen(port, "127.0.0.1", () => {
    writeFileSync(readyFile, String(server.address().port));
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
