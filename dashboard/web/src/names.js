// The application schema's names for a collection, read from the schema
// SDL (the admin query schemaSDL): the type is the one described as "A
// record of the collection <name>."; the root fields follow from it
// (docs/api.md "The application schema").

/** Returns the GraphQL names of collection name in sdl, or null when it has none (a hidden system collection). */
export function namesFor(sdl, name) {
  const m = sdl.match(new RegExp(`"""A record of the collection ${name}\\."""\\s*type (\\w+)`));
  if (!m) return null;
  const type = m[1];
  const base = type[0].toLowerCase() + type.slice(1);
  const query = block(sdl, 'type', 'Query') || '';
  let list = '';
  let single = '';
  for (const line of query.split('\n')) {
    const f = line.match(/^\s+(\w+)(\(.*\))?:\s*(.+)$/);
    if (!f) continue;
    if (f[3].trim() === `[${type}!]!` && /\bfilter:/.test(f[2] || '')) list ||= f[1];
    if (f[3].trim() === type && /\bid: ID!/.test(f[2] || '')) single ||= f[1];
  }
  return {
    type,
    base,
    list,
    single,
    aggregate: `${list}Aggregate`,
    create: `create${type}`,
    update: `update${type}`,
    delete: `delete${type}`,
    changed: `${base}Changed`,
  };
}

/** Returns the definition of kind name ("type Query") in sdl, with its description, or ''. */
export function block(sdl, kind, name) {
  return blocks(sdl).find((b) => b.kind === kind && b.name === name)?.text || '';
}

/** Splits sdl into its top-level definitions { kind, name, text }. */
export function blocks(sdl) {
  const out = [];
  let cur = [];
  let open = false;
  const flush = () => {
    const text = cur.join('\n').trim();
    cur = [];
    if (!text) return;
    const m = text.match(/^(?:"""[\s\S]*?"""\s*)?(type|input|enum|interface|scalar|union|extend type)\s+(\w+)/m);
    out.push({ kind: m?.[1] || '', name: m?.[2] || '', text });
  };
  for (const line of sdl.split('\n')) {
    cur.push(line);
    if (/^(type|input|enum|interface)\s.*\{\s*$/.test(line)) open = true;
    else if (open && line === '}') {
      open = false;
      flush();
    } else if (!open && (/^(scalar|union)\s/.test(line) || line.trim() === '')) {
      if (/^(scalar|union)\s/.test(line)) flush();
    }
  }
  flush();
  return out;
}

/**
 * The part of sdl about one collection: its types (the record type and the
 * types named after it, not those of another collection with a longer
 * name) and its root fields.
 */
export function sdlFor(sdl, names, allTypes) {
  const { type } = names;
  const longer = allTypes.filter((t) => t !== type && t.startsWith(type));
  const own = blocks(sdl).filter(
    (b) =>
      ['type', 'input', 'enum'].includes(b.kind) &&
      !['Query', 'Mutation', 'Subscription'].includes(b.name) &&
      b.name.startsWith(type) &&
      !longer.some((t) => b.name.startsWith(t)),
  );
  const roots = [];
  for (const root of ['Query', 'Mutation', 'Subscription']) {
    const text = block(sdl, 'type', root);
    const lines = text.split('\n');
    const kept = [];
    for (let i = 0; i < lines.length; i++) {
      const f = lines[i].match(/^\s{2}(\w+)[(:]/);
      if (!f || !belongs(f[1], names)) continue;
      if (i > 0 && /^\s+""".*"""\s*$/.test(lines[i - 1])) kept.push(lines[i - 1]);
      kept.push(lines[i]);
    }
    if (kept.length) roots.push(`type ${root} {\n${kept.join('\n')}\n}`);
  }
  return [...own.map((b) => b.text), ...roots].join('\n\n');
}

function belongs(field, n) {
  if ([n.list, n.single, n.aggregate, `${n.list}Connection`, n.create, n.update, n.delete, n.changed].includes(field)) return true;
  return field.startsWith(n.base) && /^[A-Z]/.test(field.slice(n.base.length)) && !field.slice(n.base.length).startsWith('s');
}
