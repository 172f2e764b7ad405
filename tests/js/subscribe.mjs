// Subscribes to slawatch with the reference `graphql-ws` client and prints one JSON line per message:
//   {"connected":true} once acknowledged, {"next":<payload>} per event, {"closed":<code>,"reason":"…"} when
//   the server closes the socket, {"error":"…"} otherwise.
// Environment: SLAWATCH_WS_URL, SLAWATCH_TOKEN, SLAWATCH_QUERY, SLAWATCH_VARIABLES (JSON, optional).
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const print = (value) => process.stdout.write(JSON.stringify(value) + "\n");

const client = createClient({
  url: process.env.SLAWATCH_WS_URL,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${process.env.SLAWATCH_TOKEN}` },
  retryAttempts: 0,
  lazy: false,
  // The `closed` listener reports refusals; the default would dump the CloseEvent on stderr.
  onNonLazyError: () => {},
  on: {
    connected: () => print({ connected: true }),
    closed: (event) => {
      if (event && typeof event.code === "number") print({ closed: event.code, reason: event.reason });
    },
  },
});

client.subscribe(
  { query: process.env.SLAWATCH_QUERY, variables: JSON.parse(process.env.SLAWATCH_VARIABLES || "{}") },
  {
    next: (payload) => print({ next: payload }),
    error: (error) => {
      const message = error instanceof Error ? error.message : error && error.code ? `closed ${error.code}` : String(error);
      print({ error: message });
      process.exit(0);
    },
    complete: () => process.exit(0),
  },
);
