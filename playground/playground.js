// Monobase playground: GraphiQL on /graphql or /graphql/admin, queries and
// mutations over HTTP, subscriptions over graphql-ws (graphql-transport-ws),
// the Headers tab's JSON sent as HTTP headers and as the connection_init payload.
(function () {
  'use strict';

  var params = new URLSearchParams(location.search);
  var which = params.get('endpoint') === 'admin' ? 'admin' : 'app';
  var path = which === 'admin' ? '/graphql/admin' : '/graphql';
  var url = new URL(path, location.href).toString();
  var wsUrl = url.replace(/^http/, 'ws');

  var select = document.getElementById('endpoint');
  select.value = which;
  select.addEventListener('change', function () {
    var p = new URLSearchParams(location.search);
    if (select.value === 'admin') p.set('endpoint', 'admin'); else p.delete('endpoint');
    var q = p.toString();
    location.search = q ? '?' + q : '';
  });

  // Each endpoint keeps its own tabs and headers.
  var prefix = 'monobase:' + which + ':';
  var storage = {
    getItem: function (k) { return localStorage.getItem(prefix + k); },
    setItem: function (k, v) { localStorage.setItem(prefix + k, v); },
    removeItem: function (k) { localStorage.removeItem(prefix + k); },
    clear: function () {
      Object.keys(localStorage).forEach(function (k) {
        if (k.indexOf(prefix) === 0) localStorage.removeItem(k);
      });
    },
    get length() {
      return Object.keys(localStorage).filter(function (k) { return k.indexOf(prefix) === 0; }).length;
    }
  };

  var httpFetcher = GraphiQL.createFetcher({ url: url });

  var ws = null, wsKey = null;
  function wsClient(headers) {
    var key = JSON.stringify(headers || {});
    if (ws && wsKey === key) return ws;
    if (ws) ws.dispose();
    ws = graphqlWs.createClient({ url: wsUrl, connectionParams: headers || {}, lazy: true });
    wsKey = key;
    return ws;
  }

  function isSubscription(params, opts) {
    var doc = opts && opts.documentAST;
    if (doc && doc.definitions) {
      var ops = doc.definitions.filter(function (d) { return d.kind === 'OperationDefinition'; });
      var op = ops.length === 1 ? ops[0] : ops.filter(function (d) {
        return d.name && d.name.value === params.operationName;
      })[0];
      return !!op && op.operation === 'subscription';
    }
    return /^\s*subscription\b/.test(params.query || '');
  }

  function toError(e) {
    if (e instanceof Error) return e;
    if (e && typeof e.code === 'number') {
      return new Error('WebSocket closed (' + e.code + (e.reason ? ': ' + e.reason : '') + ')');
    }
    if (Array.isArray(e)) return new Error(e.map(function (x) { return x.message; }).join('; '));
    return new Error(String(e));
  }

  function fetcher(params, opts) {
    if (!isSubscription(params, opts)) return httpFetcher(params, opts);
    var client = wsClient(opts && opts.headers);
    return {
      subscribe: function (observer) {
        var sink = typeof observer === 'function' ? { next: observer } : observer;
        var stop = client.subscribe(params, {
          next: function (v) { sink.next && sink.next(v); },
          error: function (e) { sink.error && sink.error(toError(e)); },
          complete: function () { sink.complete && sink.complete(); }
        });
        return { unsubscribe: stop };
      }
    };
  }

  var defaultQuery = which === 'admin'
    ? '# Admin API: sign in as a superuser, then put\n' +
      '#   {"Authorization": "Bearer <token>"}\n' +
      '# in the Headers tab below. The same token works on /graphql.\n\n' +
      'mutation SignIn {\n  authWithPassword(email: "admin@example.com", password: "change-me-please") {\n    token\n  }\n}\n\n' +
      'query Collections {\n  collections {\n    name\n    type\n    fields { name type required }\n  }\n}\n'
    : '# Application API: one query, list and mutation set per collection.\n' +
      '# Sign in with userAuthWithPassword (or the admin API) and put\n' +
      '#   {"Authorization": "Bearer <token>"}\n' +
      '# in the Headers tab below.\n\n' +
      '{\n  __typename\n}\n';

  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    storage: storage,
    defaultQuery: defaultQuery,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: true,
    defaultEditorToolsVisibility: 'headers'
  }, React.createElement(GraphiQL.Logo, null, which === 'admin' ? 'Monobase admin' : 'Monobase')));
})();
