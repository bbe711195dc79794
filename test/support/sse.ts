/**
 * Reads a Server-Sent Events response the way a browser console does (fetch + reader), for
 * the stream tests: events with their id, data and type, and comment lines (heartbeats).
 */

export interface SseMessage {
  id: string | null;
  event: string;
  data: string;
}

export interface SseReader {
  /** Waits for the next message (comments are collected, not returned); null at the end. */
  next(timeoutMs?: number): Promise<SseMessage | null>;
  /** Collects messages until `count` arrived; fails after the timeout. */
  take(count: number, timeoutMs?: number): Promise<SseMessage[]>;
  /** Asserts that no message arrives for `ms`. */
  quiet(ms: number): Promise<void>;
  comments: string[];
  /** Rejection reason when the stream was broken off by the server. */
  error: unknown;
  cancel(): Promise<void>;
}

export function readSse(res: Response): SseReader {
  if (!res.body) throw new Error("no body");
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const queue: SseMessage[] = [];
  const comments: string[] = [];
  let buffer = "";
  let done = false;
  let pending: Promise<void> | null = null;
  const state: { error: unknown } = { error: undefined };

  const parseBlocks = () => {
    for (;;) {
      const end = buffer.search(/\r?\n\r?\n/);
      if (end < 0) return;
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
      const msg: SseMessage = { id: null, event: "message", data: "" };
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(":")) comments.push(line.slice(1).trim());
        else {
          const i = line.indexOf(":");
          const field = i < 0 ? line : line.slice(0, i);
          const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
          if (field === "id") msg.id = value;
          else if (field === "event") msg.event = value;
          else if (field === "data") data.push(value);
        }
      }
      if (data.length > 0) queue.push({ ...msg, data: data.join("\n") });
    }
  };

  const pump = () => {
    pending ??= reader
      .read()
      .then(
        ({ done: d, value }) => {
          if (d) done = true;
          else buffer += decoder.decode(value, { stream: true });
          parseBlocks();
        },
        (err: unknown) => {
          state.error = err;
          done = true;
        },
      )
      .finally(() => {
        pending = null;
      });
    return pending;
  };

  const next = async (timeoutMs = 5000): Promise<SseMessage | null> => {
    const deadline = Date.now() + timeoutMs;
    while (queue.length === 0 && !done) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no SSE message within ${timeoutMs} ms`);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        pump(),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, left);
        }),
      ]);
      clearTimeout(timer);
    }
    return queue.shift() ?? null;
  };

  return {
    next,
    async take(count, timeoutMs = 5000) {
      const out: SseMessage[] = [];
      const deadline = Date.now() + timeoutMs;
      while (out.length < count) {
        const m = await next(Math.max(1, deadline - Date.now()));
        if (!m) throw new Error(`stream ended after ${out.length} of ${count} messages`);
        out.push(m);
      }
      return out;
    },
    async quiet(ms) {
      let m: SseMessage | null = null;
      try {
        m = await next(ms);
      } catch {
        return;
      }
      if (m) throw new Error(`expected no message, got ${JSON.stringify(m)}`);
    },
    comments,
    get error() {
      return state.error;
    },
    async cancel() {
      await reader.cancel().catch(() => undefined);
    },
  };
}
