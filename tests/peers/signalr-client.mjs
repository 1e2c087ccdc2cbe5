// An ASP.NET Core SignalR client (npm @microsoft/signalr, which takes ws in Node) for tst_formats: negotiates
// with argv[2]/hub, connects over WebSocket with the JSON hub protocol, or MessagePack when argv[3] is
// "msgpack"; invokes SendMessage("bob", "hi"), prints the ReceiveMessage it gets and the result, stays
// argv[4] ms (default 700) so that pings cross both ways, stops, then exits 0 (or 1 with the reason).
// argv[5] "skip-negotiation" goes straight to the WebSocket without the negotiate POST.
import { HttpTransportType, HubConnectionBuilder, LogLevel } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";

const url = process.argv[2];
const msgpack = process.argv[3] === "msgpack";
const stayMs = Number(process.argv[4] ?? 700);
const skipNegotiation = process.argv[5] === "skip-negotiation";
const fail = (why) => {
  console.log(`error ${why}`);
  process.exit(1);
};
setTimeout(() => fail("timeout"), 15000);
let builder = new HubConnectionBuilder()
  .withUrl(`${url}/hub`, { transport: HttpTransportType.WebSockets, skipNegotiation })
  .withKeepAliveInterval(200)
  .configureLogging(LogLevel.None);
if (msgpack) builder = builder.withHubProtocol(new MessagePackHubProtocol());
const connection = builder.build();
connection.on("ReceiveMessage", (user, text) => console.log(`receive ${user} ${text}`));
try {
  await connection.start();
  console.log(`result ${await connection.invoke("SendMessage", "bob", "hi")}`);
  await new Promise((resolve) => setTimeout(resolve, stayMs));
  await connection.stop();
  console.log("done");
  process.exit(0);
} catch (e) {
  fail(e.message);
}
