// The backups screen: the list (name, size, date), create (optional name),
// download (GET /backups/{name}?token= with a fileToken), delete and
// restore (each confirmed inline), and upload (uploadBackup, a multipart
// request: urql's fetchExchange sends File variables by the GraphQL
// multipart request spec).
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { adminMutation, adminQuery } from './gql.js';
import { useSchema } from './app.jsx';
import { localTime } from './logs.jsx';
import { Alert, Input, useId, useLoad } from './ui.jsx';

const BACKUPS_QUERY = 'query Backups { backups { name size modified } }';

/** A byte count as "1.2 MB". */
export function humanSize(n) {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  do {
    v /= 1024;
    u++;
  } while (v >= 1024 && u < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

/** The backups screen. */
export function Backups() {
  const list = useLoad(() => adminQuery(BACKUPS_QUERY), []);
  const schema = useSchema();
  const [name, setName] = useState('');
  const [create, setCreate] = useState({ busy: false, error: null });
  const [status, setStatus] = useState('');
  const [confirm, setConfirm] = useState(null); // { action: 'delete' | 'restore', name }
  const [action, setAction] = useState({ busy: false, error: null });

  async function createBackup(e) {
    e.preventDefault();
    setCreate({ busy: true, error: null });
    setStatus('');
    try {
      const d = await adminMutation('mutation CreateBackup($name: String) { createBackup(name: $name) { name size } }', { name: name.trim() || null });
      setName('');
      setStatus(`Created ${d.createBackup.name} (${humanSize(d.createBackup.size)}).`);
      setCreate({ busy: false, error: null });
      list.reload();
    } catch (err) {
      setCreate({ busy: false, error: err });
    }
  }

  async function download(n) {
    setAction({ busy: true, error: null });
    try {
      const d = await adminMutation('mutation FileToken { fileToken }');
      const a = document.createElement('a');
      a.href = `/backups/${encodeURIComponent(n)}?token=${encodeURIComponent(d.fileToken)}`;
      a.download = n;
      document.body.append(a);
      a.click();
      a.remove();
      setAction({ busy: false, error: null });
    } catch (err) {
      setAction({ busy: false, error: err });
    }
  }

  async function confirmed() {
    const { action: what, name: n } = confirm;
    setAction({ busy: true, error: null });
    setStatus('');
    try {
      if (what === 'delete') {
        await adminMutation('mutation DeleteBackup($name: String!) { deleteBackup(name: $name) }', { name: n });
        setStatus(`Deleted ${n}.`);
      } else {
        await adminMutation('mutation RestoreBackup($name: String!) { restoreBackup(name: $name) }', { name: n });
        setStatus(`Restored ${n}: the data is now the backup's.`);
        schema.reload();
      }
      setConfirm(null);
      setAction({ busy: false, error: null });
      list.reload();
    } catch (err) {
      setAction({ busy: false, error: err });
    }
  }

  const items = list.data?.backups || [];
  return (
    <>
      <h1>Backups</h1>
      <div class="backup-forms">
        <form class="card" onSubmit={createBackup} aria-label="Create a backup">
          <h2>Create a backup</h2>
          <Input
            label="Backup name (optional)"
            value={name}
            onInput={setName}
            error={create.error?.fields?.name?.message}
            placeholder="mb_backup_YYYYMMDDhhmmss.zip"
            hint="Lowercase letters, digits, _ . - ending in .zip."
          />
          {!create.error?.fields?.name && <Alert error={create.error} />}
          <button type="submit" class="primary" disabled={create.busy}>
            {create.busy ? 'Creating…' : 'Create backup'}
          </button>
        </form>
        <UploadBackup
          done={(b) => {
            setStatus(`Uploaded ${b.name} (${humanSize(b.size)}).`);
            list.reload();
          }}
        />
      </div>
      <p role="status" class="ok status-line">
        {status}
      </p>
      <Alert error={list.error || action.error} />
      <div class="table-wrap">
        <table class="grid backups-table" aria-label="Backups" aria-busy={list.loading ? 'true' : 'false'}>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col" class="num">Size</th>
              <th scope="col">Date</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((b) => (
              <Fragment key={b.name}>
                <tr>
                  <td class="mono">{b.name}</td>
                  <td class="num nowrap">{humanSize(b.size)}</td>
                  <td class="nowrap">{localTime(b.modified)}</td>
                  <td>
                    <div class="row actions tight">
                      <button type="button" onClick={() => download(b.name)} aria-label={`Download ${b.name}`} disabled={action.busy}>
                        Download
                      </button>
                      <button type="button" onClick={() => setConfirm({ action: 'restore', name: b.name })} aria-label={`Restore ${b.name}`}>
                        Restore
                      </button>
                      <button type="button" class="danger" onClick={() => setConfirm({ action: 'delete', name: b.name })} aria-label={`Delete ${b.name}`}>
                        Delete
                      </button>
                    </div>
                  </td>
                </tr>
                {confirm?.name === b.name && (
                  <tr class="confirm-row">
                    <td colSpan={4}>
                      <div role="alertdialog" aria-label={`Confirm ${confirm.action}`} class="confirm">
                        <p>
                          {confirm.action === 'delete'
                            ? `Delete ${b.name}? This cannot be undone.`
                            : `Restore ${b.name}? The current data is replaced by the backup's and open connections are closed.`}
                        </p>
                        <div class="row actions">
                          <button type="button" class="danger" onClick={confirmed} disabled={action.busy}>
                            {confirm.action === 'delete' ? `Yes, delete ${b.name}` : `Yes, restore ${b.name}`}
                          </button>
                          <button type="button" onClick={() => setConfirm(null)}>
                            Cancel
                          </button>
                        </div>
                      </div>
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
            {items.length === 0 && !list.loading && (
              <tr>
                <td colSpan={4}>No backups yet.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </>
  );
}

function UploadBackup({ done }) {
  const id = useId('up');
  const [file, setFile] = useState(null);
  const [st, setSt] = useState({ busy: false, error: null });
  const [inputKey, setInputKey] = useState(0);
  async function upload(e) {
    e.preventDefault();
    if (!file) return;
    setSt({ busy: true, error: null });
    try {
      const d = await adminMutation('mutation UploadBackup($file: Upload!) { uploadBackup(file: $file) { name size } }', { file });
      setFile(null);
      setInputKey(inputKey + 1);
      setSt({ busy: false, error: null });
      done(d.uploadBackup);
    } catch (err) {
      setSt({ busy: false, error: err });
    }
  }
  const fieldErr = st.error?.fields?.file?.message;
  return (
    <form class="card" onSubmit={upload} aria-label="Upload a backup">
      <h2>Upload a backup</h2>
      <div class={`field${fieldErr ? ' has-error' : ''}`}>
        <label for={id}>Backup file (.zip)</label>
        <input
          key={inputKey}
          id={id}
          type="file"
          accept=".zip,application/zip"
          onChange={(e) => setFile(e.currentTarget.files?.[0] || null)}
          aria-invalid={fieldErr ? 'true' : undefined}
          aria-describedby={fieldErr ? `${id}-err` : undefined}
        />
        {fieldErr && (
          <small id={`${id}-err`} class="error-text">
            {fieldErr}
          </small>
        )}
      </div>
      {!fieldErr && <Alert error={st.error} />}
      <button type="submit" disabled={!file || st.busy}>
        {st.busy ? 'Uploading…' : 'Upload backup'}
      </button>
    </form>
  );
}
