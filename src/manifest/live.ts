import { type Answer, type ControlClient, describeError } from "./client.js";
import type { ManagedKind } from "./types.js";
import type { ManifestObject } from "./validate.js";

/** Where each managed kind lives in the control-plane API: one generic path for all of them. */
export interface KindApi {
  collection: string;
  /** The member of a listing that holds the objects (else the answer's first array). */
  listKey: string;
  /** Which field of a live object names it in `collection/{…}` for PUT and DELETE. */
  key: "id" | "name";
  /** False where the API has no PUT (a changed object cannot be applied). */
  updatable: boolean;
}

export const KIND_API: Record<ManagedKind, KindApi> = {
  ApiSpec: { collection: "/v1/specs", listKey: "specs", key: "id", updatable: false },
  Workflow: { collection: "/v1/workflows", listKey: "workflows", key: "id", updatable: true },
  SecurityContext: {
    collection: "/v1/security-contexts",
    listKey: "security_contexts",
    key: "name",
    updatable: true,
  },
  CliTool: { collection: "/v1/cli-tools", listKey: "cli_tools", key: "name", updatable: true },
};

export type LiveObject = Record<string, unknown> & { name: string };

export interface LiveState {
  /** Live objects per kind; `null` when the gateway has no route for the kind (404). */
  objects: Record<ManagedKind, LiveObject[] | null>;
  /** Secret keys the manifest declares, and whether each exists. */
  secrets: Map<string, boolean>;
  /** Active sessions (for pruning contexts they use). */
  activeSessions: { execution_id: string; security_context_name: string }[];
}

export class ApiFailure extends Error {}

function expectOk(what: string, a: Answer): unknown {
  if (a.status >= 200 && a.status < 300) return a.body;
  throw new ApiFailure(`${what}: ${describeError(a)}`);
}

function listOf(body: unknown, listKey: string): LiveObject[] {
  if (typeof body !== "object" || body === null) return [];
  const record = body as Record<string, unknown>;
  const list = Array.isArray(record[listKey]) ? record[listKey] : Object.values(record).find(Array.isArray);
  return ((list ?? []) as unknown[]).filter(
    (o): o is LiveObject =>
      typeof o === "object" && o !== null && typeof (o as { name?: unknown }).name === "string",
  );
}

/** Reads what the manifest needs to be compared with: every call a GET. */
export async function readLiveState(
  client: ControlClient,
  objects: readonly ManifestObject[],
  opts: { prune: boolean },
): Promise<LiveState> {
  const kinds = new Set(objects.map((o) => o.kind));
  const live = {} as Record<ManagedKind, LiveObject[] | null>;
  for (const [kind, api] of Object.entries(KIND_API) as [ManagedKind, KindApi][]) {
    // CLI tools are read only when the manifest has some (older gateways lack the route).
    if (kind === "CliTool" && !kinds.has("CliTool")) {
      live[kind] = [];
      continue;
    }
    const a = await client.request("GET", api.collection);
    live[kind] = a.status === 404 ? null : listOf(expectOk(`GET ${api.collection}`, a), api.listKey);
  }
  const secrets = new Map<string, boolean>();
  for (const o of objects) {
    if (o.kind !== "Secret") continue;
    // Metadata only: the API never returns a value.
    const a = await client.request("GET", `/v1/secrets/${o.name}`);
    if (a.status === 404) secrets.set(o.name, false);
    else {
      expectOk(`GET /v1/secrets/${o.name}`, a);
      secrets.set(o.name, true);
    }
  }
  let activeSessions: LiveState["activeSessions"] = [];
  if (opts.prune && kinds.has("SecurityContext")) {
    const body = expectOk(
      "GET /v1/seal/sessions",
      await client.request("GET", "/v1/seal/sessions?status=Active"),
    );
    activeSessions = ((body as { sessions?: unknown[] }).sessions ?? []) as LiveState["activeSessions"];
  }
  return { objects: live, secrets, activeSessions };
}
