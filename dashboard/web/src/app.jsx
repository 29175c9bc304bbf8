// The dashboard's shell: sign-in, first-run setup, and the signed-in
// layout (a sidebar of collections, the screen of the route).
import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import { adminMutation, adminQuery, getToken, onToken, setToken } from './gql.js';
import { go, href, useRoute } from './router.js';
import { Alert, Input, useLoad } from './ui.jsx';
import { CollectionEditor, COLLECTION_FIELDS } from './collections.jsx';
import { ApiPreview } from './preview.jsx';
import { Records } from './records.jsx';
import { Settings } from './settings.jsx';
import { Logs } from './logs.jsx';
import { Backups } from './backups.jsx';

/** What every signed-in screen reads: the collections, the application SDL, and reload(). */
export const Schema = createContext({ collections: [], sdl: '', reload: () => {} });
export const useSchema = () => useContext(Schema);

export function App() {
  const [token, set] = useState(getToken());
  useEffect(() => onToken(set), []);
  return token ? <Layout /> : <SignedOut />;
}

function SignedOut() {
  const route = useRoute();
  const setup = useLoad(() => adminQuery('query Setup { setupState { needsSuperuser loopback } }'), []);
  if (setup.loading && !setup.data) return <Centered><p>Loading…</p></Centered>;
  const state = setup.data?.setupState;
  if (state?.needsSuperuser) return <Setup loopback={state.loopback} token={route.query.get('token') || ''} />;
  return <SignIn />;
}

function Centered({ children }) {
  return (
    <main class="centered">
      <div class="card narrow">
        <h1 class="brand">Monobase</h1>
        {children}
      </div>
    </main>
  );
}

const AUTH_FIELDS = 'token record { id email }';

function SignIn() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const d = await adminMutation(
        `mutation SignIn($email: String!, $password: String!) { authWithPassword(email: $email, password: $password) { ${AUTH_FIELDS} } }`,
        { email, password },
      );
      if (!location.hash.startsWith('#/collections')) go('/collections');
      setToken(d.authWithPassword.token);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <Centered>
      <h2>Superuser sign-in</h2>
      <form onSubmit={submit}>
        <Input label="Email" type="email" value={email} onInput={setEmail} autocomplete="username" required />
        <Input label="Password" type="password" value={password} onInput={setPassword} autocomplete="current-password" required />
        <Alert error={error} />
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
      </form>
    </Centered>
  );
}

function Setup({ loopback, token }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  const [fields, setFields] = useState({});
  async function submit(e) {
    e.preventDefault();
    setError(null);
    setFields({});
    try {
      const d = await adminMutation(
        `mutation Setup($email: String!, $password: String!, $token: String) {
          createFirstSuperuser(email: $email, password: $password, setupToken: $token) { ${AUTH_FIELDS} } }`,
        { email, password, token: token || null },
      );
      go('/collections');
      setToken(d.createFirstSuperuser.token);
    } catch (err) {
      setError(err);
      setFields(err.fields || {});
    }
  }
  const allowed = loopback || token;
  return (
    <Centered>
      <h2>Create the first superuser</h2>
      {allowed ? (
        <p>No superuser exists yet. The account you create here can manage everything on this server.</p>
      ) : (
        <p class="warn">
          This page was not opened from the server itself. Open the one-time link that <code>monobase serve</code> printed,
          or run <code>monobase superuser upsert EMAIL PASSWORD</code>.
        </p>
      )}
      <form onSubmit={submit}>
        <Input label="Email" type="email" value={email} onInput={setEmail} autocomplete="username" required error={fields.email?.message} />
        <Input
          label="Password"
          type="password"
          value={password}
          onInput={setPassword}
          autocomplete="new-password"
          required
          error={fields.password?.message}
        />
        <Alert error={error} />
        <button type="submit" class="primary">
          Create superuser
        </button>
      </form>
    </Centered>
  );
}

const SCHEMA_QUERY = `query Schema { collections { ...C } schemaSDL } ${COLLECTION_FIELDS}`;

function Layout() {
  const route = useRoute();
  const schema = useLoad(() => adminQuery(SCHEMA_QUERY), []);
  const [menu, setMenu] = useState(false);
  useEffect(() => setMenu(false), [route.path]);
  const collections = schema.data?.collections || [];
  const ctx = { collections, sdl: schema.data?.schemaSDL || '', reload: schema.reload, loaded: !!schema.data };
  const [, section, name, tab] = ['', ...route.parts];
  const current = section === 'collections' ? name : '';
  return (
    <Schema.Provider value={ctx}>
      <div class="layout">
        <header class="topbar">
          <a class="brand" href={href('/collections')}>
            Monobase
          </a>
          <button type="button" class="menu-toggle" aria-expanded={menu} aria-controls="sidebar" onClick={() => setMenu(!menu)}>
            Menu
          </button>
          <button type="button" class="link" onClick={() => setToken('')}>
            Sign out
          </button>
        </header>
        <nav id="sidebar" class={`sidebar${menu ? ' open' : ''}`} aria-label="Collections">
          <h2>Collections</h2>
          <ul>
            {collections.map((c) => (
              <li key={c.id}>
                <a href={href(`/collections/${c.name}`)} aria-current={current === c.name ? 'page' : undefined}>
                  {c.name}
                  {c.type !== 'BASE' && ' '}
                  {c.type !== 'BASE' && <span class="badge">{c.type.toLowerCase()}</span>}
                </a>
              </li>
            ))}
          </ul>
          <a class="button" href={href('/collections/new')}>
            New collection
          </a>
          <h2>Tools</h2>
          <ul>
            {['settings', 'logs', 'backups'].map((s) => (
              <li key={s}>
                <a href={href(`/${s}`)} aria-current={section === s ? 'page' : undefined}>
                  {s[0].toUpperCase() + s.slice(1)}
                </a>
              </li>
            ))}
            <li>
              <a href="/playground">Playground</a>
            </li>
          </ul>
        </nav>
        <main class="content">
          <Alert error={schema.error} />
          {ctx.loaded && <Screen section={section} name={name} tab={tab} />}
        </main>
      </div>
    </Schema.Provider>
  );
}

function Screen({ section, name, tab }) {
  const { collections } = useSchema();
  if (section === 'settings') return <Settings tab={name || ''} />;
  if (section === 'logs') return <Logs />;
  if (section === 'backups') return <Backups />;
  if (section !== 'collections' || !name) {
    return <Overview />;
  }
  if (name === 'new') return <CollectionEditor key="new" />;
  const c = collections.find((x) => x.name === name || x.id === name);
  if (!c) return <Alert error={`No collection named ${name}.`} />;
  const tabs = [
    ['', 'Records'],
    ['edit', 'Edit collection'],
    ['api', 'API preview'],
  ];
  return (
    <>
      <div class="title-row">
        <h1>{c.name}</h1>
        <nav class="tabs" aria-label="Collection">
          {tabs.map(([t, label]) => (
            <a key={t} href={href(`/collections/${c.name}${t ? `/${t}` : ''}`)} aria-current={(tab || '') === t ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
      </div>
      {tab === 'edit' ? (
        <CollectionEditor key={c.id} collection={c} />
      ) : tab === 'api' ? (
        <ApiPreview collection={c} />
      ) : (
        <Records key={c.id} collection={c} />
      )}
    </>
  );
}

function Overview() {
  const { collections } = useSchema();
  return (
    <>
      <h1>Collections</h1>
      <table class="grid">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Type</th>
            <th scope="col">Fields</th>
          </tr>
        </thead>
        <tbody>
          {collections.map((c) => (
            <tr key={c.id}>
              <td>
                <a href={href(`/collections/${c.name}`)}>{c.name}</a>
              </td>
              <td>{c.type.toLowerCase()}</td>
              <td>{c.fields.filter((f) => !f.system).map((f) => f.name).join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        <a class="button primary" href={href('/collections/new')}>
          New collection
        </a>
      </p>
    </>
  );
}
