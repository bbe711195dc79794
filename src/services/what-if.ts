import { z } from "zod";
import { ERROR_TABLE, GatewayError } from "../errors.js";
import { parseSecurityContext, type SecurityContext } from "../policy/context-schema.js";
import { redecide } from "../policy/what-if.js";
import {
  actingTenant,
  canSee,
  controlEvent,
  iso,
  notFound,
  type Principal,
  parseInput,
  requireRole,
  type ServiceDeps,
  TenantId,
  type VerbCall,
} from "./context.js";
import { Time } from "./events.js";
import { cursorOf } from "./pagination.js";
import { recordedCalls } from "./recorded-calls.js";

/**
 * POST /v1/security-contexts/{name}/what-if (DESIGN §3): every recorded call of the context in
 * the window, decided again under the current definition and under a candidate. Nothing runs;
 * one audit row says who asked about which context and window, and what came out.
 *
 * Bounded three ways, each answering what it covered and a `next_cursor` to go on: `limit`
 * calls, MAX_LISTED flips or undecidable calls, and a time budget.
 */

export const MAX_WHAT_IF_LIMIT = 100_000;
/** Flips (and, separately, undecidable calls) listed in one answer. */
export const MAX_LISTED = 1000;
export const WHAT_IF_BUDGET_MS = 20_000;

/** The window's position: the seq of the last call covered. */
export const WHAT_IF_CURSOR = cursorOf(
  "whatif",
  z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  (seq: number) => seq,
  (seq) => seq,
);

/** `since` / `until`: RFC 3339 or Unix seconds, as GET /v1/events takes them. */
export const Window = {
  since: Time.optional().describe("Start of the window (inclusive): RFC 3339 or Unix seconds."),
  until: Time.optional().describe("End of the window (exclusive): RFC 3339 or Unix seconds."),
};

export const WhatIfInput = z.strictObject({
  name: z.string().min(1),
  tenant_id: TenantId.optional(),
  candidate: z.unknown().describe("The candidate security context document (its name must be the path's)."),
  ...Window,
  limit: z
    .int()
    .min(1)
    .max(MAX_WHAT_IF_LIMIT)
    .default(MAX_WHAT_IF_LIMIT)
    .describe(`Recorded calls to decide: 1 to ${MAX_WHAT_IF_LIMIT}, default ${MAX_WHAT_IF_LIMIT}.`),
  cursor: z.string().optional().describe("The `next_cursor` of the previous answer, with the same body."),
});
export type WhatIfInput = z.infer<typeof WhatIfInput>;

/** `since` after `until` is refused, not answered with an empty window. */
export function checkWindow(since: number | undefined, until: number | undefined): void {
  if (since !== undefined && until !== undefined && since > until)
    throw new GatewayError("BAD_REQUEST", "since is after until", {
      reason: "invalid_window",
      problems: [{ path: "since", message: "must not be after until" }],
    });
}

/** The context named by the path, visible to the caller, and its parsed current definition. */
export async function currentContext(deps: ServiceDeps, actor: Principal, name: string, tenant?: string) {
  const tenantId = actingTenant(actor, tenant);
  const row = await deps.store.getSecurityContext(tenantId, name);
  if (!row || !canSee(actor, row.tenantId)) throw notFound("security context");
  const parsed = parseSecurityContext(JSON.parse(row.document));
  if (!parsed.ok)
    throw new GatewayError("INTERNAL", "the stored security context no longer validates", {
      reason: "invalid_stored_context",
    });
  return { tenantId: row.tenantId, context: parsed.context };
}

function readCandidate(body: unknown, name: string): SecurityContext {
  const problems: { path: string; message: string }[] = [];
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    problems.push({ path: "candidate", message: "must be a security context (a JSON object)" });
  } else {
    const parsed = parseSecurityContext(body);
    if (parsed.ok && parsed.context.name === name) return parsed.context;
    if (!parsed.ok)
      for (const p of parsed.problems)
        problems.push({ path: p.path === "" ? "candidate" : `candidate.${p.path}`, message: p.message });
    if ((body as { name?: unknown }).name !== name)
      problems.push({ path: "candidate.name", message: "must equal the name in the path" });
  }
  throw new GatewayError("BAD_REQUEST", "the candidate security context is invalid", {
    reason: "invalid_body",
    problems,
  });
}

const sealCode = (code: keyof typeof ERROR_TABLE | null) => (code ? ERROR_TABLE[code].seal : null);

export async function whatIfContext({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "viewer");
  const q = parseInput(WhatIfInput, input);
  checkWindow(q.since, q.until);
  const afterSeq = WHAT_IF_CURSOR.decode(q.cursor);
  const { deps } = ctx;
  const { tenantId, context: current } = await currentContext(deps, actor, q.name, q.tenant_id);
  const candidate = readCandidate(q.candidate, q.name);

  const started = performance.now();
  const budget = deps.whatIfBudgetMs ?? WHAT_IF_BUDGET_MS;
  const flips: unknown[] = [];
  const undecidableCalls: unknown[] = [];
  let evaluated = 0;
  let unchanged = 0;
  let lastSeq: number | null = null;
  let stopped = false;
  // Leaving the loop early closes the generator, and with it the paging over the store.
  const stream = recordedCalls(deps, {
    tenantId,
    securityContext: q.name,
    ...(q.since === undefined ? {} : { since: q.since }),
    ...(q.until === undefined ? {} : { until: q.until }),
    ...(afterSeq === undefined ? {} : { afterSeq }),
  });
  for await (const { row, call } of stream) {
    if (
      evaluated >= q.limit ||
      flips.length >= MAX_LISTED ||
      undecidableCalls.length >= MAX_LISTED ||
      // At least one call per answer, so that following the cursor always ends.
      (evaluated > 0 && performance.now() - started > budget)
    ) {
      stopped = true;
      break;
    }
    evaluated++;
    lastSeq = row.seq;
    const result = redecide(current, candidate, call);
    if (result.kind === "undecidable") {
      undecidableCalls.push({
        event_id: row.id,
        request_id: row.requestId,
        tool_name: row.toolName,
        under: result.under,
        reason: result.reason,
      });
    } else if (result.from.decision === result.to.decision) {
      unchanged++;
    } else {
      flips.push({
        event_id: row.id,
        request_id: row.requestId,
        tool_name: row.toolName,
        from: result.from.decision,
        to: result.to.decision,
        rule: result.to.rule,
        reason: result.to.reason,
        code: sealCode(result.to.code),
        at: iso(row.createdAt),
      });
    }
  }
  const nextCursor = stopped && lastSeq !== null ? WHAT_IF_CURSOR.encode(lastSeq) : null;
  const window = { since: iso(q.since ?? null), until: iso(q.until ?? null) };
  await deps.audit.record(
    controlEvent({
      eventType: "PolicyWhatIfEvaluated",
      tenantId,
      payload: {
        actor: actor.sub,
        security_context: q.name,
        ...window,
        limit: q.limit,
        evaluated,
        unchanged,
        undecidable: undecidableCalls.length,
        flips: flips.length,
        complete: nextCursor === null,
      },
    }),
  );
  return {
    evaluated,
    unchanged,
    undecidable: undecidableCalls.length,
    flips,
    undecidable_calls: undecidableCalls,
    window,
    next_cursor: nextCursor,
  };
}
