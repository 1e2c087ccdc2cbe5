// An ASP.NET Core SignalR hub responder (dotnet/aspnetcore src/SignalR/docs/specs/TransportProtocols.md and
// HubProtocol.md) on node:http, npm ws and @msgpack/msgpack for tst_formats: prints "port N", answers
// POST /hub/negotiate?negotiateVersion=1, then the WebSocket at /hub?id=TOKEN (or /hub, negotiation skipped)
// with the "json" protocol (records ended by 0x1E, text messages) or "messagepack" (records prefixed by a
// VarInt length, binary messages). SendMessage(user, text) invokes ReceiveMessage(user, text) on the caller,
// then completes with "echo: " + text; pings every 200 ms; a Close from the client closes the WebSocket.
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { decode, encode } from "@msgpack/msgpack";
import { WebSocketServer } from "ws";

const RS = "\x1e"; // the JSON protocol's record separator, also the handshake's
const Type = {
  Invocation: 1,
  StreamItem: 2,
  Completion: 3,
  StreamInvocation: 4,
  CancelInvocation: 5,
  Ping: 6,
  Close: 7,
};
const tokens = new Set(); // connection tokens handed out by negotiate, each good for one WebSocket

const http = createServer((req, res) => {
  const url = new URL(req.url, "http://127.0.0.1");
  if (req.method === "POST" && url.pathname === "/hub/negotiate") {
    req.resume();
    const token = randomBytes(16).toString("base64url");
    tokens.add(token);
    const body = {
      negotiateVersion: 1,
      connectionId: randomBytes(16).toString("base64url"),
      connectionToken: token,
      availableTransports: [{ transport: "WebSockets", transferFormats: ["Text", "Binary"] }],
    };
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
    return;
  }
  res.writeHead(404).end();
});

// The MessagePack protocol's length prefix: 7 bits a byte, least significant first, high bit = more.
function varint(n) {
  const bytes = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    bytes.push(b);
  } while (n);
  return Buffer.from(bytes);
}

function splitBinary(data) {
  const records = [];
  let at = 0;
  while (at < data.length) {
    let length = 0;
    let shift = 0;
    let b;
    do {
      if (at >= data.length || shift > 28) throw new Error("bad length prefix");
      b = data[at++];
      length |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    if (at + length > data.length) throw new Error("record past the end of the message");
    records.push(data.subarray(at, at + length));
    at += length;
  }
  return records;
}

// A hub message as the JSON protocol's object, from a MessagePack array (HubProtocol.md, "MessagePack").
function fromArray(a) {
  switch (a[0]) {
    case Type.Invocation:
    case Type.StreamInvocation:
      return {
        type: a[0],
        headers: a[1],
        invocationId: a[2] ?? undefined,
        target: a[3],
        arguments: a[4],
        streamIds: a[5],
      };
    case Type.CancelInvocation:
      return { type: a[0], headers: a[1], invocationId: a[2] };
    case Type.Close:
      return { type: a[0], error: a[1] ?? undefined, allowReconnect: a[2] };
    default:
      return { type: a[0] };
  }
}

// And back, for what this server sends.
function toArray(m) {
  switch (m.type) {
    case Type.Invocation:
      return [m.type, {}, m.invocationId ?? null, m.target, m.arguments];
    case Type.Completion:
      if (m.error !== undefined) return [m.type, {}, m.invocationId, 1, m.error];
      return m.result === undefined ? [m.type, {}, m.invocationId, 2] : [m.type, {}, m.invocationId, 3, m.result];
    case Type.Close:
      return m.error === undefined ? [m.type, null] : [m.type, m.error];
    default:
      return [m.type];
  }
}

function serve(ws) {
  let protocol = null; // "json" or "messagepack" once the handshake is done
  let pinger = null;
  const send = (m) => {
    if (ws.readyState !== ws.OPEN) return;
    if (protocol === "messagepack") {
      const body = encode(toArray(m));
      ws.send(Buffer.concat([varint(body.length), body]), { binary: true });
    } else {
      ws.send(JSON.stringify(m) + RS, { binary: false });
    }
  };
  const handle = (m) => {
    switch (m.type) {
      case Type.Invocation:
        if (m.target === "SendMessage") {
          const [user, text] = m.arguments;
          send({ type: Type.Invocation, target: "ReceiveMessage", arguments: [user, text] });
          if (m.invocationId !== undefined)
            send({ type: Type.Completion, invocationId: m.invocationId, result: `echo: ${text}` });
        } else if (m.invocationId !== undefined) {
          send({ type: Type.Completion, invocationId: m.invocationId, error: `Unknown hub method '${m.target}'` });
        }
        break;
      case Type.Close:
        ws.close(1000);
        break;
      default: // pings, and what this hub has no use for
        break;
    }
  };
  ws.on("close", () => clearInterval(pinger));
  ws.on("message", (data) => {
    let bytes = Buffer.isBuffer(data) ? data : Buffer.concat(data);
    try {
      if (!protocol) {
        // The handshake request, JSON ended by 0x1E, always a text message; records may follow it.
        const end = bytes.indexOf(RS);
        if (end === -1) throw new Error("handshake without its record separator");
        const request = JSON.parse(bytes.subarray(0, end).toString("utf8"));
        if ((request.protocol !== "json" && request.protocol !== "messagepack") || request.version !== 1) {
          ws.send(JSON.stringify({ error: `protocol ${request.protocol} ${request.version} not supported` }) + RS);
          ws.close(1000);
          return;
        }
        protocol = request.protocol;
        // ASP.NET Core switches the transfer format before it answers: binary for messagepack.
        ws.send(Buffer.from(`{}${RS}`), { binary: protocol === "messagepack" });
        pinger = setInterval(() => send({ type: Type.Ping }), 200);
        bytes = bytes.subarray(end + 1);
      }
      if (protocol === "messagepack") {
        for (const record of splitBinary(bytes)) handle(fromArray(decode(record)));
      } else {
        for (const record of bytes.toString("utf8").split(RS)) if (record) handle(JSON.parse(record));
      }
    } catch (e) {
      send({ type: Type.Close, error: `Connection closed with an error. ${e.message}` });
      ws.close(1000);
    }
  });
}

const wss = new WebSocketServer({ noServer: true });
http.on("upgrade", (req, socket, head) => {
  const url = new URL(req.url, "http://127.0.0.1");
  const token = url.searchParams.get("id");
  // A client that skipped negotiation (WebSockets only) comes without an id, as ASP.NET Core allows.
  if (url.pathname !== "/hub" || (token !== null && !tokens.delete(token))) {
    socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    return;
  }
  wss.handleUpgrade(req, socket, head, serve);
});
http.listen(0, "127.0.0.1", () => console.log(`port ${http.address().port}`));
setTimeout(() => process.exit(0), 60000).unref();
