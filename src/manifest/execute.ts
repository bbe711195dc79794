import { type ControlClient, describeError } from "./client.js";
import { KIND_API, type LiveObject } from "./live.js";
import type { Step } from "./plan.js";
import type { ManagedKind } from "./types.js";

/** Runs a checked plan, in its order; stops at the first write the gateway refuses. */

export type Outcome = "created" | "updated" | "unchanged" | "pruned" | "exists";

export interface Done {
  outcome: Outcome;
  kind: string;
  name: string;
  fields?: string[];
}

const OUTCOME: Record<Step["action"], Outcome> = {
  create: "created",
  update: "updated",
  unchanged: "unchanged",
  prune: "pruned",
  exists: "exists",
};

export async function executePlan(
  client: ControlClient,
  steps: readonly Step[],
  liveSpecs: readonly LiveObject[],
  onDone: (d: Done) => void,
): Promise<{ failure: string | null }> {
  const specIds = new Map(liveSpecs.map((s) => [s.name, String(s.id)]));
  for (const step of steps) {
    const write = request(step, specIds);
    if (write) {
      const a = await client.request(write.method, write.path, write.body);
      if (a.status < 200 || a.status > 299)
        return { failure: `${write.method} ${step.kind} ${step.name}: ${describeError(a)}` };
      if (step.kind === "ApiSpec" && step.action === "create")
        specIds.set(step.name, String((a.body as { id?: unknown }).id));
    }
    onDone({
      outcome: OUTCOME[step.action],
      kind: step.kind,
      name: step.name,
      ...(step.fields ? { fields: step.fields } : {}),
    });
  }
  return { failure: null };
}

function keyOf(kind: ManagedKind, live: LiveObject | undefined): string {
  return encodeURIComponent(String(live?.[KIND_API[kind].key] ?? ""));
}

function request(
  step: Step,
  specIds: Map<string, string>,
): { method: string; path: string; body?: unknown } | null {
  if (step.kind === "Secret" || step.action === "unchanged" || step.action === "exists") return null;
  const api = KIND_API[step.kind];
  if (step.action === "prune")
    return { method: "DELETE", path: `${api.collection}/${keyOf(step.kind, step.live)}` };
  const o = step.object;
  if (!o || o.kind === "Secret") return null;
  const body = o.kind === "Workflow" ? { ...o.body, api_spec_id: specIds.get(o.apiSpec) } : o.body;
  if (step.action === "create") return { method: "POST", path: api.collection, body };
  const key = step.kind === "CliTool" ? encodeURIComponent(step.name) : keyOf(step.kind, step.live);
  return { method: "PUT", path: `${api.collection}/${key}`, body };
}
