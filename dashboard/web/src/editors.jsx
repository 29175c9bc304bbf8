// The rich inputs of the record form: a JSON editor (monospace, checked as
// it is typed with the line and column of the first error, auto-indent on
// Enter, a Format button) and a small rich-text editor for EDITOR fields
// (a contenteditable with a labelled toolbar that produces HTML; the
// server sanitizes what it stores).
import { useEffect, useRef, useState } from 'preact/hooks';
import { useId } from './ui.jsx';

/**
 * Checks JSON text: null when it parses, else { line, column, message }
 * (1-based) of the first error. '' is valid (no value).
 */
export function jsonError(text) {
  if (text.trim() === '') return null;
  try {
    JSON.parse(text);
    return null;
  } catch (err) {
    const at = scan(text) || { pos: 0, message: err.message };
    const before = text.slice(0, at.pos);
    const line = before.split('\n').length;
    const column = at.pos - before.lastIndexOf('\n');
    return { line, column, message: at.message };
  }
}

/** Describes a jsonError for people. */
export const jsonErrorText = (e) => `not valid JSON: line ${e.line}, column ${e.column}: ${e.message}`;

const NUMBER = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

// scan walks s as JSON and returns { pos, message } of the first error, or
// null (JSON.parse's own messages differ between browsers and not all give
// a position).
function scan(s) {
  let i = 0;
  const fail = (message) => {
    throw { pos: Math.min(i, s.length), message: i >= s.length ? 'unexpected end of input' : message };
  };
  const ws = () => {
    while (i < s.length && ' \t\n\r'.includes(s[i])) i++;
  };
  const string = () => {
    i++;
    while (i < s.length) {
      const c = s[i];
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') {
        i++;
        if (s[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(s.slice(i + 1, i + 5))) fail('bad \\u escape');
          i += 5;
          continue;
        }
        if (!'"\\/bfnrt'.includes(s[i] || 'x')) fail('bad escape in a string');
      } else if (c < ' ') fail('a line break or control character inside a string');
      i++;
    }
    fail('unterminated string');
  };
  const value = () => {
    ws();
    const c = s[i];
    if (c === '{') {
      i++;
      ws();
      if (s[i] === '}') return void i++;
      for (;;) {
        ws();
        if (s[i] !== '"') fail('expected a property name in double quotes');
        string();
        ws();
        if (s[i] !== ':') fail("expected ':' after the property name");
        i++;
        value();
        ws();
        if (s[i] === ',') {
          i++;
          continue;
        }
        if (s[i] === '}') return void i++;
        fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (s[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (s[i] === ',') {
          i++;
          continue;
        }
        if (s[i] === ']') return void i++;
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return string();
    if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      if (!NUMBER.test(s)) fail('bad number');
      i = NUMBER.lastIndex;
      return;
    }
    for (const w of ['true', 'false', 'null']) {
      if (s.startsWith(w, i)) {
        i += w.length;
        return;
      }
    }
    fail(`unexpected ${JSON.stringify(c)}: expected a value`);
  };
  try {
    value();
    ws();
    if (i < s.length) fail('unexpected text after the value');
    return null;
  } catch (e) {
    if (typeof e?.pos === 'number') return e;
    throw e;
  }
}

/** A JSON textarea with its label, live check, auto-indent and Format button. */
export function JsonEditor({ label, name, value, onInput, error }) {
  const id = useId('json');
  const parse = jsonError(value || '');
  const shown = parse ? jsonErrorText(parse) : error;
  function keyDown(e) {
    if (e.key !== 'Enter' || e.shiftKey || e.ctrlKey || e.metaKey || e.altKey) return;
    const el = e.currentTarget;
    const v = el.value;
    const at = el.selectionStart;
    const lineStart = v.lastIndexOf('\n', at - 1) + 1;
    let indent = v.slice(lineStart).match(/^[ \t]*/)[0];
    const prev = v.slice(lineStart, at).trimEnd().slice(-1);
    const next = v.slice(el.selectionEnd).trimStart()[0];
    if (prev === '{' || prev === '[') indent += '  ';
    e.preventDefault();
    let insert = `\n${indent}`;
    let caret = insert.length;
    if ((prev === '{' && next === '}') || (prev === '[' && next === ']')) insert += `\n${indent.slice(2)}`;
    el.setRangeText(insert, at, el.selectionEnd, 'end');
    el.selectionStart = el.selectionEnd = at + caret;
    onInput(el.value);
  }
  return (
    <div class={`field json-editor${shown ? ' has-error' : ''}`}>
      <div class="label-row">
        <label for={id}>{label}</label>
        <button
          type="button"
          class="small"
          disabled={!!parse || !value?.trim()}
          onClick={() => onInput(JSON.stringify(JSON.parse(value), null, 2))}
        >
          Format<span class="visually-hidden"> {name} JSON</span>
        </button>
      </div>
      <textarea
        id={id}
        class="mono"
        rows={Math.min(16, Math.max(4, (value || '').split('\n').length + 1))}
        value={value ?? ''}
        spellcheck={false}
        autocomplete="off"
        onInput={(e) => onInput(e.currentTarget.value)}
        onKeyDown={keyDown}
        aria-invalid={shown ? 'true' : undefined}
        aria-describedby={`${id}-msg`}
      />
      {shown ? (
        <small id={`${id}-msg`} class="error-text" role="status">
          {shown}
        </small>
      ) : (
        <small id={`${id}-msg`} class="hint">
          Any JSON value; empty for none.
        </small>
      )}
    </div>
  );
}

const TOOLS = [
  ['Bold', 'bold'],
  ['Italic', 'italic'],
  ['Bulleted list', 'insertUnorderedList'],
  ['Heading', 'heading'],
];

/**
 * A rich-text editor: a contenteditable (role textbox, labelled by the
 * visible label) and a toolbar (Bold, Italic, Link, Bulleted list,
 * Heading). onInput gets the HTML.
 */
export function RichText({ label, value, onInput, error }) {
  const id = useId('rt');
  const ref = useRef(null);
  const saved = useRef(null);
  const [state, setState] = useState({});
  const [link, setLink] = useState(null); // null, or the URL being typed
  // The toolbar's pressed states follow the caret.
  const refresh = () => {
    const sel = document.getSelection();
    if (!sel?.rangeCount || !ref.current?.contains(sel.anchorNode)) return;
    setState({
      bold: document.queryCommandState('bold'),
      italic: document.queryCommandState('italic'),
      insertUnorderedList: document.queryCommandState('insertUnorderedList'),
      heading: /^h\d$/i.test(document.queryCommandValue('formatBlock')),
    });
  };
  useEffect(() => {
    ref.current.innerHTML = value || '';
    document.addEventListener('selectionchange', refresh);
    return () => document.removeEventListener('selectionchange', refresh);
  }, []);
  const emit = () => {
    // Browsers keep a typed space before a tag or at the end as &nbsp;;
    // between words it is a plain space.
    const html = ref.current.innerHTML.replace(/([^\s;])&nbsp;(?=[^\s&<])/g, '$1 ');
    onInput(html === '<br>' || html === '<p><br></p>' ? '' : html);
  };
  const keep = () => {
    const sel = document.getSelection();
    if (sel?.rangeCount && ref.current.contains(sel.anchorNode)) saved.current = sel.getRangeAt(0).cloneRange();
  };
  const restore = () => {
    ref.current.focus();
    if (saved.current) {
      const sel = document.getSelection();
      sel.removeAllRanges();
      sel.addRange(saved.current);
    }
  };
  const run = (cmd) => {
    restore();
    document.execCommand('defaultParagraphSeparator', false, 'p');
    if (cmd === 'heading') {
      const inHeading = /^h\d$/i.test(document.queryCommandValue('formatBlock'));
      document.execCommand('formatBlock', false, inHeading ? 'p' : 'h2');
    } else document.execCommand(cmd);
    keep();
    refresh();
    emit();
  };
  const addLink = () => {
    const url = link.trim();
    setLink(null);
    restore();
    if (/^(https?:\/\/|mailto:|\/)/i.test(url)) {
      document.execCommand('createLink', false, url);
      emit();
    }
  };
  return (
    <div class={`field rich-text${error ? ' has-error' : ''}`}>
      <label id={`${id}-label`} onClick={() => ref.current.focus()}>
        {label}
      </label>
      <div class="toolbar" role="toolbar" aria-label="Text formatting" aria-controls={id}>
        {TOOLS.slice(0, 2).map(([name, cmd]) => (
          <ToolButton key={cmd} name={name} pressed={state[cmd]} onClick={() => run(cmd)} />
        ))}
        <ToolButton
          name="Link"
          onClick={() => {
            keep();
            setLink('https://');
          }}
        />
        {TOOLS.slice(2).map(([name, cmd]) => (
          <ToolButton key={cmd} name={name} pressed={state[cmd]} onClick={() => run(cmd)} />
        ))}
      </div>
      {link !== null && (
        <div class="row link-row">
          <div class="field">
            <label for={`${id}-url`}>Link URL</label>
            <input
              id={`${id}-url`}
              type="url"
              value={link}
              autoFocus
              onInput={(e) => setLink(e.currentTarget.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter') {
                  e.preventDefault();
                  addLink();
                } else if (e.key === 'Escape') setLink(null);
              }}
            />
          </div>
          <button type="button" onClick={addLink}>
            Add link
          </button>
          <button type="button" onClick={() => setLink(null)}>
            Cancel link
          </button>
        </div>
      )}
      <div
        id={id}
        ref={ref}
        class="rich-area"
        contentEditable
        role="textbox"
        aria-multiline="true"
        aria-labelledby={`${id}-label`}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={error ? `${id}-err` : undefined}
        tabIndex={0}
        onInput={emit}
        onFocus={() => document.execCommand('defaultParagraphSeparator', false, 'p')}
        onBlur={keep}
        onKeyUp={keep}
        onMouseUp={keep}
      />
      {error && (
        <small id={`${id}-err`} class="error-text">
          {error}
        </small>
      )}
    </div>
  );
}

function ToolButton({ name, pressed, onClick }) {
  return (
    <button
      type="button"
      class={`tool tool-${name.toLowerCase().replace(/\s+/g, '-')}`}
      aria-pressed={pressed === undefined ? undefined : pressed ? 'true' : 'false'}
      onMouseDown={(e) => e.preventDefault()}
      onClick={onClick}
    >
      {name}
    </button>
  );
}
