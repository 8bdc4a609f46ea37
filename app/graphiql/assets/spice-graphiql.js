// SPICE's GraphiQL page (app/graphql/ide.py): queries and mutations over HTTP,
// subscriptions over graphql-transport-ws on the same path. Browsers cannot set
// headers on a WebSocket, so the Authorization typed into the headers editor is
// sent in the socket's connection_init payload; a changed value opens a new socket.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var endpoint = new URL(root.getAttribute("data-endpoint"), window.location.href);
  var socketUrl = new URL(endpoint.href);
  socketUrl.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";
  var overHttp = GraphiQL.createFetcher({ url: endpoint.href });
  var socket = null;
  var socketAuthorization = null;

  function authorizationOf(headers) {
    for (var name in headers || {}) {
      if (name.toLowerCase() === "authorization") return String(headers[name]);
    }
    return null;
  }

  function socketFor(authorization) {
    if (socket === null || authorization !== socketAuthorization) {
      if (socket !== null) socket.dispose();
      socketAuthorization = authorization;
      socket = graphqlWs.createClient({
        url: socketUrl.href,
        lazy: true,
        connectionParams: authorization ? { Authorization: authorization } : {},
      });
    }
    return socket;
  }

  // GraphiQL parses the editor with a delay, so its documentAST may still be the
  // previous text: it is used only when it is the AST of this very query.
  function isSubscription(params, opts) {
    var document = opts && opts.documentAST;
    var query = params.query || "";
    if (document && document.loc && document.loc.source.body === query) {
      var operations = document.definitions.filter(function (d) {
        return d.kind === "OperationDefinition";
      });
      var chosen = params.operationName
        ? operations.find(function (d) {
            return d.name && d.name.value === params.operationName;
          })
        : operations[0];
      return Boolean(chosen) && chosen.operation === "subscription";
    }
    return operationKind(query, params.operationName) === "subscription";
  }

  // The kind of the named (or first) operation, read from the text without
  // its comments and strings.
  function operationKind(query, name) {
    var text = query.replace(/"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*/g, " ");
    var pattern = /^[_A-Za-z]\w*$/.test(name || "")
      ? new RegExp("\\b(query|mutation|subscription)\\s+" + name + "\\b")
      : /(?:^|[^\w$])(query|mutation|subscription|\{)/;
    var found = pattern.exec(text);
    return found === null ? null : found[1] === "{" ? "query" : found[1];
  }

  function fetcher(params, opts) {
    if (isSubscription(params, opts)) {
      return socketFor(authorizationOf(opts && opts.headers)).iterate(params);
    }
    return overHttp(params, opts);
  }

  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      defaultHeaders: '{\n  "Authorization": "Bearer <token>"\n}',
      defaultEditorToolsVisibility: true,
    })
  );
})();
