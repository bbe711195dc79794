import type { ToolInfo } from "../policy/evaluate.js";
import type { RecordedCall } from "../policy/what-if.js";
import type { PlainJson } from "../seal/json.js";
import type { EventRow } from "../store/types.js";
import type { RegisteredTool } from "../tools/registry.js";
import type { ServiceDeps } from "./context.js";

/**
 * The recorded calls of one security context, read from the audit trail page by page (keyset
 * over seq) so that a window of a million calls never sits in memory (DESIGN §3 what-if).
 * Each row becomes the `RecordedCall` the policy decides again: its tool name, its recorded
 * arguments, the tool's registration now, and the session's tool patterns.
 */

export const STORE_PAGE = 1000;
/** Distinct tools and sessions remembered while streaming; beyond it the cache starts over. */
const CACHE_ENTRIES = 10_000;

export interface RecordedCallWindow {
  tenantId: string;
  securityContext: string;
  since?: number;
  until?: number;
  afterSeq?: number;
}

export interface RecordedRow {
  row: EventRow;
  call: RecordedCall;
}

function bounded<K, V>(map: Map<K, V>, key: K, value: V): V {
  if (map.size >= CACHE_ENTRIES) map.clear();
  map.set(key, value);
  return value;
}

/** Yields the window's recorded calls oldest first; the caller stops when it has enough. */
export async function* recordedCalls(
  deps: Pick<ServiceDeps, "store" | "tools">,
  window: RecordedCallWindow,
): AsyncGenerator<RecordedRow> {
  const tools = new Map<string, RegisteredTool | null>();
  const sessions = new Map<string, readonly string[] | null>();
  let afterSeq = window.afterSeq;
  for (;;) {
    const rows = await deps.store.listRecordedCalls({
      tenantId: window.tenantId,
      securityContext: window.securityContext,
      ...(window.since === undefined ? {} : { since: window.since }),
      ...(window.until === undefined ? {} : { until: window.until }),
      ...(afterSeq === undefined ? {} : { afterSeq }),
      limit: STORE_PAGE,
    });
    for (const row of rows) {
      const payload = JSON.parse(row.payload) as { arguments?: unknown };
      const args = payload.arguments ?? {};
      const toolName = row.toolName ?? "";
      let tool = tools.get(toolName);
      if (tool === undefined)
        tool = bounded(tools, toolName, await deps.tools.lookup(window.tenantId, toolName));
      let patterns: readonly string[] | null | undefined = null;
      if (row.executionId !== null) {
        patterns = sessions.get(row.executionId);
        if (patterns === undefined) {
          const session = await deps.store.getSession(row.executionId);
          patterns = bounded(sessions, row.executionId, session ? session.allowedToolPatterns : null);
        }
      }
      let info: ToolInfo | undefined = tool?.info;
      let hostsUnknown = false;
      if (tool?.infoFor) {
        // A CLI call's subcommand is recorded, so its facts are those of the live call; the
        // explorer's hosts come from a spec named by arguments the trail does not keep.
        if (tool.info.kind === "cli")
          info = await tool.infoFor(args as { [key: string]: PlainJson }, row.tenantId);
        else hostsUnknown = true;
      }
      yield {
        row,
        call: {
          toolName,
          arguments: args,
          ...(info ? { tool: info } : {}),
          ...(patterns ? { sessionToolPatterns: patterns } : {}),
          ...(hostsUnknown ? { hostsUnknown } : {}),
        },
      };
    }
    const last = rows.at(-1);
    if (rows.length < STORE_PAGE || last === undefined) return;
    afterSeq = last.seq;
  }
}
