// Hash routes (#/collections/posts): the server serves the same page for
// every path under /_/, and the fragment never reaches the server logs.
import { useEffect, useState } from 'preact/hooks';

function parse() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, qs = ''] = raw.split('?');
  return { path, parts: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(qs) };
}

/** Returns the current route { path, parts, query }, updated on hashchange. */
export function useRoute() {
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const on = () => setRoute(parse());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** Navigates to a route path such as /collections/posts. */
export function go(path) {
  location.hash = `#${path}`;
}

/** The href of a route path. */
export const href = (path) => `#${path}`;
