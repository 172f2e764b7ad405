// slawatch's GraphiQL: every script comes from this origin. Sign in with the `login` mutation, then put the
// token in the Headers tab as {"Authorization": "Bearer <token>"} (or an API token: "Token swt_…"); queries
// send that header, and subscriptions send it in `connection_init` over /graphql/ws.
(function () {
  "use strict";
  const here = new URL(window.location.href);
  const socket = new URL("/graphql/ws", here);
  socket.protocol = here.protocol === "https:" ? "wss:" : "ws:";
  const fetcher = GraphiQL.createFetcher({ url: new URL("/graphql", here).toString(), subscriptionUrl: socket.toString() });
  const defaultQuery = [
    "# Sign in, then put the token in Headers below:",
    '#   {"Authorization": "Bearer <token>"}',
    '# API tokens: "Token swt_…" or "Bearer swt_…".',
    'mutation { login(username: "admin", password: "…") { token expiresAt } }',
    "",
    "# { me { username isSuperuser } }",
    "",
  ].join("\n");
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultQuery,
      defaultHeaders: '{\n  "Authorization": ""\n}',
      isHeadersEditorEnabled: true,
      // Session tokens stay in this tab's memory, not in localStorage.
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: "headers",
    }),
  );
})();
