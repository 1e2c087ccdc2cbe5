// A STOMP client (npm @stomp/stompjs on ws) for tst_formats: connects to argv[2] with heart-beats of
// 200 ms both ways, subscribes to /topic/prices, sends a JSON quote there with a receipt, prints each
// MESSAGE and the RECEIPT, stays argv[3] ms (default 700) so that heart-beats cross, disconnects, then
// exits 0 (or 1 with the reason).
import { Client, Versions } from "@stomp/stompjs";
import WebSocket from "ws";

const url = process.argv[2];
const stayMs = Number(process.argv[3] ?? 700);
const fail = (why) => {
  console.log(`error ${why}`);
  process.exit(1);
};
setTimeout(() => fail("timeout"), 15000);
const client = new Client({
  // Node 20 has no global WebSocket: ws, offering v12.stomp, v11.stomp, v10.stomp as stompjs would.
  webSocketFactory: () => new WebSocket(url, Versions.default.protocolVersions()),
  heartbeatIncoming: 200,
  heartbeatOutgoing: 200,
  reconnectDelay: 0,
  onStompError: (frame) => fail(`stomp ${frame.headers.message}`),
  onWebSocketError: (e) => fail(`websocket ${e.message ?? e.type}`),
});
client.onConnect = async () => {
  client.subscribe("/topic/prices", (message) =>
    console.log(`message ${message.headers.destination} ${message.body}`),
  );
  const receipt = "send-1";
  const received = new Promise((resolve) => client.watchForReceipt(receipt, resolve));
  client.publish({
    destination: "/topic/prices",
    body: JSON.stringify({ symbol: "ACME", price: 10 }),
    headers: { "content-type": "application/json", receipt },
  });
  const frame = await received;
  console.log(`receipt ${frame.headers["receipt-id"]}`);
  await new Promise((resolve) => setTimeout(resolve, stayMs));
  await client.deactivate();
  console.log("done");
  process.exit(0);
};
client.activate();
