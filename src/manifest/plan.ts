import { diffFields, diffPaths } from "./diff.js";
import { KIND_API, type LiveObject, type LiveState } from "./live.js";
import { MANAGED_KINDS, type ManagedKind, type Problem } from "./types.js";
import type { ManifestObject } from "./validate.js";

/**
 * Desired (the manifest) against live (the gateway): one step per object, in dependency
 * order, then the prunes in reverse order. Pure: everything it needs is in `live`, and every
 * reason not to go ahead is a problem, found before anything is written.
 */

export type Action = "create" | "update" | "unchanged" | "prune" | "exists";

export interface Step {
  action: Action;
  kind: ManifestObject["kind"];
  name: string;
  /** Changed field paths (updates). */
  fields?: string[];
  object?: ManifestObject;
  live?: LiveObject;
}

const SERVER_FIELDS = new Set(["id", "tenant_id", "hash", "created_at", "updated_at"]);
const MAX_NAMED = 5;

function named(names: readonly string[]): string {
  const shown = names.slice(0, MAX_NAMED).map((n) => JSON.stringify(n));
  return names.length > MAX_NAMED
    ? `${shown.join(", ")} and ${names.length - MAX_NAMED} more`
    : shown.join(", ");
}

function withoutServerFields(o: LiveObject): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !SERVER_FIELDS.has(k)));
}

function changedFields(o: ManifestObject, live: LiveObject, state: LiveState): string[] {
  switch (o.kind) {
    case "ApiSpec": {
      const liveHosts = Array.isArray(live.allowed_hosts) ? [...(live.allowed_hosts as string[])].sort() : [];
      return diffFields(o.desired, { ...live, allowed_hosts: liveHosts }, Object.keys(o.desired));
    }
    case "Workflow": {
      const { api_spec_id: _placeholder, ...def } = o.def;
      const liveDoc = withoutServerFields(live);
      const { api_spec_id: liveSpecId, ...liveRest } = liveDoc;
      const liveSpec = (state.objects.ApiSpec ?? []).find((s) => s.id === liveSpecId)?.name;
      const fields = diffPaths(def, liveRest);
      return liveSpec === o.apiSpec ? fields : ["api_spec", ...fields];
    }
    case "SecurityContext":
      return diffPaths(o.context, withoutServerFields(live));
    case "CliTool":
      // No local normalization yet: compare what the manifest sets, as the server echoes it.
      return diffFields(o.body, live, Object.keys(o.body));
    case "Secret":
      return [];
  }
}

export function planApply(
  objects: readonly ManifestObject[],
  state: LiveState,
  opts: { prune: boolean },
): { steps: Step[]; problems: Problem[] } {
  const steps: Step[] = [];
  const problems: Problem[] = [];
  const at = (o: ManifestObject) => ({ origin: o.origin, kind: o.kind, name: o.name });

  const tenants = new Set<unknown>();
  for (const list of Object.values(state.objects)) for (const l of list ?? []) tenants.add(l.tenant_id);
  if (tenants.size > 1)
    problems.push({
      message:
        "the token sees objects of several tenants (an admin '*' token?): apply with a token bound to one tenant",
    });

  const manifestSpecs = new Set(objects.filter((o) => o.kind === "ApiSpec").map((o) => o.name));
  const liveSpecs = new Set((state.objects.ApiSpec ?? []).map((s) => s.name));

  for (const kind of ["Secret", ...MANAGED_KINDS] as const) {
    for (const o of objects) {
      if (o.kind !== kind) continue;
      if (o.kind === "Secret") {
        if (state.secrets.get(o.name) === true) steps.push({ action: "exists", kind: o.kind, name: o.name });
        else
          problems.push({
            ...at(o),
            message: `secret ${JSON.stringify(o.name)} does not exist in this tenant: an admin writes it first (PUT /v1/secrets/${o.name})`,
          });
        continue;
      }
      if (o.kind === "Workflow" && !manifestSpecs.has(o.apiSpec) && !liveSpecs.has(o.apiSpec))
        problems.push({
          ...at(o),
          path: "spec.api_spec",
          message: `no ApiSpec ${JSON.stringify(o.apiSpec)} in the manifest or on the gateway`,
        });
      const list = state.objects[o.kind];
      if (list === null) {
        problems.push({
          ...at(o),
          message: `this gateway has no ${o.kind === "CliTool" ? "CLI-tool" : o.kind} support (${KIND_API[o.kind].collection} not found)`,
        });
        continue;
      }
      const live = list.find((l) => l.name === o.name);
      if (!live) {
        steps.push({ action: "create", kind: o.kind, name: o.name, object: o });
        continue;
      }
      const fields = changedFields(o, live, state);
      if (fields.length === 0) {
        steps.push({ action: "unchanged", kind: o.kind, name: o.name, object: o, live });
        continue;
      }
      if (!KIND_API[o.kind].updatable)
        problems.push({
          ...at(o),
          message: `differs from the live ${o.kind} (fields: ${fields.join(", ")}), and the API cannot change one in place: delete it (and the workflows using it) first, or give it a new name`,
        });
      steps.push({ action: "update", kind: o.kind, name: o.name, fields, object: o, live });
    }
  }
  if (opts.prune) {
    const r = planPrune(objects, state);
    steps.push(...r.steps);
    problems.push(...r.problems);
  }
  return { steps, problems };
}

/** Live objects of the manifest's kinds that it no longer names, in reverse dependency order. */
function planPrune(
  objects: readonly ManifestObject[],
  state: LiveState,
): { steps: Step[]; problems: Problem[] } {
  const kinds = new Set(objects.map((o) => o.kind));
  const names = new Set(objects.map((o) => `${o.kind}\u0000${o.name}`));
  const steps: Step[] = [];
  const pruned = new Set<string>();
  for (const kind of [...MANAGED_KINDS].reverse() as ManagedKind[]) {
    if (!kinds.has(kind)) continue;
    for (const live of state.objects[kind] ?? []) {
      if (names.has(`${kind}\u0000${live.name}`)) continue;
      steps.push({ action: "prune", kind, name: live.name, live });
      pruned.add(`${kind}\u0000${live.name}`);
    }
  }
  const problems: Problem[] = [];
  for (const step of steps) {
    const refusal = (message: string) =>
      problems.push({ kind: step.kind, name: step.name, message: `cannot prune: ${message}` });
    if (step.kind === "ApiSpec") {
      const users = (state.objects.Workflow ?? [])
        .filter((w) => w.api_spec_id === step.live?.id && !pruned.has(`Workflow\u0000${w.name}`))
        .map((w) => w.name);
      const inManifest = objects
        .filter((o) => o.kind === "Workflow" && o.apiSpec === step.name)
        .map((o) => o.name);
      const all = [...new Set([...users, ...inManifest])].sort();
      if (all.length > 0) refusal(`still used by workflow(s) ${named(all)}`);
    } else if (step.kind === "SecurityContext") {
      const sessions = state.activeSessions.filter((s) => s.security_context_name === step.name);
      if (sessions.length > 0)
        refusal(
          `still used by ${sessions.length} active session(s) ${named(sessions.map((s) => s.execution_id))}: revoke them or let them expire first`,
        );
    }
  }
  return { steps, problems };
}
