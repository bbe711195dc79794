import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api } from "./api";

/**
 * A paged listing of the public API (docs/api.md "Pagination"): the first page on load, then one
 * more page per `loadMore`, following `next_cursor` until it is null. `member` names the array
 * of the answer (`sessions`, `specs`…). `reload` starts again from the first page.
 */
export function usePages<T>(path: string | null, member: string) {
  const [rows, setRows] = useState<T[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [tick, setTick] = useState(0);
  // Bumped by every first-page load: a page that arrives for an older path or reload is dropped.
  const generation = useRef(0);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  const take = (body: Record<string, unknown>) => ({
    page: (Array.isArray(body[member]) ? body[member] : []) as T[],
    cursor: typeof body.next_cursor === "string" ? body.next_cursor : null,
  });

  useEffect(() => {
    if (path === null) return;
    const gen = ++generation.current;
    setError(null);
    setLoading(true);
    api<Record<string, unknown>>(path).then(
      (body) => {
        if (gen !== generation.current) return;
        const { page, cursor } = take(body);
        setRows(page);
        setNext(cursor);
        setLoading(false);
      },
      (e: unknown) => {
        if (gen !== generation.current) return;
        setError(e instanceof Error ? e.message : String(e));
        setLoading(false);
      },
    );
  }, [path, tick]);

  const loadMore = () => {
    if (path === null || next === null || loading) return;
    const gen = generation.current;
    setLoading(true);
    const sep = path.includes("?") ? "&" : "?";
    api<Record<string, unknown>>(`${path}${sep}cursor=${encodeURIComponent(next)}`).then(
      (body) => {
        if (gen !== generation.current) return;
        const { page, cursor } = take(body);
        setRows((old) => [...(old ?? []), ...page]);
        setNext(cursor);
        setLoading(false);
      },
      (e: unknown) => {
        if (gen !== generation.current) return;
        setError(e instanceof Error ? e.message : String(e));
        setLoading(false);
      },
    );
  };

  return { rows, error, reload, hasMore: next !== null, loading, loadMore };
}

/** The button under a paged list; absent on the last page. */
export function LoadMore(props: { pages: { hasMore: boolean; loading: boolean; loadMore: () => void } }) {
  const { pages } = props;
  if (!pages.hasMore) return null;
  return (
    <p>
      <button type="button" data-testid="load-more" disabled={pages.loading} onClick={pages.loadMore}>
        {pages.loading ? "Loading…" : "Load more"}
      </button>
    </p>
  );
}
