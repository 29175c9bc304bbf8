// Creating and editing a collection: name, type, fields with their
// options (reordered by dragging or with the move buttons), rules checked
// as they are typed, indexes, the view query, auth options; and delete.
import { useEffect, useRef, useState } from 'preact/hooks';
import { adminMutation, adminQuery } from './gql.js';
import { go } from './router.js';
import { Alert, Check, Input, Select, splitList } from './ui.jsx';
import { useSchema } from './app.jsx';

/** The auth emails a collection may override: [key, label, placeholders]. */
export const TEMPLATES = [
  ['verification', 'Verification email', '{TOKEN}'],
  ['resetPassword', 'Password reset email', '{TOKEN}'],
  ['confirmEmailChange', 'Email change confirmation', '{TOKEN}'],
  ['otp', 'One-time password email', '{OTP}'],
  ['authAlert', 'New sign-in alert email', ''],
];

/** The Collection fields the dashboard reads (a fragment named C). */
export const COLLECTION_FIELDS = `fragment C on Collection {
  id name type system indexes listRule viewRule createRule updateRule deleteRule authRule manageRule viewQuery
  fields { id name type required hidden system min max pattern autogeneratePattern onlyInt values maxSelect
    collection cascadeDelete maxSize mimeTypes thumbs protected onCreate onUpdate onlyDomains exceptDomains }
  authToken { duration } passwordAuth { enabled identityFields } otp { enabled duration length } mfa { enabled duration rule }
  oauth2 { enabled mappedFields { id name username avatarUrl }
    providers { name clientId clientSecretSet displayName pkce authUrl tokenUrl userInfoUrl scopes } }
  emailTemplates { ${TEMPLATES.map(([k]) => `${k} { subject body }`).join(' ')} }
}`;

export const FIELD_TYPES = ['TEXT', 'EDITOR', 'NUMBER', 'BOOL', 'EMAIL', 'URL', 'DATE', 'AUTODATE', 'SELECT', 'FILE', 'RELATION', 'JSON', 'GEOPOINT', 'PASSWORD'];

// The options each type takes, in the order the form shows them.
const OPTIONS = {
  TEXT: ['min', 'max', 'pattern', 'autogeneratePattern'],
  EDITOR: ['maxSize'],
  NUMBER: ['min', 'max', 'onlyInt'],
  BOOL: [],
  EMAIL: ['onlyDomains', 'exceptDomains'],
  URL: ['onlyDomains', 'exceptDomains'],
  DATE: [],
  AUTODATE: ['onCreate', 'onUpdate'],
  SELECT: ['values', 'maxSelect'],
  FILE: ['maxSelect', 'maxSize', 'mimeTypes', 'thumbs', 'protected'],
  RELATION: ['collection', 'maxSelect', 'cascadeDelete'],
  JSON: ['maxSize'],
  GEOPOINT: [],
  PASSWORD: ['min', 'max', 'pattern'],
};
const LISTS = new Set(['values', 'mimeTypes', 'thumbs', 'onlyDomains', 'exceptDomains']);
const BOOLS = new Set(['onlyInt', 'cascadeDelete', 'protected', 'onCreate', 'onUpdate']);
const INTS = new Set(['maxSelect', 'maxSize']);
const LABELS = {
  min: 'Min', max: 'Max', pattern: 'Pattern (regular expression)', autogeneratePattern: 'Autogenerate pattern',
  onlyInt: 'Integers only', values: 'Values (comma-separated)', maxSelect: 'Max select', collection: 'Related collection',
  cascadeDelete: 'Cascade delete', maxSize: 'Max size (bytes)', mimeTypes: 'MIME types (comma-separated)',
  thumbs: 'Thumb sizes (e.g. 100x100)', protected: 'Protected (token to download)', onCreate: 'Set on create',
  onUpdate: 'Set on update', onlyDomains: 'Only domains (comma-separated)', exceptDomains: 'Except domains (comma-separated)',
};

const RULES = [
  ['listRule', 'List rule'],
  ['viewRule', 'View rule'],
  ['createRule', 'Create rule'],
  ['updateRule', 'Update rule'],
  ['deleteRule', 'Delete rule'],
];
const AUTH_RULES = [
  ['authRule', 'Auth rule'],
  ['manageRule', 'Manage rule'],
];

let keySeq = 0;
const newKey = () => `k${++keySeq}`;

function draftOf(c) {
  if (!c) {
    return {
      name: '', type: 'BASE', fields: [], indexes: '', viewQuery: '',
      listRule: null, viewRule: null, createRule: null, updateRule: null, deleteRule: null, authRule: '', manageRule: null,
      authToken: { duration: 604800 }, passwordAuth: { enabled: true, identityFields: ['email'] },
      otp: { enabled: false, duration: 180, length: 8 }, mfa: { enabled: false, duration: 1800, rule: '' },
      oauth2: { enabled: false, mappedFields: {}, providers: [] }, emailTemplates: {},
    };
  }
  return {
    ...c,
    fields: c.fields.filter((f) => !f.system).map((f) => ({ ...f, key: newKey() })),
    indexes: (c.indexes || []).join('\n'),
    viewQuery: c.viewQuery || '',
    mfa: c.mfa ? { ...c.mfa, rule: c.mfa.rule || '' } : undefined,
    oauth2: {
      enabled: !!c.oauth2?.enabled,
      mappedFields: { ...(c.oauth2?.mappedFields || {}) },
      providers: (c.oauth2?.providers || []).map((p) => ({ ...p, key: newKey(), clientSecret: '' })),
    },
    emailTemplates: Object.fromEntries(Object.entries(c.emailTemplates || {}).filter(([, t]) => t).map(([k, t]) => [k, { subject: t.subject, body: t.body }])),
  };
}

function fieldInput(f) {
  const out = { name: f.name, type: f.type, required: !!f.required, hidden: !!f.hidden };
  if (f.id) out.id = f.id;
  for (const o of OPTIONS[f.type]) {
    const v = f[o];
    if (v === null || v === undefined || v === '') continue;
    out[o] = v;
  }
  return out;
}

/** The CollectionInput of a draft (rules as they are: null locks). */
export function collectionInput(d, existing) {
  const input = {
    name: d.name.trim(),
    type: d.type,
    fields: d.type === 'VIEW' ? undefined : d.fields.map(fieldInput),
    indexes: d.indexes.split('\n').map((s) => s.trim()).filter(Boolean),
  };
  if (existing) input.id = existing.id;
  for (const [k] of RULES) input[k] = d[k];
  if (d.type === 'AUTH') {
    for (const [k] of AUTH_RULES) input[k] = d[k];
    input.authToken = { duration: Number(d.authToken?.duration) || 604800 };
    input.passwordAuth = { enabled: !!d.passwordAuth?.enabled, identityFields: d.passwordAuth?.identityFields || ['email'] };
    input.otp = { enabled: !!d.otp?.enabled, duration: Number(d.otp?.duration) || 180, length: Number(d.otp?.length) || 8 };
    input.mfa = { enabled: !!d.mfa?.enabled, duration: Number(d.mfa?.duration) || 1800, rule: d.mfa?.rule || null };
    input.oauth2 = oauth2Input(d.oauth2);
    input.emailTemplates = Object.fromEntries(Object.entries(d.emailTemplates || {}).filter(([, t]) => t));
  }
  if (d.type === 'VIEW') input.viewQuery = d.viewQuery;
  return input;
}

const orNull = (s) => (s && String(s).trim() ? String(s).trim() : null);

// The OAuth2Input of a draft: a provider's secret only when a new one was
// typed (left out, the server keeps the stored one).
function oauth2Input(o) {
  if (!o) return undefined;
  const m = o.mappedFields || {};
  return {
    enabled: !!o.enabled,
    mappedFields: { id: orNull(m.id), name: orNull(m.name), username: orNull(m.username), avatarUrl: orNull(m.avatarUrl) },
    providers: (o.providers || []).map((p) => {
      const out = { name: p.name.trim(), clientId: p.clientId.trim(), pkce: p.pkce !== false, scopes: p.scopes || [] };
      if (p.clientSecret) out.clientSecret = p.clientSecret;
      for (const k of ['displayName', 'authUrl', 'tokenUrl', 'userInfoUrl']) out[k] = orNull(p[k]);
      return out;
    }),
  };
}

export function CollectionEditor({ collection }) {
  const { collections, reload } = useSchema();
  const [d, setD] = useState(() => draftOf(collection));
  const [error, setError] = useState(null);
  const [fe, setFe] = useState({});
  const [saved, setSaved] = useState('');
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [newType, setNewType] = useState('TEXT');
  const dragFrom = useRef(-1);
  const [dropAt, setDropAt] = useState(-1);
  const set = (patch) => setD((x) => ({ ...x, ...patch }));
  const setField = (i, patch) => setD((x) => ({ ...x, fields: x.fields.map((f, j) => (j === i ? { ...f, ...patch } : f)) }));
  const move = (from, to) =>
    setD((x) => {
      if (to < 0 || to >= x.fields.length || from === to) return x;
      const fields = [...x.fields];
      const [f] = fields.splice(from, 1);
      fields.splice(to, 0, f);
      return { ...x, fields };
    });

  async function save(e) {
    e.preventDefault();
    setError(null);
    setFe({});
    setSaved('');
    const input = collectionInput(d, collection);
    try {
      if (collection) {
        await adminMutation(`mutation Update($id: String!, $input: CollectionInput!) { updateCollection(idOrName: $id, input: $input) { id name } }`, {
          id: collection.id,
          input,
        });
        setSaved('Saved.');
        reload();
        if (input.name !== collection.name) go(`/collections/${input.name}/edit`);
      } else {
        const r = await adminMutation(`mutation Create($input: CollectionInput!) { createCollection(input: $input) { id name } }`, { input });
        reload();
        go(`/collections/${r.createCollection.name}/edit`);
      }
    } catch (err) {
      setError(err);
      setFe(err.fields || {});
    }
  }

  async function remove() {
    setError(null);
    try {
      await adminMutation(`mutation Delete($id: String!) { deleteCollection(idOrName: $id) }`, { id: collection.id });
      reload();
      go('/collections');
    } catch (err) {
      setError(err);
    }
  }

  const others = collections.filter((c) => !collection || c.id !== collection.id);
  const fieldErr = (i, k) => fe[`fields.${i}.${k}`]?.message;
  return (
    <form class="editor" onSubmit={save} aria-label={collection ? `Edit collection ${collection.name}` : 'New collection'}>
      {!collection && <h1>New collection</h1>}
      <section class="card">
        <div class="row">
          <Input label="Name" value={d.name} onInput={(v) => set({ name: v })} error={fe.name?.message} required />
          <Select
            label="Type"
            value={d.type}
            onChange={(v) => set({ type: v })}
            disabled={!!collection}
            options={[
              ['BASE', 'Base'],
              ['AUTH', 'Auth'],
              ['VIEW', 'View'],
            ]}
          />
        </div>
        {collection?.system && <p class="hint">A system collection: some changes are refused.</p>}
      </section>

      {d.type === 'VIEW' ? (
        <section class="card">
          <h2>View query</h2>
          <Input
            label="View query (SQL SELECT)"
            textarea
            rows={5}
            value={d.viewQuery}
            onInput={(v) => set({ viewQuery: v })}
            error={fe.viewQuery?.message}
            hint="The view's fields come from the columns of this query; it must select an id."
          />
        </section>
      ) : (
        <section class="card">
          <h2>Fields</h2>
          {collection && (
            <p class="hint">
              System fields: {collection.fields.filter((f) => f.system).map((f) => f.name).join(', ')}
            </p>
          )}
          {d.fields.length === 0 && <p class="hint">No fields yet.</p>}
          {d.fields.map((f, i) => (
            <fieldset
              key={f.key}
              class={`field-card${dropAt === i && dragFrom.current !== i ? ' drop-target' : ''}${dragFrom.current === i ? ' dragging' : ''}`}
              data-field-index={i}
            >
              <legend>
                <span
                  class="drag"
                  title="Drag to reorder"
                  aria-hidden="true"
                  onPointerDown={(e) => {
                    if (e.button !== 0) return;
                    e.preventDefault();
                    e.currentTarget.setPointerCapture(e.pointerId);
                    dragFrom.current = i;
                    setDropAt(i);
                  }}
                  onPointerMove={(e) => {
                    if (dragFrom.current < 0) return;
                    const card = document.elementFromPoint(e.clientX, e.clientY)?.closest('fieldset.field-card[data-field-index]');
                    if (card) setDropAt(Number(card.dataset.fieldIndex));
                  }}
                  onPointerUp={() => {
                    if (dragFrom.current >= 0 && dropAt >= 0) move(dragFrom.current, dropAt);
                    dragFrom.current = -1;
                    setDropAt(-1);
                  }}
                  onPointerCancel={() => {
                    dragFrom.current = -1;
                    setDropAt(-1);
                  }}
                >
                  ⠿
                </span>{' '}
                Field {i + 1} <span class="badge">{f.type.toLowerCase()}</span>
              </legend>
              <div class="row">
                <Input label="Name" value={f.name} onInput={(v) => setField(i, { name: v })} error={fieldErr(i, 'name')} required />
                <Select label="Field type" value={f.type} onChange={(v) => setField(i, { type: v })} options={FIELD_TYPES} disabled={!!f.id} />
              </div>
              <div class="row">
                <Check label="Required" checked={f.required} onChange={(v) => setField(i, { required: v })} />
                <Check label="Hidden" checked={f.hidden} onChange={(v) => setField(i, { hidden: v })} />
              </div>
              <div class="row wrap">
                {OPTIONS[f.type].map((o) => (
                  <FieldOption key={o} name={o} f={f} set={(v) => setField(i, { [o]: v })} others={others} error={fieldErr(i, o)} />
                ))}
              </div>
              <div class="row actions">
                <button type="button" onClick={() => move(i, i - 1)} disabled={i === 0} aria-label={`Move field ${f.name || i + 1} up`}>
                  Move up
                </button>
                <button type="button" onClick={() => move(i, i + 1)} disabled={i === d.fields.length - 1} aria-label={`Move field ${f.name || i + 1} down`}>
                  Move down
                </button>
                <button
                  type="button"
                  class="danger"
                  onClick={() => set({ fields: d.fields.filter((_, j) => j !== i) })}
                  aria-label={`Remove field ${f.name || i + 1}`}
                >
                  Remove
                </button>
              </div>
              {fe[`fields.${i}`] && <small class="error-text">{fe[`fields.${i}`].message}</small>}
            </fieldset>
          ))}
          <div class="row add-field">
            <Select label="New field type" value={newType} onChange={setNewType} options={FIELD_TYPES} />
            <button
              type="button"
              onClick={() =>
                set({
                  fields: [...d.fields, { key: newKey(), name: '', type: newType, required: false, hidden: false, ...(newType === 'AUTODATE' ? { onCreate: true } : {}) }],
                })
              }
            >
              Add field
            </button>
          </div>
        </section>
      )}

      <section class="card">
        <h2>API rules</h2>
        <p class="hint">
          Locked: superusers only. Empty: anyone, anonymous included. Otherwise a filter such as <code>@request.auth.id != ""</code>.
        </p>
        {[...RULES, ...(d.type === 'AUTH' ? AUTH_RULES : [])].map(([k, label]) => (
          <RuleInput key={k} name={k} label={label} value={d[k]} onChange={(v) => set({ [k]: v })} draft={() => collectionInput({ ...d, ...clearRules }, collection)} serverError={fe[k]?.message} />
        ))}
      </section>

      {d.type !== 'VIEW' && (
        <section class="card">
          <h2>Indexes</h2>
          <Input
            label="Indexes (one CREATE INDEX statement per line)"
            textarea
            rows={3}
            value={d.indexes}
            onInput={(v) => set({ indexes: v })}
            error={Object.entries(fe).find(([k]) => k.startsWith('indexes'))?.[1]?.message}
          />
        </section>
      )}

      {d.type === 'AUTH' && <AuthOptions d={d} set={set} />}
      {d.type === 'AUTH' && <OAuth2Options o={d.oauth2} set={(o) => set({ oauth2: o })} fe={fe} />}
      {d.type === 'AUTH' && <EmailTemplates t={d.emailTemplates || {}} set={(t) => set({ emailTemplates: t })} fe={fe} />}

      <Alert error={error} />
      {saved && (
        <p class="ok" role="status">
          {saved}
        </p>
      )}
      <div class="row actions sticky">
        <button type="submit" class="primary">
          {collection ? 'Save changes' : 'Create collection'}
        </button>
        {collection && !collection.system && !confirmDelete && (
          <button type="button" class="danger" onClick={() => setConfirmDelete(true)}>
            Delete collection
          </button>
        )}
        {confirmDelete && (
          <>
            <span>Delete {collection.name} and all its records?</span>
            <button type="button" class="danger" onClick={remove}>
              Confirm delete
            </button>
            <button type="button" onClick={() => setConfirmDelete(false)}>
              Cancel
            </button>
          </>
        )}
      </div>
    </form>
  );
}

const clearRules = { listRule: null, viewRule: null, createRule: null, updateRule: null, deleteRule: null, authRule: null, manageRule: null };

function FieldOption({ name, f, set, others, error }) {
  const label = LABELS[name];
  const v = f[name];
  if (BOOLS.has(name)) return <Check label={label} checked={v} onChange={set} />;
  if (name === 'collection') {
    return (
      <Select
        label={label}
        value={v || ''}
        onChange={set}
        options={[['', '(choose)'], ...others.map((c) => [c.id, c.name])]}
        aria-invalid={error ? 'true' : undefined}
      />
    );
  }
  if (LISTS.has(name)) return <Input label={label} value={(v || []).join(', ')} onInput={(s) => set(splitList(s))} error={error} />;
  if (INTS.has(name) || name === 'min' || name === 'max') {
    return <Input label={label} type="number" value={v ?? ''} onInput={(s) => set(s === '' ? null : INTS.has(name) ? parseInt(s, 10) : Number(s))} error={error} />;
  }
  return <Input label={label} value={v ?? ''} onInput={set} error={error} />;
}

/**
 * A rule: locked (null) or an expression ("" for anyone), checked with the
 * admin query checkRule as it is typed; the error shows with a caret
 * under its position.
 */
function RuleInput({ name, label, value, onChange, draft, serverError }) {
  const [check, setCheck] = useState(null);
  const locked = value === null || value === undefined;
  useEffect(() => {
    if (locked || !value.trim()) {
      setCheck(null);
      return;
    }
    let live = true;
    const t = setTimeout(async () => {
      try {
        const r = await adminQuery(`query CheckRule($c: CollectionInput!, $rule: String!) { checkRule(collection: $c, rule: $rule) { ok message position } }`, {
          c: draft(),
          rule: value,
        });
        if (live) setCheck(r.checkRule);
      } catch (err) {
        if (live) setCheck({ ok: false, message: err.message, position: 0 });
      }
    }, 250);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [value, locked]);
  const error = check && !check.ok ? check.message : serverError;
  return (
    <div class="rule">
      <Input
        label={label}
        value={locked ? '' : value}
        onInput={onChange}
        disabled={locked}
        placeholder={locked ? 'Superusers only' : 'Anyone (empty rule)'}
        error={error}
        spellcheck={false}
        autocomplete="off"
        data-rule={name}
      />
      {check && !check.ok && check.position > 0 && (
        <pre class="caret" aria-hidden="true">
          {value}
          {'\n'}
          {' '.repeat(check.position - 1)}^
        </pre>
      )}
      <Check label={`Lock ${label.toLowerCase()} (superusers only)`} checked={locked} onChange={(v) => onChange(v ? null : '')} />
    </div>
  );
}

function AuthOptions({ d, set }) {
  return (
    <section class="card">
      <h2>Auth options</h2>
      <div class="row wrap">
        <Input
          label="Token duration (seconds)"
          type="number"
          value={d.authToken?.duration ?? ''}
          onInput={(v) => set({ authToken: { duration: v } })}
        />
        <Check label="Password sign-in" checked={d.passwordAuth?.enabled} onChange={(v) => set({ passwordAuth: { ...d.passwordAuth, enabled: v } })} />
        <Input
          label="Identity fields (comma-separated)"
          value={(d.passwordAuth?.identityFields || []).join(', ')}
          onInput={(v) => set({ passwordAuth: { ...d.passwordAuth, identityFields: splitList(v) } })}
        />
      </div>
      <div class="row wrap">
        <Check label="One-time password sign-in" checked={d.otp?.enabled} onChange={(v) => set({ otp: { ...d.otp, enabled: v } })} />
        <Input label="OTP duration (seconds)" type="number" value={d.otp?.duration ?? ''} onInput={(v) => set({ otp: { ...d.otp, duration: v } })} />
        <Input label="OTP length" type="number" value={d.otp?.length ?? ''} onInput={(v) => set({ otp: { ...d.otp, length: v } })} />
      </div>
      <div class="row wrap">
        <Check label="Multi-factor sign-in" checked={d.mfa?.enabled} onChange={(v) => set({ mfa: { ...d.mfa, enabled: v } })} />
        <Input label="MFA duration (seconds)" type="number" value={d.mfa?.duration ?? ''} onInput={(v) => set({ mfa: { ...d.mfa, duration: v } })} />
        <Input label="MFA rule" value={d.mfa?.rule ?? ''} onInput={(v) => set({ mfa: { ...d.mfa, rule: v } })} />
      </div>
    </section>
  );
}

const KNOWN_PROVIDERS = ['google', 'github', 'facebook', 'microsoft', 'discord', 'yandex', 'twitch', 'patreon', 'battlenet', 'apple'];

/**
 * OAuth2 sign-in: on/off, the providers (client secrets are write-only:
 * a stored one shows as set, with an input to replace it) and the mapped
 * fields.
 */
function OAuth2Options({ o, set, fe }) {
  const providers = o.providers || [];
  const setP = (i, patch) => set({ ...o, providers: providers.map((p, j) => (j === i ? { ...p, ...patch } : p)) });
  const err = (i, k) => fe[`oauth2.providers.${i}.${k}`]?.message;
  return (
    <section class="card" aria-labelledby="oauth2-h">
      <h2 id="oauth2-h">OAuth2 sign-in</h2>
      <Check label="OAuth2 sign-in enabled" checked={o.enabled} onChange={(v) => set({ ...o, enabled: v })} />
      {providers.length === 0 && <p class="hint">No providers.</p>}
      {providers.map((p, i) => {
        const custom = p.name && !KNOWN_PROVIDERS.includes(p.name.trim());
        const title = p.name || `provider ${i + 1}`;
        return (
          <fieldset key={p.key} class="field-card" aria-label={`OAuth2 provider ${title}`}>
            <legend>Provider {title}</legend>
            <div class="row wrap top">
              <Input label="Provider name" value={p.name} onInput={(v) => setP(i, { name: v })} list="oauth2-known" error={err(i, 'name')} hint="google, github, … or a name of your own with its URLs" />
              <Input label="Display name" value={p.displayName ?? ''} onInput={(v) => setP(i, { displayName: v })} />
            </div>
            <div class="row wrap top">
              <Input label="Client ID" value={p.clientId} onInput={(v) => setP(i, { clientId: v })} autocomplete="off" error={err(i, 'clientId')} />
              <Input
                label={p.clientSecretSet ? 'Replace client secret' : 'Client secret'}
                type="password"
                autocomplete="new-password"
                value={p.clientSecret}
                onInput={(v) => setP(i, { clientSecret: v })}
                placeholder={p.clientSecretSet ? 'Leave empty to keep it' : ''}
                error={err(i, 'clientSecret')}
                hint={p.clientSecretSet ? 'A client secret is set (it is never shown).' : 'Write-only: it is never shown again.'}
              />
            </div>
            <div class="row wrap">
              <Check label="PKCE" checked={p.pkce !== false} onChange={(v) => setP(i, { pkce: v })} />
              <Input label="Scopes (comma-separated)" value={(p.scopes || []).join(', ')} onInput={(v) => setP(i, { scopes: splitList(v) })} />
            </div>
            {custom && (
              <div class="row wrap top">
                <Input label="Auth URL" type="url" value={p.authUrl ?? ''} onInput={(v) => setP(i, { authUrl: v })} error={err(i, 'authUrl')} />
                <Input label="Token URL" type="url" value={p.tokenUrl ?? ''} onInput={(v) => setP(i, { tokenUrl: v })} error={err(i, 'tokenUrl')} />
                <Input label="User info URL" type="url" value={p.userInfoUrl ?? ''} onInput={(v) => setP(i, { userInfoUrl: v })} error={err(i, 'userInfoUrl')} />
              </div>
            )}
            <button type="button" class="danger" onClick={() => set({ ...o, providers: providers.filter((_, j) => j !== i) })}>
              Remove provider {title}
            </button>
          </fieldset>
        );
      })}
      <datalist id="oauth2-known">
        {KNOWN_PROVIDERS.map((n) => (
          <option key={n} value={n} />
        ))}
      </datalist>
      <button
        type="button"
        onClick={() => set({ ...o, providers: [...providers, { key: newKey(), name: '', clientId: '', clientSecret: '', pkce: true, scopes: [] }] })}
      >
        Add OAuth2 provider
      </button>
      <h3>Mapped fields</h3>
      <p class="hint">Record fields that take the provider's user data on sign-up (empty: none).</p>
      <div class="row wrap top">
        {[
          ['id', 'Provider user id field'],
          ['name', 'Name field'],
          ['username', 'Username field'],
          ['avatarUrl', 'Avatar URL field'],
        ].map(([k, label]) => (
          <Input key={k} label={label} value={o.mappedFields?.[k] ?? ''} onInput={(v) => set({ ...o, mappedFields: { ...o.mappedFields, [k]: v } })} />
        ))}
      </div>
    </section>
  );
}

/** The auth emails: each either the default or a custom subject and body. */
function EmailTemplates({ t, set, fe }) {
  return (
    <section class="card" aria-labelledby="templates-h">
      <h2 id="templates-h">Email templates</h2>
      <p class="hint">
        Placeholders: <code>{'{APP_NAME}'}</code>, <code>{'{APP_URL}'}</code>, <code>{'{TOKEN}'}</code>, <code>{'{OTP}'}</code>,{' '}
        <code>{'{RECORD:<field>}'}</code>.
      </p>
      {TEMPLATES.map(([k, label, ph]) => {
        const cur = t[k];
        return (
          <fieldset key={k} class="field-card" aria-label={label}>
            <legend>{label}</legend>
            <Check
              label={`Custom ${label.toLowerCase()}`}
              checked={!!cur}
              onChange={(v) => set({ ...t, [k]: v ? { subject: '', body: ph ? `${ph}` : '' } : null })}
            />
            {cur ? (
              <>
                <Input label={`${label} subject`} value={cur.subject} onInput={(v) => set({ ...t, [k]: { ...cur, subject: v } })} error={fe[`emailTemplates.${k}.subject`]?.message} />
                <Input
                  label={`${label} body (HTML)`}
                  textarea
                  rows={5}
                  class="mono"
                  value={cur.body}
                  onInput={(v) => set({ ...t, [k]: { ...cur, body: v } })}
                  error={fe[`emailTemplates.${k}.body`]?.message}
                />
              </>
            ) : (
              <p class="hint">The default email is sent.</p>
            )}
          </fieldset>
        );
      })}
    </section>
  );
}
