// A Socket.IO 4 client (npm socket.io-client) for a half-open path: connects over WebSocket, prints
// "connected 1", and when its heartbeat timeout fires ("disconnect ping timeout") reconnects on its own;
// prints "connected 2" and the ack of one emit on the new connection, then exits 0 (1 after 15 s).
import { io } from "socket.io-client";

const url = process.argv[2];
setTimeout(() => {
  console.log("error timeout");
  process.exit(1);
}, 15000);
const socket = io(url, { transports: ["websocket"], reconnectionDelay: 100, reconnectionDelayMax: 100 });
let connections = 0;
socket.on("disconnect", (reason) => console.log(`disconnect ${reason}`));
socket.on("connect", async () => {
  console.log(`connected ${++connections}`);
  if (connections < 2)
    return;
  console.log(`ack ${JSON.stringify(await socket.emitWithAck("chat", { msg: "again" }))}`);
  socket.disconnect();
  process.exit(0);
});
