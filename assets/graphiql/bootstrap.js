// Starts GraphiQL on the page served at GET /graphql. Kept out of the HTML so the page's
// Content-Security-Policy needs no inline script. Everything it loads comes from this server.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  document.documentElement.style.height = "100%";
  document.body.style.height = "100%";
  document.body.style.margin = "0";
  root.style.height = "100vh";
  var endpoint = new URL(window.location.pathname, window.location.origin).toString();
  var fetcher = GraphiQL.createFetcher({ url: endpoint });
  var element = React.createElement(GraphiQL, {
    fetcher: fetcher,
    // The token goes in the header editor, opened at start: {"Authorization": "Bearer <token>"}.
    isHeadersEditorEnabled: true,
    defaultEditorToolsVisibility: "headers",
    // A bearer token is a secret: never written to the browser's storage.
    shouldPersistHeaders: false,
    defaultQuery: "# Log in with the mutation below, then put the token in Headers as\n" +
      "# {\"Authorization\": \"Bearer <token>\"} and ask { me { authenticated role } }.\n" +
      "mutation {\n  login(username: \"\", password: \"\") {\n    token\n    expiresAt\n  }\n}\n",
  });
  ReactDOM.createRoot(root).render(element);
})();
