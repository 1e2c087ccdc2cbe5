// A STOMP 1.2 responder (https://stomp.github.io/stomp-specification-1.2.html) on npm ws for tst_formats:
// prints "port N", then answers the client of stomp-client.mjs. Subprotocols v12.stomp, v11.stomp and
// v10.stomp (the client's first offered); CONNECT/STOMP get CONNECTED with heart-beats negotiated from
// 200,200 so that they flow (a heart-beat is a lone "\n" message); SEND delivers a MESSAGE to each
// subscriber of its destination; any frame with a receipt header gets a RECEIPT; DISCONNECT closes.
import { WebSocketServer } from "ws";

const versions = ["1.2", "1.1", "1.0"];
const subprotocols = ["v12.stomp", "v11.stomp", "v10.stomp"];
const serverBeat = [200, 200]; // [can send every, wants to receive every], in ms
const subscribers = new Map(); // destination -> Set of { ws, id }
let messageIds = 0;
let sessions = 0;

// STOMP 1.1+ header escapes (not in CONNECT and CONNECTED frames, and not in 1.0).
const unescape = (s) =>
  s.replace(/\\([\\ncr])/g, (_, c) => ({ "\\": "\\", n: "\n", c: ":", r: "\r" })[c]);
const escape = (s) =>
  String(s).replace(/[\\\n:\r]/g, (c) => ({ "\\": "\\\\", "\n": "\\n", ":": "\\c", "\r": "\\r" })[c]);

// Every frame in one WebSocket message (EOLs between frames are heart-beats); a frame ends with NUL,
// or after content-length bytes of body.
function parseFrames(data) {
  const frames = [];
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0x0a || data[at] === 0x0d) {
      at++;
      continue;
    }
    const headEnd = data.indexOf("\n\n", at);
    const crlfEnd = data.indexOf("\r\n\r\n", at);
    const useCrlf = crlfEnd !== -1 && (headEnd === -1 || crlfEnd < headEnd);
    const end = useCrlf ? crlfEnd : headEnd;
    if (end === -1) throw new Error("frame without end of headers");
    const lines = data.subarray(at, end).toString("utf8").split(/\r?\n/);
    const command = lines.shift();
    const headers = {};
    for (const line of lines) {
      const colon = line.indexOf(":");
      if (colon === -1) continue;
      const raw = [line.slice(0, colon), line.slice(colon + 1)];
      const [name, value] = command === "CONNECT" || command === "STOMP" ? raw : raw.map(unescape);
      if (!(name in headers)) headers[name] = value; // the first of repeated headers counts
    }
    const bodyStart = end + (useCrlf ? 4 : 2);
    let bodyEnd;
    if (headers["content-length"] !== undefined) bodyEnd = bodyStart + Number(headers["content-length"]);
    else bodyEnd = data.indexOf(0, bodyStart);
    if (bodyEnd === -1 || data[bodyEnd] !== 0) throw new Error("frame without NUL");
    frames.push({ command, headers, body: data.subarray(bodyStart, bodyEnd) });
    at = bodyEnd + 1;
  }
  return frames;
}

function frame(command, headers, body = Buffer.alloc(0)) {
  const escapeHeaders = command !== "CONNECTED";
  let head = `${command}\n`;
  for (const [name, value] of Object.entries(headers))
    head += escapeHeaders ? `${escape(name)}:${escape(value)}\n` : `${name}:${value}\n`;
  return Buffer.concat([Buffer.from(`${head}\n`), body, Buffer.from([0])]);
}

function serve(ws) {
  const session = { ws, subscriptions: new Map(), beat: null };
  // Text frames unless the body is not UTF-8 text (then binary, as brokers do).
  const send = (command, headers, body) => {
    const bytes = frame(command, headers, body);
    ws.send(bytes, { binary: body !== undefined && !isUtf8(body) });
  };
  const cleanup = () => {
    clearInterval(session.beat);
    for (const [id, destination] of session.subscriptions) unsubscribe(destination, ws, id);
  };
  ws.on("close", cleanup);
  ws.on("message", (data) => {
    let frames;
    try {
      frames = parseFrames(Buffer.isBuffer(data) ? data : Buffer.concat(data));
    } catch (e) {
      send("ERROR", { message: e.message });
      ws.close();
      return;
    }
    for (const f of frames) {
      const h = f.headers;
      switch (f.command) {
        case "CONNECT":
        case "STOMP": {
          const offered = (h["accept-version"] ?? "1.0").split(",");
          const version = versions.find((v) => offered.includes(v));
          if (!version) {
            const headers = { version: versions.join(","), "content-type": "text/plain" };
            send("ERROR", { ...headers, message: "no common version" });
            ws.close();
            return;
          }
          // Client's heart-beat cx,cy: the server sends every max(its own, cy) when neither is 0 (and a
          // real broker would drop a client silent for well over max(serverBeat[1], cx)).
          const cy = Number((h["heart-beat"] ?? "0,0").split(",")[1] ?? 0);
          const sendEvery = serverBeat[0] && cy ? Math.max(serverBeat[0], cy) : 0;
          send("CONNECTED", {
            version,
            "heart-beat": `${serverBeat[0]},${serverBeat[1]}`,
            session: `session-${++sessions}`,
            server: "socktap-stomp-peer/1.0",
          });
          if (sendEvery) session.beat = setInterval(() => ws.readyState === ws.OPEN && ws.send("\n"), sendEvery);
          break;
        }
        case "SUBSCRIBE": {
          session.subscriptions.set(h.id, h.destination);
          if (!subscribers.has(h.destination)) subscribers.set(h.destination, new Set());
          subscribers.get(h.destination).add({ ws, id: h.id });
          break;
        }
        case "UNSUBSCRIBE": {
          unsubscribe(session.subscriptions.get(h.id), ws, h.id);
          session.subscriptions.delete(h.id);
          break;
        }
        case "SEND": {
          for (const sub of subscribers.get(h.destination) ?? []) {
            const headers = {
              subscription: sub.id,
              "message-id": `msg-${++messageIds}`,
              destination: h.destination,
              "content-type": h["content-type"] ?? "text/plain",
              "content-length": f.body.length,
            };
            const bytes = frame("MESSAGE", headers, f.body);
            sub.ws.send(bytes, { binary: !isUtf8(f.body) });
          }
          break;
        }
        case "DISCONNECT":
        case "ACK":
        case "NACK":
        case "BEGIN":
        case "COMMIT":
        case "ABORT":
          break;
        default:
          send("ERROR", { "content-type": "text/plain", message: `unknown command ${f.command}` });
          ws.close();
          return;
      }
      if (h.receipt !== undefined) send("RECEIPT", { "receipt-id": h.receipt });
      if (f.command === "DISCONNECT") {
        cleanup();
        ws.close(1000);
        return;
      }
    }
  });
}

function unsubscribe(destination, ws, id) {
  const set = subscribers.get(destination);
  if (!set) return;
  for (const sub of set) if (sub.ws === ws && sub.id === id) set.delete(sub);
}

function isUtf8(bytes) {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

const wss = new WebSocketServer({
  host: "127.0.0.1",
  port: 0,
  // The client's first offered that this server speaks.
  handleProtocols: (offered) => [...offered].find((p) => subprotocols.includes(p)) ?? false,
});
wss.on("listening", () => console.log(`port ${wss.address().port}`));
wss.on("connection", serve);
setTimeout(() => process.exit(0), 60000).unref();
