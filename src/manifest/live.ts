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

/**
 * Every page of a listing: the first request carries no parameters (a gateway older than
 * pagination answers it whole), then `next_cursor` is followed until it is null or absent.
 * Undefined when the gateway has no such route (404) and `optional` says that may be.
 */
async function readAllPages(
  client: ControlClient,
  collection: string,
  listKey: string,
  optional: boolean,
): Promise<{ items: unknown[]; bodies: unknown[] } | undefined> {
  const bodies: unknown[] = [];
  const seen = new Set<string>();
  let path = collection;
  for (;;) {
    const a = await client.request("GET", path);
    if (optional && a.status === 404 && bodies.length === 0) return undefined;
    const body = expectOk(`GET ${collection}`, a);
    bodies.push(body);
    const next = (body as { next_cursor?: unknown } | null)?.next_cursor;
    if (typeof next !== "string" || seen.has(next)) break;
    seen.add(next);
    path = `${collection}${collection.includes("?") ? "&" : "?"}cursor=${encodeURIComponent(next)}`;
  }
  const items = bodies.flatMap((b) => {
    const list = typeof b === "object" && b !== null ? (b as Record<string, unknown>)[listKey] : undefined;
    return Array.isArray(list) ? list : [];
  });
  return { items, bodies };
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
    const pages = await readAllPages(client, api.collection, api.listKey, true);
    live[kind] = pages === undefined ? null : pages.bodies.flatMap((b) => listOf(b, api.listKey));
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
    const pages = await readAllPages(client, "/v1/seal/sessions?status=Active", "sessions", false);
    activeSessions = (pages?.items ?? []) as LiveState["activeSessions"];
  }
  return { objects: live, secrets, activeSessions };
}
