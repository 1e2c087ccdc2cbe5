// A graphql-ws client for tst_formats: subscribes to tick(n: 3) as operation OnTick, runs query Hello,
// prints each result, then exits 0 (or 1 with the reason).
import { createClient } from "graphql-ws";
import WebSocket from "ws";

setTimeout(() => {
  console.log("error timeout");
  process.exit(1);
}, 15000);
const client = createClient({ url: process.argv[2], webSocketImpl: WebSocket, lazy: true, retryAttempts: 0 });
try {
  for await (const result of client.iterate({ query: "subscription OnTick { tick(n: 3) }" }))
    console.log(`tick ${JSON.stringify(result.data)}`);
  for await (const result of client.iterate({ query: "query Hello { hello }" }))
    console.log(`hello ${JSON.stringify(result.data)}`);
  await client.dispose();
  console.log("done");
  process.exit(0);
} catch (e) {
  console.log(`error ${e.message ?? JSON.stringify(e)}`);
  process.exit(1);
}
