// An MQTT broker (npm aedes) on a WebSocket listener (npm ws, subprotocol mqtt) for tst_formats: prints
// "port N".
import aedes from "aedes";
import { WebSocketServer, createWebSocketStream } from "ws";

const broker = aedes();
const wss = new WebSocketServer({
  host: "127.0.0.1",
  port: 0,
  handleProtocols: (protocols) => (protocols.has("mqtt") ? "mqtt" : false),
});
wss.on("connection", (ws) => broker.handle(createWebSocketStream(ws)));
wss.on("listening", () => console.log(`port ${wss.address().port}`));
setTimeout(() => process.exit(0), 60000).unref();
