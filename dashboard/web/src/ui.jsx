// Small shared pieces: labelled inputs (every input has a visible label),
// error messages, and a loader hook.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

let nextId = 0;
/** A stable unique id for label/input pairs. */
export function useId(prefix = 'i') {
  const ref = useRef('');
  if (!ref.current) ref.current = `${prefix}${++nextId}`;
  return ref.current;
}

/** A text-like input with its visible label and an optional error under it. */
export function Input({ label, value, onInput, error, hint, type = 'text', textarea, ...rest }) {
  const id = useId();
  const Tag = textarea ? 'textarea' : 'input';
  return (
    <div class={`field${error ? ' has-error' : ''}`}>
      <label for={id}>{label}</label>
      <Tag
        id={id}
        type={textarea ? undefined : type}
        value={value ?? ''}
        onInput={(e) => onInput(e.currentTarget.value)}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={error ? `${id}-err` : hint ? `${id}-hint` : undefined}
        {...rest}
      />
      {hint && !error && <small id={`${id}-hint`} class="hint">{hint}</small>}
      {error && <small id={`${id}-err`} class="error-text">{error}</small>}
    </div>
  );
}

/** A checkbox with its label. */
export function Check({ label, checked, onChange, ...rest }) {
  const id = useId();
  return (
    <div class="check">
      <input id={id} type="checkbox" checked={!!checked} onChange={(e) => onChange(e.currentTarget.checked)} {...rest} />
      <label for={id}>{label}</label>
    </div>
  );
}

/** A select with its label; options are [value, text] pairs or strings. */
export function Select({ label, value, onChange, options, ...rest }) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value)} {...rest}>
        {options.map((o) => {
          const [v, t] = Array.isArray(o) ? o : [o, o];
          return (
            <option key={v} value={v}>
              {t}
            </option>
          );
        })}
      </select>
    </div>
  );
}

/** An error banner (role=alert) for a message, or nothing. */
export function Alert({ error }) {
  if (!error) return null;
  return (
    <div class="alert" role="alert">
      {typeof error === 'string' ? error : error.message}
    </div>
  );
}

/** Runs load() on mount and when deps change: { data, error, loading, reload, setData }. */
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: undefined, error: null, loading: true });
  const seq = useRef(0);
  const reload = useCallback(() => {
    const n = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => n === seq.current && setState({ data, error: null, loading: false }),
      (error) => n === seq.current && setState((s) => ({ ...s, error, loading: false })),
    );
  }, deps);
  useEffect(reload, [reload]);
  // setData replaces the loaded data in place (a live update); a load
  // under way still wins when it ends.
  const setData = useCallback((data) => setState((s) => ({ ...s, data })), []);
  return { ...state, reload, setData };
}

/** Splits "a, b ,c" into ["a","b","c"]; "" gives []. */
export const splitList = (s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
