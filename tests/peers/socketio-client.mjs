// A Socket.IO 4 client (npm socket.io-client) for tst_formats: connects to argv[2] over WebSocket only,
// emits with acks (one with a binary attachment), uses a namespace, stays long enough for heartbeats,
// and prints what it received, one line each, then exits 0 (or 1 with the reason).
import { io } from "socket.io-client";

const url = process.argv[2];
const stayMs = Number(process.argv[3] ?? 700);
const fail = (why) => {
  console.log(`error ${why}`);
  process.exit(1);
};
setTimeout(() => fail("timeout"), 15000);
const socket = io(url, { transports: ["websocket"], reconnection: false });
socket.on("connect_error", (e) => fail(`connect_error ${e.message}`));
socket.on("news", (data) => console.log(`news ${JSON.stringify(data)}`));
socket.on("connect", async () => {
  try {
    console.log(`ack ${JSON.stringify(await socket.emitWithAck("chat", { msg: "hi", price: 10 }))}`);
    const upload = await socket.emitWithAck("upload", "a.bin", Buffer.from([7, 8, 9]));
    console.log(`upload ${JSON.stringify(upload)}`);
    // Same origin: multiplexed over the same WebSocket as the main namespace.
    const admin = io(`${url}/admin`, { transports: ["websocket"], reconnection: false });
    console.log(`admin ${await admin.emitWithAck("kick", "bob")}`);
    await new Promise((resolve) => setTimeout(resolve, stayMs));
    socket.emit("done");
    socket.on("disconnect", () => {
      console.log("done");
      process.exit(0);
    });
  } catch (e) {
    fail(e.message);
  }
});
