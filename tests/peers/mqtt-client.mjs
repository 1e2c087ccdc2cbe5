// An MQTT client (npm mqtt) for tst_formats: connects to argv[2] over WebSocket with protocol version
// argv[3] (4 or 5) and a 1 s keepalive, subscribes to sensors/#, publishes JSON at QoS 1 and a 100 KB
// payload at QoS 2, waits for them to come back and for a keepalive ping, prints what it received, exits 0.
import mqtt from "mqtt";

const fail = (why) => {
  console.log(`error ${why}`);
  process.exit(1);
};
setTimeout(() => fail("timeout"), 15000);
const client = mqtt.connect(process.argv[2], {
  protocolVersion: Number(process.argv[3] ?? 5),
  keepalive: 1,
  clientId: "sensor-7",
  reconnectPeriod: 0,
});
client.on("error", (e) => fail(e.message));
let received = 0;
client.on("message", (topic, payload) => {
  console.log(`message ${topic} ${payload.length > 100 ? `${payload.length} bytes` : payload.toString()}`);
  if (++received === 2)
    setTimeout(() => client.end(false, () => {
      console.log("done");
      process.exit(0);
    }), 1600); // a keepalive ping and its answer cross Socktap meanwhile
});
client.on("connect", async () => {
  await client.subscribeAsync("sensors/#", { qos: 1 });
  await client.publishAsync("sensors/1", JSON.stringify({ temp: 21.5, unit: "C" }), { qos: 1 });
  await client.publishAsync("sensors/big", Buffer.alloc(100000, 7), { qos: 2 });
});
