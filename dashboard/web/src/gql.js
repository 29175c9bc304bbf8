// The GraphQL clients of the dashboard: urql on /graphql/admin (the admin
// API) and on /graphql (the application API, where a superuser token
// bypasses every rule), with subscriptions over graphql-ws. The superuser
// token lives in localStorage.
import { Client, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient as createWSClient } from 'graphql-ws';

const TOKEN_KEY = 'monobase.dashboard.token';
const listeners = new Set();
let token = localStorage.getItem(TOKEN_KEY) || '';

/** Returns the superuser token ('' when signed out). */
export function getToken() {
  return token;
}

/** Stores (or with '' clears) the token and tells the listeners. */
export function setToken(t) {
  token = t || '';
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
  ws?.dispose();
  ws = undefined;
  for (const fn of listeners) fn(token);
}

/** Calls fn on every token change; returns the unsubscribe function. */
export function onToken(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

const headers = () => (token ? { Authorization: `Bearer ${token}` } : {});

let ws;
function wsClient() {
  ws ??= createWSClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    connectionParams: () => headers(),
    lazy: true,
    retryAttempts: 5,
  });
  return ws;
}

function client(url, withSubscriptions) {
  const exchanges = [fetchExchange];
  if (withSubscriptions) {
    exchanges.push(
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || '' };
          return { subscribe: (sink) => ({ unsubscribe: wsClient().subscribe(input, sink) }) };
        },
      }),
    );
  }
  return new Client({
    url,
    exchanges,
    preferGetMethod: false,
    requestPolicy: 'network-only',
    fetchOptions: () => ({ headers: headers() }),
  });
}

export const admin = client('/graphql/admin', false);
export const app = client('/graphql', true);

/**
 * An error from the API: message, code (extensions.code), fields
 * (extensions.fields of BAD_USER_INPUT: { key: { code, message } }).
 */
export class APIError extends Error {
  constructor(message, code, fields) {
    super(message);
    this.code = code || '';
    this.fields = fields || {};
  }
}

function toAPIError(err) {
  const g = err.graphQLErrors?.[0];
  if (g) return new APIError(g.message, g.extensions?.code, g.extensions?.fields);
  const res = err.response;
  if (err.networkError) return new APIError(`network error: ${err.networkError.message}`, 'NETWORK');
  return new APIError(err.message || `request failed${res ? ` (${res.status})` : ''}`);
}

async function run(c, kind, query, variables) {
  const op = kind === 'mutation' ? c.mutation(query, variables) : c.query(query, variables);
  const r = await op.toPromise();
  if (r.error) {
    const e = toAPIError(r.error);
    if (e.code === 'UNAUTHENTICATED' && token) setToken(''); // expired or revoked: sign in again
    throw e;
  }
  return r.data;
}

/** Runs a query on the admin API; throws an APIError. */
export const adminQuery = (q, v) => run(admin, 'query', q, v);
/** Runs a mutation on the admin API; throws an APIError. */
export const adminMutation = (q, v) => run(admin, 'mutation', q, v);
/** Runs a query on the application API; throws an APIError. */
export const appQuery = (q, v) => run(app, 'query', q, v);
/** Runs a mutation on the application API (File values are uploaded); throws an APIError. */
export const appMutation = (q, v) => run(app, 'mutation', q, v);

/** Subscribes on the application API; onData gets each result's data. Returns the unsubscribe function. */
export function appSubscribe(query, variables, onData, onError) {
  const { unsubscribe } = app.subscription(query, variables).subscribe((r) => {
    if (r.error) onError?.(toAPIError(r.error));
    else if (r.data) onData(r.data);
  });
  return unsubscribe;
}

// The superuser's file token (the admin mutation fileToken), for ?token=
// on protected files; it lives 3 minutes, so it is reused for 2.
let fileTok = null;

/** Resolves with a current file token of the signed-in superuser. */
export function fileToken() {
  const now = Date.now();
  if (!fileTok || fileTok.owner !== token || now - fileTok.at > 120_000) {
    const p = adminMutation('mutation FileToken { fileToken }').then((d) => d.fileToken);
    fileTok = { at: now, owner: token, p };
    p.catch(() => {
      if (fileTok?.p === p) fileTok = null;
    });
  }
  return fileTok.p;
}

/** Adds token=t to a file URL (which may already have a query). */
export const withToken = (url, t) => (t ? `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(t)}` : url);
