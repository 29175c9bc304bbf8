// The API preview: the part of the application schema a collection
// generates, and example operations to copy.
import { useSchema } from './app.jsx';
import { namesFor, sdlFor } from './names.js';

/** Returns the selection of a collection's readable fields for examples. */
export function selection(c) {
  return c.fields
    .filter((f) => !f.hidden && f.type !== 'PASSWORD' && f.name !== 'tokenKey')
    .map((f) => {
      if (f.type === 'FILE') return `${f.name} { name url }`;
      if (f.type === 'GEOPOINT') return `${f.name} { lon lat }`;
      if (f.type === 'RELATION') return f.maxSelect > 1 ? `${f.name}Ids` : `${f.name}Id`;
      return f.name;
    });
}

function exampleValue(f) {
  switch (f.type) {
    case 'NUMBER': return '1';
    case 'BOOL': return 'true';
    case 'EMAIL': return '"someone@example.com"';
    case 'URL': return '"https://example.com"';
    case 'DATE': return '"2025-01-01T00:00:00.000Z"';
    case 'JSON': return '{ key: "value" }';
    case 'GEOPOINT': return '{ lon: 2.35, lat: 48.85 }';
    case 'SELECT': return f.values?.[0] && /^[_A-Za-z][_0-9A-Za-z]*$/.test(f.values[0]) ? f.values[0] : `"${f.values?.[0] || ''}"`;
    case 'RELATION': return '"RECORD_ID"';
    default: return '"text"';
  }
}

export function examples(c, n) {
  const sel = selection(c).join('\n    ');
  const writable = c.fields.filter((f) => !f.system && !['AUTODATE', 'FILE'].includes(f.type));
  const input = writable.map((f) => `${f.name}: ${exampleValue(f)}`).join(', ');
  const ops = [
    ['Query a page', `query {\n  ${n.list}(filter: "created > '2025-01-01'", sort: "-created", limit: 20) {\n    ${sel}\n  }\n  ${n.aggregate} { count }\n}`],
    ['Query one', `query {\n  ${n.single}(id: "RECORD_ID") {\n    ${sel}\n  }\n}`],
  ];
  if (c.type !== 'VIEW') {
    ops.push(
      ['Create', `mutation {\n  ${n.create}(input: { ${input} }) {\n    id\n  }\n}`],
      ['Update', `mutation {\n  ${n.update}(id: "RECORD_ID", input: { ${input} }) {\n    id\n    updated\n  }\n}`],
      ['Delete', `mutation {\n  ${n.delete}(id: "RECORD_ID") {\n    id\n  }\n}`],
    );
  }
  ops.push(['Subscribe', `subscription {\n  ${n.changed} {\n    action\n    record {\n      ${selection(c).join('\n      ')}\n    }\n  }\n}`]);
  return ops;
}

export function ApiPreview({ collection: c }) {
  const { sdl, collections } = useSchema();
  const n = namesFor(sdl, c.name);
  if (!n) return <p>The collection {c.name} is not part of the application API.</p>;
  const types = collections.map((x) => namesFor(sdl, x.name)?.type).filter(Boolean);
  return (
    <div class="preview">
      <section class="card">
        <h2>GraphQL types</h2>
        <p class="hint">
          From the schema served at <code>/graphql</code>: type <code>{n.type}</code>, queries <code>{n.list}</code> and <code>{n.single}</code>.
        </p>
        <pre class="code" aria-label={`Types of ${c.name}`} tabIndex={0}>
          {sdlFor(sdl, n, types)}
        </pre>
      </section>
      <section class="card">
        <h2>Example operations</h2>
        {examples(c, n).map(([title, text]) => (
          <div key={title}>
            <h3>{title}</h3>
            <pre class="code" tabIndex={0}>
              {text}
            </pre>
            <button type="button" onClick={() => navigator.clipboard?.writeText(text)}>
              Copy {title.toLowerCase()} example
            </button>
          </div>
        ))}
      </section>
    </div>
  );
}
