// The settings screen: one tab per group of the admin API's settings
// (application, mail, file storage, backups, logs, limits, network), each
// a form that saves its group alone with updateSettings and shows the
// BAD_USER_INPUT messages next to their fields; the mail and S3 tests.
// Secrets are write-only: the form shows whether one is stored.
import { useState } from 'preact/hooks';
import { adminMutation, adminQuery } from './gql.js';
import { href } from './router.js';
import { Alert, Check, Input, Select, splitList, useLoad } from './ui.jsx';

const SETTINGS_FIELDS = `
fragment S3Fields on S3Settings { enabled bucket region endpoint accessKey secretSet forcePathStyle }
fragment SettingsFields on Settings {
  meta { appName appUrl senderName senderAddress }
  smtp { enabled host port username passwordSet tls authMethod localName }
  s3 { ...S3Fields }
  backups { cron maxKeep s3 { ...S3Fields } }
  logs { maxDays minLevel logIp logAuthId }
  limits { maxDepth maxComplexity maxLimit maxBodySize introspection }
  rateLimits { enabled rules { label maxRequests duration audience } }
  cors { allowedOrigins fromCommandLine }
  trustedProxy { headers useLeftmostIp }
}`;
const SETTINGS_QUERY = `query Settings { settings { ...SettingsFields } } ${SETTINGS_FIELDS}`;
const SAVE = `mutation SaveSettings($input: SettingsInput!) { updateSettings(input: $input) { ...SettingsFields } } ${SETTINGS_FIELDS}`;

const TABS = [
  ['', 'Application'],
  ['mail', 'Mail'],
  ['storage', 'File storage'],
  ['backups', 'Backups'],
  ['logs', 'Logs'],
  ['limits', 'Limits'],
  ['network', 'Network'],
];

const LEVELS = [
  ['-4', 'DEBUG'],
  ['0', 'INFO'],
  ['4', 'WARN'],
  ['8', 'ERROR'],
];

/** The settings screen; tab is the route part after /settings. */
export function Settings({ tab = '' }) {
  const load = useLoad(() => adminQuery(SETTINGS_QUERY), []);
  const [saved, setSaved] = useState(null);
  const s = saved || load.data?.settings;
  const Tab = { '': MetaForm, mail: MailForm, storage: StorageForm, backups: BackupsForm, logs: LogsForm, limits: LimitsForm, network: NetworkForm }[tab];
  return (
    <>
      <div class="title-row">
        <h1>Settings</h1>
        <nav class="tabs" aria-label="Settings">
          {TABS.map(([t, label]) => (
            <a key={t} href={href(`/settings${t ? `/${t}` : ''}`)} aria-current={tab === t ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
      </div>
      <Alert error={load.error} />
      {!Tab && <Alert error={`No settings tab named ${tab}.`} />}
      {s && Tab && <Tab key={tab} settings={s} onSaved={setSaved} />}
      {!s && load.loading && <p>Loading…</p>}
    </>
  );
}

/**
 * The state of one group's form: the draft, and the outcome of the last
 * save (error, per-field messages keyed as the API names them, "Saved.").
 */
function useGroup(initial, onSaved) {
  const [draft, setDraft] = useState(initial);
  const [st, setSt] = useState({ busy: false, error: null, fields: {}, ok: '' });
  const set = (k) => (v) => setDraft((d) => ({ ...d, [k]: v }));
  /** build(draft, int) returns the SettingsInput; int(v, key) reads a whole number or marks key. */
  async function save(e, build, after) {
    e?.preventDefault();
    const local = {};
    const int = (v, key) => {
      const t = String(v ?? '').trim();
      if (!/^-?\d+$/.test(t)) {
        local[key] = { message: 'must be a whole number' };
        return 0;
      }
      return Number(t);
    };
    const input = build(draft, int);
    if (Object.keys(local).length) {
      setSt({ busy: false, error: new Error('Some values are not valid; see the messages by the fields.'), fields: local, ok: '' });
      return;
    }
    setSt({ busy: true, error: null, fields: {}, ok: '' });
    try {
      const d = await adminMutation(SAVE, { input });
      onSaved(d.updateSettings);
      after?.(d.updateSettings);
      setSt({ busy: false, error: null, fields: {}, ok: 'Saved.' });
    } catch (err) {
      setSt({ busy: false, error: err, fields: err.fields || {}, ok: '' });
    }
  }
  const fe = (key) => st.fields[key]?.message;
  /** The messages of key and of its items (key.0, key.1: "item 1: ..."), joined. */
  const feList = (key) =>
    Object.entries(st.fields)
      .filter(([k]) => k === key || k.startsWith(`${key}.`))
      .map(([k, v]) => (k === key ? v.message : `item ${Number(k.slice(key.length + 1)) + 1}: ${v.message}`))
      .join('; ') || undefined;
  return { draft, setDraft, set, save, fe, feList, ...st };
}

/** The outcome line under a form: the error banner or a "Saved." status. */
function Outcome({ g }) {
  return (
    <>
      <Alert error={g.error} />
      <p role="status" class="ok status-line">
        {g.ok}
      </p>
    </>
  );
}

function SaveButton({ g, label }) {
  return (
    <button type="submit" class="primary" disabled={g.busy}>
      {label}
    </button>
  );
}

function MetaForm({ settings, onSaved }) {
  const g = useGroup({ ...settings.meta }, onSaved);
  const d = g.draft;
  return (
    <form class="card settings-form" onSubmit={(e) => g.save(e, (x) => ({ meta: x }))} aria-label="Application settings">
      <h2>Application</h2>
      <div class="row">
        <Input label="Application name" value={d.appName} onInput={g.set('appName')} error={g.fe('meta.appName')} />
        <Input label="Application URL" value={d.appUrl} onInput={g.set('appUrl')} error={g.fe('meta.appUrl')} hint="The base of the links in emails." />
      </div>
      <div class="row">
        <Input label="Sender name" value={d.senderName} onInput={g.set('senderName')} error={g.fe('meta.senderName')} />
        <Input label="Sender address" type="email" value={d.senderAddress} onInput={g.set('senderAddress')} error={g.fe('meta.senderAddress')} />
      </div>
      <Outcome g={g} />
      <SaveButton g={g} label="Save application settings" />
    </form>
  );
}

function smtpDraft(s) {
  return { ...s, port: String(s.port), password: '', clearPassword: false };
}

function MailForm({ settings, onSaved }) {
  const g = useGroup(smtpDraft(settings.smtp), onSaved);
  const d = g.draft;
  const build = (x, int) => {
    const { passwordSet, clearPassword, password, ...rest } = x;
    const smtp = { ...rest, port: int(x.port, 'smtp.port') };
    if (clearPassword) smtp.password = '';
    else if (password) smtp.password = password;
    return { smtp };
  };
  return (
    <>
      <form class="card settings-form" onSubmit={(e) => g.save(e, build, (s) => g.setDraft(smtpDraft(s.smtp)))} aria-label="Mail settings">
        <h2>Mail (SMTP)</h2>
        <Check label="Send emails through SMTP" checked={d.enabled} onChange={g.set('enabled')} />
        <div class="row">
          <Input label="SMTP host" value={d.host} onInput={g.set('host')} error={g.fe('smtp.host')} />
          <Input label="SMTP port" type="number" inputMode="numeric" value={d.port} onInput={g.set('port')} error={g.fe('smtp.port')} />
        </div>
        <div class="row">
          <Input label="SMTP username" value={d.username} onInput={g.set('username')} error={g.fe('smtp.username')} autocomplete="off" />
          <Input
            label="SMTP password"
            type="password"
            value={d.password}
            onInput={g.set('password')}
            error={g.fe('smtp.password')}
            autocomplete="new-password"
            disabled={d.clearPassword}
            hint={settings.smtp.passwordSet ? 'A password is set; leave blank to keep it.' : 'No password is set.'}
          />
        </div>
        {settings.smtp.passwordSet && <Check label="Clear the stored password" checked={d.clearPassword} onChange={g.set('clearPassword')} />}
        <div class="row">
          <Select label="SMTP auth method" value={d.authMethod} onChange={g.set('authMethod')} options={['PLAIN', 'LOGIN']} />
          <Input label="EHLO name" value={d.localName} onInput={g.set('localName')} error={g.fe('smtp.localName')} hint="Blank: the default." />
        </div>
        <Check label="Implicit TLS (port 465); otherwise STARTTLS when offered" checked={d.tls} onChange={g.set('tls')} />
        <Outcome g={g} />
        <SaveButton g={g} label="Save mail settings" />
      </form>
      <TestEmail />
    </>
  );
}

const TEMPLATES = [
  ['VERIFICATION', 'Verification'],
  ['RESET_PASSWORD', 'Password reset'],
  ['CONFIRM_EMAIL_CHANGE', 'Email change'],
  ['OTP', 'One-time password'],
  ['AUTH_ALERT', 'Sign-in alert'],
];

function TestEmail() {
  const [to, setTo] = useState('');
  const [template, setTemplate] = useState('VERIFICATION');
  const [st, setSt] = useState({ busy: false, error: null, ok: '' });
  async function send(e) {
    e.preventDefault();
    setSt({ busy: true, error: null, ok: '' });
    try {
      await adminMutation('mutation TestEmail($to: String!, $t: EmailTemplateKind!) { testEmail(to: $to, template: $t) }', { to, t: template });
      setSt({ busy: false, error: null, ok: `Test email sent to ${to}.` });
    } catch (err) {
      setSt({ busy: false, error: err, ok: '' });
    }
  }
  return (
    <form class="card settings-form" onSubmit={send} aria-label="Test email">
      <h2>Test email</h2>
      <p class="muted">Sends a template with a sample token through the saved SMTP settings.</p>
      <div class="row">
        <Input label="Send test email to" type="email" value={to} onInput={setTo} required error={st.error?.fields?.to?.message} />
        <Select label="Email template" value={template} onChange={setTemplate} options={TEMPLATES} />
      </div>
      <Alert error={st.error} />
      <p role="status" class="ok status-line">
        {st.ok}
      </p>
      <button type="submit" disabled={st.busy}>
        {st.busy ? 'Sending…' : 'Send test email'}
      </button>
    </form>
  );
}

const s3Draft = (s) => ({ ...s, secret: '', clearSecret: false });

/** The S3SettingsInput of an S3 draft (secret: blank keeps the stored one). */
function s3Input(x) {
  const { secretSet, clearSecret, secret, ...rest } = x;
  const out = { ...rest };
  if (clearSecret) out.secret = '';
  else if (secret) out.secret = secret;
  return out;
}

/** The fields of an S3 bucket; prefix is the settings group (s3 or backups.s3), what names it in labels. */
function S3Fields({ value: d, stored, onChange, fe, prefix, what }) {
  const set = (k) => (v) => onChange({ ...d, [k]: v });
  return (
    <>
      <Check label={`Store ${what} in S3`} checked={d.enabled} onChange={set('enabled')} />
      <div class="row">
        <Input label="S3 endpoint" value={d.endpoint} onInput={set('endpoint')} error={fe(`${prefix}.endpoint`)} placeholder="https://s3.us-east-1.amazonaws.com" />
        <Input label="S3 bucket" value={d.bucket} onInput={set('bucket')} error={fe(`${prefix}.bucket`)} />
        <Input label="S3 region" value={d.region} onInput={set('region')} error={fe(`${prefix}.region`)} />
      </div>
      <div class="row">
        <Input label="S3 access key" value={d.accessKey} onInput={set('accessKey')} error={fe(`${prefix}.accessKey`)} autocomplete="off" />
        <Input
          label="S3 secret"
          type="password"
          value={d.secret}
          onInput={set('secret')}
          error={fe(`${prefix}.secret`)}
          autocomplete="new-password"
          disabled={d.clearSecret}
          hint={stored.secretSet ? 'A secret is set; leave blank to keep it.' : 'No secret is set.'}
        />
      </div>
      {stored.secretSet && <Check label="Clear the stored secret" checked={d.clearSecret} onChange={set('clearSecret')} />}
      <Check label="Force path-style addressing (MinIO and most self-hosted stores)" checked={d.forcePathStyle} onChange={set('forcePathStyle')} />
    </>
  );
}

/** The testS3 button of a target (FILES or BACKUPS), with its outcome. */
function TestS3({ target, label }) {
  const [st, setSt] = useState({ busy: false, error: null, ok: '' });
  async function run() {
    setSt({ busy: true, error: null, ok: '' });
    try {
      await adminMutation('mutation TestS3($t: S3Target!) { testS3(target: $t) }', { t: target });
      setSt({ busy: false, error: null, ok: 'The S3 connection works: a test object was written, read back and deleted.' });
    } catch (err) {
      setSt({ busy: false, error: err, ok: '' });
    }
  }
  return (
    <div class="s3-test">
      <button type="button" onClick={run} disabled={st.busy}>
        {label}
      </button>
      <span class="muted"> Tests the saved settings.</span>
      <Alert error={st.error} />
      <p role="status" class="ok status-line">
        {st.ok}
      </p>
    </div>
  );
}

function StorageForm({ settings, onSaved }) {
  const g = useGroup(s3Draft(settings.s3), onSaved);
  return (
    <form
      class="card settings-form"
      onSubmit={(e) => g.save(e, (x) => ({ s3: s3Input(x) }), (s) => g.setDraft(s3Draft(s.s3)))}
      aria-label="File storage settings"
    >
      <h2>File storage</h2>
      <p class="muted">Off: the record files are kept in the data folder (storage/).</p>
      <S3Fields value={g.draft} stored={settings.s3} onChange={g.setDraft} fe={g.fe} prefix="s3" what="files" />
      <Outcome g={g} />
      <div class="row actions">
        <SaveButton g={g} label="Save file storage settings" />
      </div>
      <TestS3 target="FILES" label="Test S3 connection" />
    </form>
  );
}

const backupsDraft = (b) => ({ cron: b.cron, maxKeep: String(b.maxKeep), s3: s3Draft(b.s3) });

function BackupsForm({ settings, onSaved }) {
  const g = useGroup(backupsDraft(settings.backups), onSaved);
  const d = g.draft;
  const build = (x, int) => ({ backups: { cron: x.cron, maxKeep: int(x.maxKeep, 'backups.maxKeep'), s3: s3Input(x.s3) } });
  return (
    <form class="card settings-form" onSubmit={(e) => g.save(e, build, (s) => g.setDraft(backupsDraft(s.backups)))} aria-label="Backup settings">
      <h2>Scheduled backups</h2>
      <div class="row">
        <Input
          label="Backup schedule (cron)"
          value={d.cron}
          onInput={g.set('cron')}
          error={g.fe('backups.cron')}
          placeholder="0 3 * * *"
          hint="Five fields (minute hour day month weekday) or @daily, @every 6h; blank: none."
        />
        <Input label="Backups to keep" type="number" inputMode="numeric" value={d.maxKeep} onInput={g.set('maxKeep')} error={g.fe('backups.maxKeep')} />
      </div>
      <h3>Backups bucket</h3>
      <S3Fields value={d.s3} stored={settings.backups.s3} onChange={g.set('s3')} fe={g.fe} prefix="backups.s3" what="backups" />
      <Outcome g={g} />
      <SaveButton g={g} label="Save backup settings" />
      <TestS3 target="BACKUPS" label="Test backups S3 connection" />
    </form>
  );
}

function LogsForm({ settings, onSaved }) {
  const l = settings.logs;
  const g = useGroup({ ...l, maxDays: String(l.maxDays), minLevel: String(l.minLevel) }, onSaved);
  const d = g.draft;
  const build = (x, int) => ({ logs: { maxDays: int(x.maxDays, 'logs.maxDays'), minLevel: Number(x.minLevel), logIp: x.logIp, logAuthId: x.logAuthId } });
  return (
    <form class="card settings-form" onSubmit={(e) => g.save(e, build)} aria-label="Log settings">
      <h2>Request logs</h2>
      <div class="row">
        <Input
          label="Days to keep logs"
          type="number"
          inputMode="numeric"
          value={d.maxDays}
          onInput={g.set('maxDays')}
          error={g.fe('logs.maxDays')}
          hint="0: no request logs."
        />
        <Select label="Lowest level kept" value={d.minLevel} onChange={g.set('minLevel')} options={LEVELS} />
      </div>
      <Check label="Keep the client IP addresses" checked={d.logIp} onChange={g.set('logIp')} />
      <Check label="Keep who made each request (collection:id)" checked={d.logAuthId} onChange={g.set('logAuthId')} />
      {g.fe('logs.minLevel') && <p class="error-text">Lowest level: {g.fe('logs.minLevel')}</p>}
      <Outcome g={g} />
      <SaveButton g={g} label="Save log settings" />
    </form>
  );
}

const limitsDraft = (s) => ({
  limits: Object.fromEntries(Object.entries(s.limits).map(([k, v]) => [k, typeof v === 'number' ? String(v) : v])),
  rl: { enabled: s.rateLimits.enabled, rules: s.rateLimits.rules.map((r) => ({ ...r, maxRequests: String(r.maxRequests), duration: String(r.duration), audience: r.audience || '' })) },
});

function LimitsForm({ settings, onSaved }) {
  const g = useGroup(limitsDraft(settings), onSaved);
  const { limits: l, rl } = g.draft;
  const setL = (k) => (v) => g.setDraft((d) => ({ ...d, limits: { ...d.limits, [k]: v } }));
  const setRL = (rl2) => g.setDraft((d) => ({ ...d, rl: rl2 }));
  const setRule = (i, k) => (v) => setRL({ ...rl, rules: rl.rules.map((r, j) => (j === i ? { ...r, [k]: v } : r)) });
  const build = (x, int) => ({
    limits: {
      maxDepth: int(x.limits.maxDepth, 'limits.maxDepth'),
      maxComplexity: int(x.limits.maxComplexity, 'limits.maxComplexity'),
      maxLimit: int(x.limits.maxLimit, 'limits.maxLimit'),
      maxBodySize: int(x.limits.maxBodySize, 'limits.maxBodySize'),
      introspection: x.limits.introspection,
    },
    rateLimits: {
      enabled: x.rl.enabled,
      rules: x.rl.rules.map((r, i) => ({
        label: r.label,
        maxRequests: int(r.maxRequests, `rateLimits.rules.${i}.maxRequests`),
        duration: int(r.duration, `rateLimits.rules.${i}.duration`),
        audience: r.audience || null,
      })),
    },
  });
  const ruleErr = (i, k) => g.fe(`rateLimits.rules.${i}.${k}`);
  return (
    <form class="card settings-form" onSubmit={(e) => g.save(e, build, (s) => g.setDraft(limitsDraft(s)))} aria-label="Limit settings">
      <h2>Request limits of /graphql</h2>
      <div class="row">
        <Input label="Maximum depth" type="number" value={l.maxDepth} onInput={setL('maxDepth')} error={g.fe('limits.maxDepth')} />
        <Input label="Maximum complexity" type="number" value={l.maxComplexity} onInput={setL('maxComplexity')} error={g.fe('limits.maxComplexity')} />
        <Input label="Maximum page size" type="number" value={l.maxLimit} onInput={setL('maxLimit')} error={g.fe('limits.maxLimit')} />
        <Input label="Maximum body size (bytes)" type="number" value={l.maxBodySize} onInput={setL('maxBodySize')} error={g.fe('limits.maxBodySize')} />
      </div>
      <Check label="Anonymous introspection" checked={l.introspection} onChange={setL('introspection')} />
      <h2>Rate limits</h2>
      <Check label="Enforce rate limits" checked={rl.enabled} onChange={(v) => setRL({ ...rl, enabled: v })} />
      {rl.rules.map((r, i) => (
        <fieldset key={i} class="row rule-row">
          <legend>Rule {i + 1}</legend>
          <Input label="Label" value={r.label} onInput={setRule(i, 'label')} error={ruleErr(i, 'label')} hint="users:auth, *:create, /graphql, /files/" />
          <Input label="Requests" type="number" value={r.maxRequests} onInput={setRule(i, 'maxRequests')} error={ruleErr(i, 'maxRequests')} />
          <Input label="Per seconds" type="number" value={r.duration} onInput={setRule(i, 'duration')} error={ruleErr(i, 'duration')} />
          <Select
            label="Audience"
            value={r.audience}
            onChange={setRule(i, 'audience')}
            options={[
              ['', 'Everyone'],
              ['GUEST', 'Guests'],
              ['AUTH', 'Signed in'],
            ]}
          />
          <button type="button" onClick={() => setRL({ ...rl, rules: rl.rules.filter((_, j) => j !== i) })}>
            Remove rule {i + 1}
          </button>
        </fieldset>
      ))}
      <p>
        <button type="button" onClick={() => setRL({ ...rl, rules: [...rl.rules, { label: '', maxRequests: '60', duration: '60', audience: '' }] })}>
          Add rule
        </button>
      </p>
      <Outcome g={g} />
      <SaveButton g={g} label="Save limits" />
    </form>
  );
}

const networkDraft = (s) => ({
  origins: s.cors.allowedOrigins.join('\n'),
  headers: s.trustedProxy.headers.join(', '),
  useLeftmostIp: s.trustedProxy.useLeftmostIp,
});

function NetworkForm({ settings, onSaved }) {
  const g = useGroup(networkDraft(settings), onSaved);
  const d = g.draft;
  const fixed = settings.cors.fromCommandLine;
  const build = (x) => {
    const input = { trustedProxy: { headers: splitList(x.headers), useLeftmostIp: x.useLeftmostIp } };
    if (!fixed) input.cors = { allowedOrigins: x.origins.split('\n').map((o) => o.trim()).filter(Boolean) };
    return input;
  };
  return (
    <form class="card settings-form" onSubmit={(e) => g.save(e, build, (s) => g.setDraft(networkDraft(s)))} aria-label="Network settings">
      <h2>CORS</h2>
      <Input
        label="Allowed origins (one per line)"
        textarea
        rows={4}
        value={d.origins}
        onInput={g.set('origins')}
        disabled={fixed}
        error={g.feList('cors.allowedOrigins')}
        hint={fixed ? 'Set by serve --origins: change it there.' : '* for any origin, else scheme://host[:port].'}
      />
      <h2>Trusted proxy</h2>
      <Input
        label="Client IP headers (comma-separated)"
        value={d.headers}
        onInput={g.set('headers')}
        error={g.feList('trustedProxy.headers')}
        placeholder="X-Forwarded-For"
        hint="Blank: the client IP is the connection's peer."
      />
      <Check label="Use the leftmost IP of a list" checked={d.useLeftmostIp} onChange={g.set('useLeftmostIp')} />
      <Outcome g={g} />
      <SaveButton g={g} label="Save network settings" />
    </form>
  );
}
