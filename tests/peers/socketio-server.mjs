// A Socket.IO 4 server (npm socket.io) for tst_formats: prints "port N", then answers the client of
// socketio-client.mjs. Heartbeats every 200 ms so that a test sees Engine.IO's ping/pong.
import { createServer } from "node:http";
import { Server } from "socket.io";

const http = createServer();
// argv[2]: how long the server and its clients wait for a heartbeat's answer (ms).
const pingTimeout = Number(process.argv[2] ?? 5000);
const io = new Server(http, { pingInterval: 200, pingTimeout, transports: ["websocket"] });
io.on("connection", (socket) => {
  socket.emit("news", { hello: "world" });
  socket.on("chat", (message, ack) => {
    // What the server received, so that a test can tell an edit by Socktap from the original.
    ack({ ok: true, echo: message });
  });
  socket.on("upload", (name, data, ack) => ack({ name, bytes: data.length, first: data[0] }));
  socket.on("done", () => socket.disconnect(true));
});
io.of("/admin").on("connection", (socket) => {
  socket.on("kick", (who, ack) => ack(`kicked ${who}`));
});
http.listen(0, "127.0.0.1", () => console.log(`port ${http.address().port}`));
// Bounded: the test ends it, and it ends itself after a minute.
setTimeout(() => process.exit(0), 60000).unref();
