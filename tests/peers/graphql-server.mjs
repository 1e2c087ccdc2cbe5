// A GraphQL over WebSocket server (npm graphql-ws on ws, graphql-transport-ws protocol) for tst_formats:
// prints "port N"; Subscription.tick(n) yields 1..n, Query.hello answers "world".
import { GraphQLInt, GraphQLObjectType, GraphQLSchema, GraphQLString } from "graphql";
import { useServer } from "graphql-ws/lib/use/ws";
import { WebSocketServer } from "ws";

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: "Query",
    fields: { hello: { type: GraphQLString, resolve: () => "world" } },
  }),
  subscription: new GraphQLObjectType({
    name: "Subscription",
    fields: {
      tick: {
        type: GraphQLInt,
        args: { n: { type: GraphQLInt } },
        subscribe: async function* (_, { n }) {
          for (let i = 1; i <= n; i++) yield { tick: i };
        },
      },
    },
  }),
});
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, path: "/graphql" });
wss.on("listening", () => console.log(`port ${wss.address().port}`));
useServer({ schema }, wss);
setTimeout(() => process.exit(0), 60000).unref();
