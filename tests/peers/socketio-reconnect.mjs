// A Socket.IO 4 client (npm socket.io-client) whose reconnect logic is under test: WebSocket only,
// reconnecting with a short fixed delay. Prints each failed attempt and, once connected, the ack of one
// emit, then exits 0 (1 with the reason, or after 15 s).
import { io } from "socket.io-client";

const url = process.argv[2];
setTimeout(() => {
  console.log("error timeout");
  process.exit(1);
}, 15000);
const socket = io(url, {
  transports: ["websocket"],
  reconnectionDelay: 100,
  reconnectionDelayMax: 100,
  randomizationFactor: 0,
  reconnectionAttempts: 10,
});
let failures = 0;
socket.on("connect_error", (e) => console.log(`connect_error ${++failures} ${e.message}`));
socket.io.on("reconnect_failed", () => {
  console.log("error gave up");
  process.exit(1);
});
socket.on("connect", async () => {
  console.log(`connected after ${failures} failures`);
  console.log(`ack ${JSON.stringify(await socket.emitWithAck("chat", { msg: "back" }))}`);
  socket.disconnect();
  process.exit(0);
});
