// A collection's records through the application API (/graphql, where the
// superuser token bypasses the rules): a table with a PocketBase-syntax
// filter, sort by column, paging and column choice, kept live by a
// subscription; and a form to create, edit and delete a record.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { appMutation, appQuery, appSubscribe, fileToken, withToken } from './gql.js';
import { useSchema } from './app.jsx';
import { namesFor } from './names.js';
import { Alert, Check, Input, Select, useId, useLoad } from './ui.jsx';
import { JsonEditor, RichText, jsonError, jsonErrorText } from './editors.jsx';

const PAGE = 20;
const SKIP_COLUMNS = new Set(['tokenKey', 'password']);

function thumbSize(f) {
  return f.thumbs?.[0] || '100x100';
}

/** The selection of one field in the records query. */
function fieldSelection(f) {
  switch (f.type) {
    case 'FILE':
      return `${f.name} { name url thumb: url(thumb: "${thumbSize(f)}") }`;
    case 'GEOPOINT':
      return `${f.name} { lon lat }`;
    case 'RELATION':
      return f.maxSelect > 1 ? `${f.name}Ids` : `${f.name}Id`;
    default:
      return f.name;
  }
}

/**
 * A file token while the collection has a protected file field (renewed
 * before it expires), else ''.
 */
function useFileToken(c) {
  const needed = c.fields.some((f) => f.type === 'FILE' && f.protected);
  const [t, setT] = useState('');
  useEffect(() => {
    if (!needed) return undefined;
    let live = true;
    const get = () => fileToken().then((x) => live && setT(x), () => live && setT(''));
    get();
    const timer = setInterval(get, 60_000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [needed]);
  return t;
}

const readable = (c) => c.fields.filter((f) => !SKIP_COLUMNS.has(f.name) && f.type !== 'PASSWORD');
const valueKey = (f) => (f.type === 'RELATION' ? (f.maxSelect > 1 ? `${f.name}Ids` : `${f.name}Id`) : f.name);

export function Records({ collection: c }) {
  const { sdl } = useSchema();
  const n = namesFor(sdl, c.name);
  const fields = readable(c);
  const hasCreated = fields.some((f) => f.name === 'created');
  const [filterText, setFilterText] = useState('');
  const [filter, setFilter] = useState('');
  const [sort, setSort] = useState(hasCreated ? '-created' : '');
  const [page, setPage] = useState(0);
  const [hidden, setHidden] = useState(() => new Set());
  const [editing, setEditing] = useState(null); // null, 'new' or a record
  const [live, setLive] = useState('');
  const [stale, setStale] = useState(false);
  const token = useFileToken(c);
  const defaultSort = hasCreated ? '-created' : '';
  const query = useMemo(
    () =>
      n &&
      `query Records($filter: String, $sort: String, $limit: Int, $offset: Int) {
        items: ${n.list}(filter: $filter, sort: $sort, limit: $limit, offset: $offset) { ${fields.map(fieldSelection).join(' ')} }
        total: ${n.aggregate}(filter: $filter) { count }
      }`,
    [sdl, c],
  );
  const data = useLoad(
    () => (query ? appQuery(query, { filter: filter || null, sort: sort || null, limit: PAGE, offset: page * PAGE }) : Promise.resolve(null)),
    [query, filter, sort, page],
  );
  useEffect(() => setStale(false), [query, filter, sort, page]);
  // The live handler reads the page as it is now.
  const view = useRef(null);
  view.current = { data: data.data, setData: data.setData, page, filter, sort, defaultSort };
  useEffect(() => {
    if (!n) return undefined;
    return appSubscribe(
      `subscription Live { event: ${n.changed} { action record { ${fields.map(fieldSelection).join(' ')} } } }`,
      {},
      (d) => {
        setLive(`${d.event.action.toLowerCase()} ${d.event.record.id}`);
        const next = applyChange(view.current, d.event);
        if (next === 'stale') setStale(true);
        else if (next) view.current.setData(next);
      },
      () => setLive(''),
    );
  }, [query]);

  if (!n) return <p>The collection {c.name} is not part of the application API.</p>;
  if (editing) {
    return (
      <RecordForm
        collection={c}
        names={n}
        record={editing === 'new' ? null : editing}
        done={() => {
          setEditing(null);
          data.reload();
        }}
      />
    );
  }
  const shown = fields.filter((f) => !hidden.has(f.name));
  const items = data.data?.items || [];
  const total = data.data?.total?.count ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE));
  const filterError = data.error && /filter|sort|position/i.test(data.error.message) ? data.error.message : '';
  return (
    <div class="records">
      <form
        class="row filter"
        onSubmit={(e) => {
          e.preventDefault();
          setPage(0);
          setFilter(filterText.trim());
        }}
      >
        <Input label="Filter" value={filterText} onInput={setFilterText} placeholder="e.g. title ~ 'abc' && views > 10" error={filterError} spellcheck={false} />
        <button type="submit">Apply filter</button>
        {c.type !== 'VIEW' && (
          <button type="button" class="primary" onClick={() => setEditing('new')}>
            New record
          </button>
        )}
      </form>
      {!filterError && <Alert error={data.error} />}
      <details class="columns">
        <summary>Columns</summary>
        <div class="row wrap">
          {fields.map((f) => (
            <Check
              key={f.name}
              label={`Show ${f.name}`}
              checked={!hidden.has(f.name)}
              onChange={(v) =>
                setHidden((h) => {
                  const x = new Set(h);
                  if (v) x.delete(f.name);
                  else x.add(f.name);
                  return x;
                })
              }
            />
          ))}
        </div>
      </details>
      <div class="table-wrap">
        <table class="grid" aria-label={`Records of ${c.name}`} aria-busy={data.loading ? 'true' : 'false'}>
          <thead>
            <tr>
              {shown.map((f) => {
                const dir = sort === f.name ? 'ascending' : sort === `-${f.name}` ? 'descending' : undefined;
                return (
                  <th key={f.name} scope="col" aria-sort={dir}>
                    {['JSON', 'FILE', 'GEOPOINT'].includes(f.type) || (f.type === 'RELATION' && f.maxSelect > 1) ? (
                      f.name
                    ) : (
                      <button type="button" class="link" onClick={() => setSort(sort === f.name ? `-${f.name}` : f.name)}>
                        {f.name}
                        <span class="visually-hidden"> (sort)</span>
                        {dir === 'ascending' ? ' ▲' : dir === 'descending' ? ' ▼' : ''}
                      </button>
                    )}
                  </th>
                );
              })}
              {c.type !== 'VIEW' && (
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {items.map((r) => (
              <tr key={r.id}>
                {shown.map((f) => (
                  <td key={f.name}>
                    <Cell f={f} v={r[valueKey(f)]} token={token} />
                  </td>
                ))}
                {c.type !== 'VIEW' && (
                  <td>
                    <button type="button" onClick={() => setEditing(r)} aria-label={`Edit record ${r.id}`}>
                      Edit
                    </button>
                  </td>
                )}
              </tr>
            ))}
            {items.length === 0 && !data.loading && (
              <tr>
                <td colSpan={shown.length + 1}>No records.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <div class="row pager">
        <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>
          Previous page
        </button>
        <span role="status">
          Page {page + 1} of {pages} · {total} records
        </span>
        <button type="button" disabled={page + 1 >= pages} onClick={() => setPage(page + 1)}>
          Next page
        </button>
        <span class="live" aria-live="polite">
          {live && `Live: ${live}`}
        </span>
        {stale && (
          <span class="stale" role="status">
            Records changed elsewhere.{' '}
            <button type="button" class="small" onClick={() => data.reload()}>
              Refresh records
            </button>
          </span>
        )}
      </div>
    </div>
  );
}

/**
 * Applies a live change to the page shown: an update of a shown row
 * replaces it in place, a delete removes it, a create on the first page in
 * the default order (newest first, no filter) goes on top. Returns the new
 * data, null when the page is unaffected, or 'stale' when the page may
 * have changed in a way only a reload can tell.
 */
export function applyChange(v, { action, record }) {
  const cur = v.data;
  if (!cur) return null;
  const items = cur.items || [];
  const total = cur.total?.count ?? 0;
  const i = items.findIndex((r) => r.id === record.id);
  const newestFirst = v.page === 0 && !v.filter && v.sort === v.defaultSort && v.sort === '-created';
  switch (action) {
    case 'UPDATE':
      if (i >= 0) return { ...cur, items: items.map((r, j) => (j === i ? record : r)) };
      return v.filter || v.sort !== v.defaultSort ? 'stale' : null;
    case 'DELETE':
      if (i >= 0) return { ...cur, items: items.filter((_, j) => j !== i), total: { ...cur.total, count: Math.max(0, total - 1) } };
      if (v.page > 0 || v.filter) return 'stale';
      return { ...cur, total: { ...cur.total, count: Math.max(0, total - 1) } };
    case 'CREATE':
      if (i >= 0) return { ...cur, items: items.map((r, j) => (j === i ? record : r)) };
      if (newestFirst) return { ...cur, items: [record, ...items].slice(0, PAGE), total: { ...cur.total, count: total + 1 } };
      return 'stale';
    default:
      return null;
  }
}

function Cell({ f, v, token }) {
  if (v === null || v === undefined) return <span class="muted">—</span>;
  switch (f.type) {
    case 'BOOL':
      return v ? 'yes' : 'no';
    case 'FILE': {
      const files = Array.isArray(v) ? v : [v];
      return (
        <span class="thumbs">
          {files.map((x) =>
            f.protected && !token ? (
              <span key={x.name}>{x.name}</span>
            ) : (
              <a key={x.name} href={f.protected ? withToken(x.url, token) : x.url} target="_blank" rel="noopener">
                <img src={f.protected ? withToken(x.thumb, token) : x.thumb} alt={x.name} width="40" height="40" loading="lazy" />
              </a>
            ),
          )}
        </span>
      );
    }
    case 'JSON':
    case 'GEOPOINT':
      return <code>{truncate(JSON.stringify(v), 60)}</code>;
    case 'EDITOR':
      return truncate(new DOMParser().parseFromString(String(v), 'text/html').body.textContent || '', 80);
    default:
      return Array.isArray(v) ? v.join(', ') : truncate(String(v), 80);
  }
}

const truncate = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

// The fields the form edits: the non-system ones, and for auth
// collections email, emailVisibility, verified and the password.
function editable(c) {
  return c.fields.filter(
    (f) => (!f.system || ['email', 'emailVisibility', 'verified'].includes(f.name)) && f.type !== 'AUTODATE' && f.name !== 'password',
  );
}

function toLocalDate(s) {
  if (!s) return '';
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return '';
  const p = (x) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function initial(f, r) {
  const v = r ? r[valueKey(f)] : null;
  switch (f.type) {
    case 'JSON':
      return v === null || v === undefined ? '' : JSON.stringify(v, null, 2);
    case 'DATE':
      return toLocalDate(v);
    case 'GEOPOINT':
      return v ? { lon: String(v.lon), lat: String(v.lat) } : { lon: '', lat: '' };
    case 'BOOL':
      return !!v;
    case 'FILE':
      return null; // new uploads; the stored files are in r
    case 'SELECT':
      return f.maxSelect > 1 ? v || [] : v ?? '';
    case 'RELATION':
      return f.maxSelect > 1 ? v || [] : v ?? '';
    default:
      return v === null || v === undefined ? '' : String(v);
  }
}

/** Converts the form value of f; throws a message for a bad one. */
function toInput(f, v) {
  switch (f.type) {
    case 'NUMBER':
      return v === '' ? null : Number(v);
    case 'BOOL':
      return !!v;
    case 'JSON':
      if (v.trim() === '') return null;
      {
        const bad = jsonError(v);
        if (bad) throw new Error(jsonErrorText(bad));
      }
      return JSON.parse(v);
    case 'DATE':
      return v ? new Date(v).toISOString() : null;
    case 'GEOPOINT':
      return v.lon === '' && v.lat === '' ? null : { lon: Number(v.lon), lat: Number(v.lat) };
    case 'SELECT':
    case 'RELATION':
      return Array.isArray(v) ? v : v === '' ? null : v;
    default:
      return v === '' ? null : v;
  }
}

function RecordForm({ collection: c, names: n, record, done }) {
  const fields = editable(c);
  const [values, setValues] = useState(() => Object.fromEntries(fields.map((f) => [f.name, initial(f, record)])));
  const [removed, setRemoved] = useState({}); // file field -> names to remove
  const [password, setPassword] = useState({ password: '', passwordConfirm: '' });
  const [error, setError] = useState(null);
  const [fe, setFe] = useState({});
  const [confirm, setConfirm] = useState(false);
  const auth = c.type === 'AUTH';
  const token = useFileToken(c);
  const set = (k, v) => setValues((x) => ({ ...x, [k]: v }));

  async function save(e) {
    e.preventDefault();
    setError(null);
    setFe({});
    const input = {};
    const bad = {};
    const start = Object.fromEntries(fields.map((f) => [f.name, initial(f, record)]));
    for (const f of fields) {
      const key = f.type === 'RELATION' ? f.name : f.name;
      if (f.type === 'FILE') {
        const chosen = values[f.name];
        const gone = removed[f.name] || [];
        if (f.maxSelect > 1) {
          if (chosen?.length) input[record ? `${f.name}Append` : f.name] = chosen;
          if (record && gone.length) input[`${f.name}Remove`] = gone;
        } else if (chosen?.length) input[f.name] = chosen[0];
        else if (record && gone.length) input[f.name] = null;
        continue;
      }
      if (record && JSON.stringify(values[f.name]) === JSON.stringify(start[f.name])) continue;
      try {
        input[key] = toInput(f, values[f.name]);
      } catch (err) {
        bad[f.name] = { message: err.message };
      }
    }
    if (auth && (password.password || !record)) {
      input.password = password.password;
      input.passwordConfirm = password.passwordConfirm;
    }
    if (Object.keys(bad).length) {
      setFe(bad);
      setError('Some values are not valid.');
      return;
    }
    try {
      if (record) {
        await appMutation(`mutation Update($id: ID!, $input: ${n.type}UpdateInput!) { r: ${n.update}(id: $id, input: $input) { id } }`, { id: record.id, input });
      } else {
        await appMutation(`mutation Create($input: ${n.type}CreateInput!) { r: ${n.create}(input: $input) { id } }`, { input });
      }
      done();
    } catch (err) {
      setError(err);
      const f = {};
      for (const [k, v] of Object.entries(err.fields || {})) f[k.replace(/^input\./, '')] = v;
      setFe(f);
    }
  }

  async function remove() {
    try {
      await appMutation(`mutation Delete($id: ID!) { r: ${n.delete}(id: $id) { id } }`, { id: record.id });
      done();
    } catch (err) {
      setError(err);
    }
  }

  return (
    <form class="card editor" onSubmit={save} aria-label={record ? `Edit record ${record.id}` : `New ${c.name} record`}>
      <h2>{record ? `Edit record ${record.id}` : `New ${c.name} record`}</h2>
      {fields.map((f) => (
        <FieldInput
          key={f.name}
          f={f}
          value={values[f.name]}
          set={(v) => set(f.name, v)}
          error={fe[f.name]?.message}
          record={record}
          removed={removed[f.name] || []}
          setRemoved={(list) => setRemoved((x) => ({ ...x, [f.name]: list }))}
          token={token}
        />
      ))}
      {auth && (
        <div class="row">
          <Input
            label={record ? 'New password' : 'Password'}
            type="password"
            autocomplete="new-password"
            value={password.password}
            onInput={(v) => setPassword((p) => ({ ...p, password: v }))}
            error={fe.password?.message}
          />
          <Input
            label="Password confirmation"
            type="password"
            autocomplete="new-password"
            value={password.passwordConfirm}
            onInput={(v) => setPassword((p) => ({ ...p, passwordConfirm: v }))}
            error={fe.passwordConfirm?.message}
          />
        </div>
      )}
      <Alert error={error} />
      <div class="row actions">
        <button type="submit" class="primary">
          {record ? 'Save record' : 'Create record'}
        </button>
        <button type="button" onClick={done}>
          Cancel
        </button>
        {record && !confirm && (
          <button type="button" class="danger" onClick={() => setConfirm(true)}>
            Delete record
          </button>
        )}
        {confirm && (
          <button type="button" class="danger" onClick={remove}>
            Confirm delete
          </button>
        )}
      </div>
    </form>
  );
}

function FieldInput({ f, value, set, error, record, removed, setRemoved, token }) {
  const label = `${f.name}${f.required ? ' *' : ''}`;
  switch (f.type) {
    case 'BOOL':
      return <Check label={label} checked={value} onChange={set} />;
    case 'NUMBER':
      return <Input label={label} type="number" step="any" value={value} onInput={set} error={error} />;
    case 'EDITOR':
      return <RichText label={label} value={value} onInput={set} error={error} />;
    case 'JSON':
      return <JsonEditor label={label} name={f.name} value={value} onInput={set} error={error} />;
    case 'EMAIL':
      return <Input label={label} type="email" value={value} onInput={set} error={error} />;
    case 'URL':
      return <Input label={label} type="url" value={value} onInput={set} error={error} />;
    case 'DATE':
      return <Input label={label} type="datetime-local" value={value} onInput={set} error={error} />;
    case 'SELECT':
      return <SelectInput f={f} label={label} value={value} set={set} error={error} />;
    case 'GEOPOINT':
      return (
        <fieldset class="row">
          <legend>{label}</legend>
          <Input label="Longitude" type="number" step="any" value={value.lon} onInput={(v) => set({ ...value, lon: v })} error={error} />
          <Input label="Latitude" type="number" step="any" value={value.lat} onInput={(v) => set({ ...value, lat: v })} />
        </fieldset>
      );
    case 'FILE':
      return <FileInput f={f} label={label} set={set} error={error} record={record} removed={removed} setRemoved={setRemoved} token={token} />;
    case 'RELATION':
      return <RelationPicker f={f} label={label} value={value} set={set} error={error} />;
    default:
      return <Input label={label} value={value} onInput={set} error={error} />;
  }
}

function SelectInput({ f, label, value, set, error }) {
  const id = useId();
  const multi = f.maxSelect > 1;
  return (
    <div class={`field${error ? ' has-error' : ''}`}>
      <label for={id}>{label}</label>
      <select
        id={id}
        multiple={multi}
        value={value}
        onChange={(e) => set(multi ? [...e.currentTarget.selectedOptions].map((o) => o.value) : e.currentTarget.value)}
      >
        {!multi && <option value="">(none)</option>}
        {(f.values || []).map((v) => (
          <option key={v} value={v}>
            {v}
          </option>
        ))}
      </select>
      {error && <small class="error-text">{error}</small>}
    </div>
  );
}

function FileInput({ f, label, set, error, record, removed, setRemoved, token }) {
  const id = useId();
  const [previews, setPreviews] = useState([]);
  useEffect(() => () => previews.forEach((p) => URL.revokeObjectURL(p.url)), [previews]);
  const stored = record?.[f.name] ? (Array.isArray(record[f.name]) ? record[f.name] : [record[f.name]]) : [];
  return (
    <div class={`field${error ? ' has-error' : ''}`}>
      <label for={id}>{label}</label>
      {stored.length > 0 && (
        <ul class="files">
          {stored.map((x) => (
            <li key={x.name}>
              {(!f.protected || token) && <img src={f.protected ? withToken(x.thumb, token) : x.thumb} alt="" width="48" height="48" />}
              <a href={f.protected ? withToken(x.url, token) : x.url} target="_blank" rel="noopener">
                {x.name}
              </a>
              <Check
                label={`Remove ${x.name}`}
                checked={removed.includes(x.name)}
                onChange={(v) => setRemoved(v ? [...removed, x.name] : removed.filter((y) => y !== x.name))}
              />
            </li>
          ))}
        </ul>
      )}
      <input
        id={id}
        type="file"
        multiple={f.maxSelect > 1}
        accept={f.mimeTypes?.length ? f.mimeTypes.join(',') : undefined}
        onChange={(e) => {
          const files = [...e.currentTarget.files];
          set(files);
          setPreviews(files.map((file) => ({ name: file.name, url: file.type.startsWith('image/') ? URL.createObjectURL(file) : '' })));
        }}
      />
      {previews.length > 0 && (
        <ul class="files" aria-label={`Chosen files for ${f.name}`}>
          {previews.map((p) => (
            <li key={p.name}>
              {p.url && <img src={p.url} alt={`Preview of ${p.name}`} width="48" height="48" />}
              {p.name}
            </li>
          ))}
        </ul>
      )}
      {error && <small class="error-text">{error}</small>}
    </div>
  );
}

/** Picks records of the relation's target, searched by id or its first text field. */
function RelationPicker({ f, label, value, set, error }) {
  const { collections, sdl } = useSchema();
  const target = collections.find((c) => c.id === f.collection);
  const tn = target && namesFor(sdl, target.name);
  const text = target?.fields.find((x) => ['TEXT', 'EMAIL'].includes(x.type) && !x.hidden && x.name !== 'id');
  const [q, setQ] = useState('');
  const multi = f.maxSelect > 1;
  const esc = (s) => s.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
  const options = useLoad(async () => {
    if (!tn) return [];
    const filter = q ? [`id ~ '${esc(q)}'`, text ? `${text.name} ~ '${esc(q)}'` : ''].filter(Boolean).join(' || ') : null;
    const d = await appQuery(`query Pick($filter: String) { items: ${tn.list}(filter: $filter, limit: 20) { id ${text ? text.name : ''} } }`, { filter });
    return d.items;
  }, [tn?.list, q]);
  const id = useId();
  const chosen = multi ? value : value ? [value] : [];
  const list = options.data || [];
  const shown = [...chosen.filter((x) => !list.some((o) => o.id === x)).map((x) => ({ id: x })), ...list];
  return (
    <fieldset class={`relation${error ? ' has-error' : ''}`}>
      <legend>{label}</legend>
      <Input label={`Search ${target?.name || 'records'}`} type="search" value={q} onInput={setQ} />
      <div class="field">
        <label for={id}>{`Choose ${f.name}`}</label>
        <select
          id={id}
          multiple={multi}
          value={multi ? value : value || ''}
          onChange={(e) => set(multi ? [...e.currentTarget.selectedOptions].map((o) => o.value) : e.currentTarget.value)}
        >
          {!multi && <option value="">(none)</option>}
          {shown.map((o) => (
            <option key={o.id} value={o.id}>
              {text && o[text.name] ? `${o[text.name]} (${o.id})` : o.id}
            </option>
          ))}
        </select>
      </div>
      {error && <small class="error-text">{error}</small>}
    </fieldset>
  );
}
