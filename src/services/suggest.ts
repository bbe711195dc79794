import { z } from "zod";
import { SuggestionBuilder } from "../policy/suggest.js";
import { parseInput, requireRole, TenantId, type VerbCall } from "./context.js";
import { recordedCalls } from "./recorded-calls.js";
import { checkWindow, currentContext, Window } from "./what-if.js";

/**
 * GET /v1/security-contexts/{name}/suggest (DESIGN §3 "Least privilege from evidence"): the
 * narrowest context that still allows every call the current one allows among the window's
 * recorded calls (src/policy/suggest.ts). A read: nothing is written.
 */

export const SuggestInput = z.strictObject({
  name: z.string().min(1),
  tenant_id: TenantId.optional(),
  ...Window,
});
export type SuggestInput = z.infer<typeof SuggestInput>;

export async function suggestContext({ ctx, input }: VerbCall) {
  const actor = requireRole(ctx, "viewer");
  const q = parseInput(SuggestInput, input, "invalid_query");
  checkWindow(q.since, q.until);
  const { deps } = ctx;
  const { tenantId, context } = await currentContext(deps, actor, q.name, q.tenant_id);
  const builder = new SuggestionBuilder(context);
  for await (const { call } of recordedCalls(deps, {
    tenantId,
    securityContext: q.name,
    ...(q.since === undefined ? {} : { since: q.since }),
    ...(q.until === undefined ? {} : { until: q.until }),
  }))
    builder.add(call);
  return builder.build();
}
