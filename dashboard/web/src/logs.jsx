// The logs screen: a chart of the requests per hour (logStats, drawn as an
// SVG bar chart), and a table of the log entries with a PocketBase-syntax
// filter (its error shown inline, with a caret under its position),
// paging, and the data of the entry a click selects.
import { useEffect, useRef, useState } from 'preact/hooks';
import { adminQuery } from './gql.js';
import { Alert, Input, Select, useLoad } from './ui.jsx';

const PAGE = 50;
const HOUR = 3600e3;
const LEVEL_NAMES = { '-4': 'DEBUG', 0: 'INFO', 4: 'WARN', 8: 'ERROR' };
const levelName = (l) => LEVEL_NAMES[l] ?? String(l);

const LOGS_QUERY = `query Logs($filter: String, $limit: Int, $offset: Int) {
  logs(filter: $filter, limit: $limit, offset: $offset) { id created level message data }
}`;
const STATS_QUERY = `query LogStats($filter: String) { logStats(filter: $filter) { date total } }`;

const pad = (x) => String(x).padStart(2, '0');
/** A local "YYYY-MM-DD HH:MM:SS" of an ISO date. */
export function localTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** The logs screen. */
export function Logs() {
  const [filterText, setFilterText] = useState('');
  const [filter, setFilter] = useState('');
  const [page, setPage] = useState(0);
  const [hours, setHours] = useState('24');
  const [selected, setSelected] = useState(null);
  const [tick, setTick] = useState(0);
  const logs = useLoad(() => adminQuery(LOGS_QUERY, { filter: filter || null, limit: PAGE, offset: page * PAGE }), [filter, page, tick]);
  const stats = useLoad(() => adminQuery(STATS_QUERY, { filter: filter || null }), [filter, tick]);
  const detail = useRef(null);
  useEffect(() => {
    if (selected) detail.current?.scrollIntoView?.({ block: 'nearest' });
  }, [selected]);

  const err = logs.error;
  const filterError = err?.fields?.filter?.message || (err && /filter/i.test(err.message) ? err.message : '');
  const position = Number(/position (\d+)/.exec(filterError)?.[1] || 0);
  const items = logs.data?.logs || [];
  const buckets = stats.data?.logStats || [];
  const total = buckets.reduce((n, b) => n + b.total, 0);
  const pages = Math.max(1, Math.ceil(total / PAGE));

  return (
    <>
      <div class="title-row">
        <h1>Logs</h1>
        <button type="button" onClick={() => setTick(tick + 1)}>
          Refresh
        </button>
      </div>
      <form
        class="row filter"
        onSubmit={(e) => {
          e.preventDefault();
          setPage(0);
          setSelected(null);
          setFilter(filterText.trim());
        }}
      >
        <Input
          label="Filter"
          value={filterText}
          onInput={setFilterText}
          placeholder="e.g. data.status >= 400 && data.method = 'POST'"
          error={filterError}
          spellcheck={false}
          class="mono"
        />
        <button type="submit">Apply filter</button>
      </form>
      {filterError && position > 0 && (
        <pre class="caret" aria-hidden="true">
          {filter}
          {'\n'}
          {' '.repeat(position - 1)}^
        </pre>
      )}
      {!filterError && <Alert error={err} />}
      <section class="card chart-card" aria-labelledby="chart-title">
        <div class="row actions chart-head">
          <h2 id="chart-title">Requests per hour</h2>
          <Select
            label="Period"
            value={hours}
            onChange={setHours}
            options={[
              ['24', 'Last 24 hours'],
              ['72', 'Last 3 days'],
              ['168', 'Last 7 days'],
            ]}
          />
        </div>
        {!filterError && <Alert error={stats.error} />}
        <HourChart buckets={buckets} hours={Number(hours)} />
      </section>
      {selected && <LogDetail entry={selected} close={() => setSelected(null)} refEl={detail} />}
      <div class="table-wrap">
        <table class="grid logs-table" aria-label="Log entries" aria-busy={logs.loading ? 'true' : 'false'}>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col" class="hide-narrow">Level</th>
              <th scope="col">Message</th>
              <th scope="col">Status</th>
              <th scope="col" class="num hide-narrow">ms</th>
            </tr>
          </thead>
          <tbody>
            {items.map((l) => (
              <tr key={l.id} class={`clickable${selected?.id === l.id ? ' selected' : ''}`} onClick={() => setSelected(l)}>
                <td class="log-time">
                  <span>{localTime(l.created).slice(0, 10)}</span> <span>{localTime(l.created).slice(11)}</span>
                </td>
                <td class="hide-narrow">
                  <span class={`level level-${levelName(l.level).toLowerCase()}`}>{levelName(l.level)}</span>
                </td>
                <td>
                  <button
                    type="button"
                    class="link mono"
                    aria-label={`Show log entry ${l.id}: ${l.message}`}
                    onClick={(e) => {
                      e.stopPropagation();
                      setSelected(l);
                    }}
                  >
                    {l.message}
                  </button>
                  {l.data?.operation && <span class="muted"> {l.data.operation}</span>}
                </td>
                <td class={l.data?.status >= 400 ? 'warn' : undefined}>{l.data?.status ?? ''}</td>
                <td class="num hide-narrow">{typeof l.data?.execTime === 'number' ? l.data.execTime.toFixed(1) : ''}</td>
              </tr>
            ))}
            {items.length === 0 && !logs.loading && (
              <tr>
                <td colSpan={5}>No log entries.</td>
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
          Page {page + 1} of {pages} · {total} entries
        </span>
        <button type="button" disabled={items.length < PAGE} onClick={() => setPage(page + 1)}>
          Next page
        </button>
      </div>
    </>
  );
}

function LogDetail({ entry: l, close, refEl }) {
  return (
    <section class="card log-detail" aria-labelledby="log-detail-title" ref={refEl}>
      <div class="row actions">
        <h2 id="log-detail-title">Log entry {l.id}</h2>
        <button type="button" onClick={close}>
          Close
        </button>
      </div>
      <dl class="pairs">
        <dt>Time</dt>
        <dd>
          {localTime(l.created)} <span class="muted">({l.created})</span>
        </dd>
        <dt>Level</dt>
        <dd>
          {levelName(l.level)} ({l.level})
        </dd>
        <dt>Message</dt>
        <dd class="mono">{l.message}</dd>
      </dl>
      <h3>Data</h3>
      <pre class="code" aria-label="Log entry data">
        {JSON.stringify(l.data, null, 2)}
      </pre>
    </section>
  );
}

/**
 * An SVG bar chart of requests per hour over the last `hours` hours (UTC
 * hour buckets from logStats; hours without entries are 0). Every bar has
 * a <title> with its hour and count.
 */
export function HourChart({ buckets, hours }) {
  // Drawn at the figure's own width so the text keeps its size on a phone.
  const box = useRef(null);
  const [W, setW] = useState(720);
  useEffect(() => {
    const el = box.current;
    if (!el || typeof ResizeObserver === 'undefined') return undefined;
    const ro = new ResizeObserver(([e]) => setW(Math.max(240, Math.round(e.contentRect.width))));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const now = Date.now();
  const end = Math.floor(now / HOUR) * HOUR; // the start of the current hour
  const start = end - (hours - 1) * HOUR;
  const counts = new Array(hours).fill(0);
  for (const b of buckets) {
    const t = Date.parse(b.date);
    const i = Math.round((t - start) / HOUR);
    if (i >= 0 && i < hours) counts[i] += b.total;
  }
  const max = Math.max(1, ...counts);
  const sum = counts.reduce((a, b) => a + b, 0);
  const H = 160;
  const left = 36;
  const bottom = 22;
  const top = 8;
  const slot = (W - left) / hours;
  const bw = Math.max(1, slot * 0.75);
  const plotH = H - bottom - top;
  const labelWidth = hours <= 24 ? 44 : 80; // px a label needs
  const labelEvery = [1, 2, 3, 4, 6, 12, 24, 48, 72].find((n) => n * slot >= labelWidth) || 72;
  const hourLabel = (i) => {
    const d = new Date(start + i * HOUR);
    return hours <= 24 ? `${pad(d.getHours())}:00` : `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}h`;
  };
  return (
    <figure class="chart" ref={box}>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Requests per hour, last ${hours} hours: ${sum} in total, at most ${sum ? max : 0} in one hour`}>
        <line x1={left} y1={top + plotH} x2={W} y2={top + plotH} class="axis" />
        <text x={left - 6} y={top + 4} class="tick" text-anchor="end">
          {max}
        </text>
        <text x={left - 6} y={top + plotH} class="tick" text-anchor="end">
          0
        </text>
        <line x1={left} y1={top} x2={W} y2={top} class="gridline" />
        {counts.map((c, i) => {
          const h = (c / max) * plotH;
          return (
            <g key={i}>
              {c > 0 && (
                <rect class="bar" x={left + i * slot + (slot - bw) / 2} y={top + plotH - h} width={bw} height={h} data-count={c}>
                  <title>{`${hourLabel(i)}: ${c} request${c === 1 ? '' : 's'}`}</title>
                </rect>
              )}
              {i % labelEvery === 0 && left + i * slot + slot / 2 + labelWidth / 2 <= W && (
                <text x={left + i * slot + slot / 2} y={H - 6} class="tick" text-anchor="middle">
                  {hourLabel(i)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption class="muted">
        {sum} requests in the last {hours} hours{sum ? `; the busiest hour had ${max}` : ''}.
      </figcaption>
    </figure>
  );
}
