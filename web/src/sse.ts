import { authHeaders, errorOf } from "./api";

/**
 * GET /v1/events/stream read with fetch(): EventSource cannot send an Authorization header,
 * and the token must never go into the URL. Reconnects after a drop with Last-Event-ID, so
 * the view neither misses nor repeats an event.
 */

export type StreamState =
  | { kind: "connecting" }
  | { kind: "live" }
  | { kind: "retrying"; inMs: number; why: string }
  | { kind: "stopped"; why: string };

export interface StreamOptions {
  /** Query string with the filters, "" or "?…". */
  query: string;
  token: string;
  /** Resume after this id (the newest event already shown). */
  lastEventId: string | null;
  onEvent(data: string, id: string | null): void;
  onState(state: StreamState): void;
}

/** Splits an SSE byte stream into events (WHATWG HTML §9.2.6: CR, LF or CRLF line ends). */
export class SseParser {
  private buffer = "";
  private data: string[] = [];
  private event = "message";
  private id: string | null = null;
  retryMs: number | null = null;

  constructor(private readonly emit: (event: string, data: string, id: string | null) => void) {}

  push(text: string): void {
    this.buffer += text;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      // A lone CR at the end may be the first half of CRLF: wait for the next chunk.
      if (!m || (m[0] === "\r" && m.index === this.buffer.length - 1)) return;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === "") {
      if (this.data.length > 0) this.emit(this.event, this.data.join("\n"), this.id);
      this.data = [];
      this.event = "message";
      return;
    }
    if (line.startsWith(":")) return; // comment (heartbeat)
    const i = line.indexOf(":");
    const field = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
    else if (field === "id" && !value.includes("\0")) this.id = value;
    else if (field === "retry" && /^\d+$/.test(value)) this.retryMs = Number(value);
  }
}

export function openEventStream(opts: StreamOptions): { close(): void } {
  const abort = new AbortController();
  let lastId = opts.lastEventId;
  let stopped = false;

  const run = async () => {
    let delay = 1000;
    while (!stopped) {
      opts.onState({ kind: "connecting" });
      let why = "connection lost";
      let ended: string | null = null;
      try {
        const res = await fetch(`/v1/events/stream${opts.query}`, {
          headers: {
            ...authHeaders(opts.token),
            accept: "text/event-stream",
            ...(lastId ? { "last-event-id": lastId } : {}),
          },
          credentials: "omit",
          cache: "no-store",
          referrerPolicy: "no-referrer",
          signal: abort.signal,
        });
        if (!res.ok || !res.body) {
          const err = await errorOf(res);
          // Refusals do not get better by retrying: bad filters, wrong tenant, bad token.
          if (res.status >= 400 && res.status < 500) {
            opts.onState({ kind: "stopped", why: `${res.status}: ${err.message}` });
            return;
          }
          throw err;
        }
        opts.onState({ kind: "live" });
        delay = 1000;
        const parser = new SseParser((event, data, id) => {
          if (event === "end") {
            ended = (JSON.parse(data) as { reason?: string }).reason ?? "end";
            return;
          }
          if (id !== null) lastId = id;
          opts.onEvent(data, id);
        });
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parser.push(value);
        }
        if (parser.retryMs !== null) delay = parser.retryMs;
        if (ended === "token_expired") {
          opts.onState({ kind: "stopped", why: "the operator token expired; sign in again" });
          return;
        }
        if (ended) why = `server ended the stream (${ended})`;
      } catch (err) {
        if (stopped) return;
        why = err instanceof Error ? err.message : String(err);
      }
      if (stopped) return;
      opts.onState({ kind: "retrying", inMs: delay, why });
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 30_000);
    }
  };
  void run();
  return {
    close() {
      stopped = true;
      abort.abort();
    },
  };
}
