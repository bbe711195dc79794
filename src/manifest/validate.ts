import type { z } from "zod";
import { parseCredentialPath, secretKeyProblem } from "../credentials/path.js";
import { CliToolDefinition } from "../engines/cli/definition.js";
import { loadSpec } from "../engines/openapi/load-spec.js";
import { baseUrlProblem } from "../engines/openapi/servers.js";
import { jsonPath, type PathSegment } from "../engines/openapi/spec-path.js";
import type { IndexedSpec } from "../engines/openapi/types.js";
import { sha256Canonical, validateAgainstSpec } from "../engines/workflow/compile.js";
import { parseWorkflowDefinition, type WorkflowDefinition } from "../engines/workflow/definition.js";
import { parseSecurityContext, type SecurityContext } from "../policy/context-schema.js";
import { RegisterSpecInput } from "../services/specs.js";
import { KINDS, type Kind, type Origin, type Problem, type RawDocument } from "./types.js";

/**
 * Checks every document on its own and against the others, with the server's own schemas
 * (imported, never copied), so a manifest the gateway would refuse is refused before
 * anything is written. Checks that need the live gateway are in plan.ts.
 */

interface Base {
  origin: Origin;
  name: string;
}
export interface ApiSpecDoc extends Base {
  kind: "ApiSpec";
  /** The REST body as written (the server parses it itself). */
  body: Record<string, unknown>;
  /** The fields compared with the live spec, normalized as the server stores them. */
  desired: Record<string, unknown>;
  /** The inline document, loaded as the server will load it (absent for source_url). */
  indexed?: IndexedSpec;
}
export interface WorkflowDoc extends Base {
  kind: "Workflow";
  apiSpec: string;
  /** The REST body without `api_spec_id` (resolved to the spec's id when applied). */
  body: Record<string, unknown>;
  /** The definition as the server stores it (its `api_spec_id` is a placeholder). */
  def: WorkflowDefinition;
}
export interface SecurityContextDoc extends Base {
  kind: "SecurityContext";
  body: Record<string, unknown>;
  context: SecurityContext;
}
export interface CliToolDoc extends Base {
  kind: "CliTool";
  body: Record<string, unknown>;
}
export interface SecretDoc extends Base {
  kind: "Secret";
}
export type ManifestObject = ApiSpecDoc | WorkflowDoc | SecurityContextDoc | CliToolDoc | SecretDoc;

const DOC_FIELDS = new Set(["kind", "name", "spec"]);
const SECRET_VALUE_FIELDS = /^(value|value_b64|value_base64|data|string_data|stringdata|secret|plaintext)$/i;
const SECRET_VALUE_MESSAGE =
  "inline secret values are refused in manifests: a Secret document only declares that the key must exist (write the value with PUT /v1/secrets/{key}, as an admin)";
const PLACEHOLDER_SPEC_ID = "spec_from_manifest";

/** `spec.steps[0].on_error` from zod's issue path. */
function specPath(segments: readonly PropertyKey[]): string {
  return jsonPath(segments.filter((s): s is PathSegment => typeof s !== "symbol")).replace(/^\$/, "spec");
}

function zodProblems(issues: readonly z.core.$ZodIssue[]): { path: string; message: string }[] {
  return issues.flatMap((i) =>
    i.code === "unrecognized_keys"
      ? i.keys.map((k) => ({ path: specPath([...i.path, k]), message: "unknown field" }))
      : [{ path: specPath(i.path), message: i.message }],
  );
}

/** `capabilities[0].x` or `$.steps[0]` (the server's forms) to `spec.…`. */
function fromServerPath(path: string): string {
  const rest = path.replace(/^\$/, "");
  if (rest === "") return "spec";
  return rest.startsWith("[") || rest.startsWith(".") ? `spec${rest}` : `spec.${rest}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

type Check<T> = { ok: true; doc: T } | { ok: false; problems: { path: string; message: string }[] };

function bodyWithName(
  spec: Record<string, unknown>,
  name: string,
): { body: Record<string, unknown>; problems: { path: string; message: string }[] } {
  const problems: { path: string; message: string }[] = [];
  if (spec.name !== undefined && spec.name !== name)
    problems.push({ path: "spec.name", message: `must equal the document's name ${JSON.stringify(name)}` });
  if (spec.tenant_id !== undefined)
    problems.push({
      path: "spec.tenant_id",
      message: "not allowed in a manifest: the tenant is the operator token's",
    });
  const { tenant_id: _t, ...rest } = spec;
  return { body: { ...rest, name }, problems };
}

function hostOf(url: string): string {
  return new URL(url).hostname.toLowerCase().replace(/^\[|\]$/g, "");
}

function checkApiSpec(origin: Origin, name: string, spec: Record<string, unknown>): Check<ApiSpecDoc> {
  const { body, problems } = bodyWithName(spec, name);
  const parsed = RegisterSpecInput.safeParse(body);
  if (!parsed.success) return { ok: false, problems: [...problems, ...zodProblems(parsed.error.issues)] };
  const input = parsed.data;
  let credentialPath: unknown = null;
  if (input.credential_path !== undefined && input.credential_path !== null) {
    const cp = parseCredentialPath(input.credential_path);
    if (cp.ok) credentialPath = cp.path;
    else problems.push(...cp.problems.map((p) => ({ path: fromServerPath(p.path), message: p.message })));
  }
  const baseWhy = input.base_url ? baseUrlProblem(input.base_url) : null;
  if (baseWhy) problems.push({ path: "spec.base_url", message: `base_url ${baseWhy}` });
  let indexed: IndexedSpec | undefined;
  if (input.source_url === undefined) {
    const loaded = loadSpec({
      ...(input.inline_json !== undefined ? { inline_json: input.inline_json } : {}),
      ...(input.inline_yaml !== undefined ? { inline_yaml: input.inline_yaml } : {}),
    });
    const field = input.inline_json !== undefined ? "inline_json" : "inline_yaml";
    if (loaded.ok) indexed = loaded.spec;
    else
      problems.push(
        ...loaded.problems.map((p) => ({
          path: `spec.${field}${p.path.replace(/^\$/, "")}`,
          message: p.message,
        })),
      );
  }
  if (problems.length > 0) return { ok: false, problems };
  const desired: Record<string, unknown> = {
    base_url: input.base_url ?? null,
    source_url: input.source_url ?? null,
    credential_path: credentialPath,
  };
  if (input.allowed_hosts !== undefined) {
    const hosts = new Set(input.allowed_hosts);
    if (input.base_url) hosts.add(hostOf(input.base_url));
    desired.allowed_hosts = [...hosts].sort();
  }
  // The hash the server records for the stored document: equal hashes, equal documents.
  if (indexed) desired.hash = sha256Canonical(indexed.document);
  return {
    ok: true,
    doc: { kind: "ApiSpec", origin, name, body, desired, ...(indexed ? { indexed } : {}) },
  };
}

function checkWorkflow(origin: Origin, name: string, spec: Record<string, unknown>): Check<WorkflowDoc> {
  const { body: withName, problems } = bodyWithName(spec, name);
  const { api_spec: apiSpec, api_spec_id: apiSpecId, ...body } = withName;
  if (apiSpecId !== undefined)
    problems.push({
      path: "spec.api_spec_id",
      message: "a manifest names its spec by name: use api_spec: <ApiSpec name>",
    });
  if (typeof apiSpec !== "string" || apiSpec === "")
    problems.push({ path: "spec.api_spec", message: "required: the name of the ApiSpec the workflow uses" });
  const parsed = parseWorkflowDefinition({ ...body, api_spec_id: PLACEHOLDER_SPEC_ID });
  if (!parsed.ok)
    problems.push(...parsed.problems.map((p) => ({ path: fromServerPath(p.path), message: p.message })));
  if (problems.length > 0 || !parsed.ok || typeof apiSpec !== "string") return { ok: false, problems };
  return { ok: true, doc: { kind: "Workflow", origin, name, apiSpec, body, def: parsed.def } };
}

function checkContext(
  origin: Origin,
  name: string,
  spec: Record<string, unknown>,
): Check<SecurityContextDoc> {
  const { body, problems } = bodyWithName(spec, name);
  const parsed = parseSecurityContext(body);
  if (!parsed.ok)
    problems.push(...parsed.problems.map((p) => ({ path: fromServerPath(p.path), message: p.message })));
  if (problems.length > 0 || !parsed.ok) return { ok: false, problems };
  return { ok: true, doc: { kind: "SecurityContext", origin, name, body, context: parsed.context } };
}

// The server's own schema: a definition it would refuse is refused here, and the body sent is
// the parsed one (defaults filled in), so the diff against the server's echo of it is empty
// when nothing changed (a mount's default `read_only` would otherwise differ on every apply).
// Pinning the image is the server's check: it depends on the gateway's dev_mode.
function checkCliTool(origin: Origin, name: string, spec: Record<string, unknown>): Check<CliToolDoc> {
  const { body, problems } = bodyWithName(spec, name);
  const parsed = CliToolDefinition.safeParse(body);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const at = issue.path.filter((p): p is string | number => typeof p !== "symbol");
      problems.push({ path: fromServerPath(jsonPath(at)), message: issue.message });
    }
  }
  if (problems.length > 0 || !parsed.success) return { ok: false, problems };
  return { ok: true, doc: { kind: "CliTool", origin, name, body: parsed.data } };
}

function checkSecret(origin: Origin, name: string, doc: Record<string, unknown>): Check<SecretDoc> {
  const problems: { path: string; message: string }[] = [];
  const why = secretKeyProblem(name);
  if (why) problems.push({ path: "name", message: `not a valid secret key: ${why}` });
  const spec = doc.spec;
  if (spec !== undefined && spec !== null) {
    if (!isObject(spec)) problems.push({ path: "spec", message: "a Secret has no spec (or an empty one)" });
    else
      for (const key of Object.keys(spec))
        problems.push({
          path: `spec.${key}`,
          message: SECRET_VALUE_FIELDS.test(key)
            ? SECRET_VALUE_MESSAGE
            : "unknown field (a Secret has no spec)",
        });
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, doc: { kind: "Secret", origin, name } };
}

/** The document's own frame: kind, name, spec, nothing else. */
function frame(raw: RawDocument): { kind: Kind; name: string; value: Record<string, unknown> } | Problem[] {
  const origin = raw.origin;
  if (!isObject(raw.value)) return [{ origin, message: "a document must be an object {kind, name, spec}" }];
  const v = raw.value;
  const kind = KINDS.find((k) => k === v.kind);
  const name = typeof v.name === "string" && v.name !== "" ? v.name : undefined;
  const problems: Problem[] = [];
  const shownKind = kind ?? (typeof v.kind === "string" ? v.kind.slice(0, 64) : undefined);
  const at = { origin, ...(shownKind ? { kind: shownKind } : {}), ...(name ? { name } : {}) };
  if (v.kind === undefined)
    problems.push({ ...at, path: "kind", message: `required: one of ${KINDS.join(", ")}` });
  else if (!kind)
    problems.push({ ...at, path: "kind", message: `unknown kind: expected one of ${KINDS.join(", ")}` });
  if (name === undefined) problems.push({ ...at, path: "name", message: "required: a non-empty string" });
  for (const key of Object.keys(v)) {
    if (DOC_FIELDS.has(key)) continue;
    const message =
      kind === "Secret" && SECRET_VALUE_FIELDS.test(key)
        ? SECRET_VALUE_MESSAGE
        : "unknown field (a document has kind, name and spec)";
    problems.push({ ...at, path: key, message });
  }
  if (kind !== "Secret" && !isObject(v.spec))
    problems.push({ ...at, path: "spec", message: "required: an object with the REST body's fields" });
  if (problems.length > 0 || !kind || name === undefined) return problems;
  return { kind, name, value: v };
}

const TOOL_KINDS = new Set<Kind>(["Workflow", "CliTool"]);

/** Every document checked; every problem reported, each with its file, index and path. */
export function validateDocuments(raws: readonly RawDocument[]): {
  objects: ManifestObject[];
  problems: Problem[];
} {
  const objects: ManifestObject[] = [];
  const problems: Problem[] = [];
  const seen = new Map<string, Origin>();
  const tools = new Map<string, { kind: Kind; origin: Origin }>();
  for (const raw of raws) {
    const f = frame(raw);
    if (Array.isArray(f)) {
      problems.push(...f);
      continue;
    }
    const { kind, name, value } = f;
    const at = { origin: raw.origin, kind, name };
    const key = `${kind}\u0000${name}`;
    const first = seen.get(key);
    if (first) {
      problems.push({
        ...at,
        message: `duplicate ${kind} ${JSON.stringify(name)} (first at ${first.file}#${first.index})`,
      });
      continue;
    }
    seen.set(key, raw.origin);
    if (TOOL_KINDS.has(kind)) {
      // Tool names are unique per tenant across kinds.
      const other = tools.get(name);
      if (other && other.kind !== kind)
        problems.push({
          ...at,
          path: "name",
          message: `the tool name is also used by ${other.kind} at ${other.origin.file}#${other.origin.index}`,
        });
      tools.set(name, { kind, origin: raw.origin });
    }
    const spec = value.spec as Record<string, unknown>;
    const checked =
      kind === "ApiSpec"
        ? checkApiSpec(raw.origin, name, spec)
        : kind === "Workflow"
          ? checkWorkflow(raw.origin, name, spec)
          : kind === "SecurityContext"
            ? checkContext(raw.origin, name, spec)
            : kind === "CliTool"
              ? checkCliTool(raw.origin, name, spec)
              : checkSecret(raw.origin, name, value);
    if (checked.ok) objects.push(checked.doc);
    else problems.push(...checked.problems.map((p) => ({ ...at, ...p })));
  }
  problems.push(...crossCheck(objects));
  return { objects, problems };
}

/** Workflows against the specs of the same manifest: their operations must exist there. */
function crossCheck(objects: readonly ManifestObject[]): Problem[] {
  const specs = new Map<string, ApiSpecDoc>();
  for (const o of objects) if (o.kind === "ApiSpec") specs.set(o.name, o);
  const problems: Problem[] = [];
  for (const o of objects) {
    if (o.kind !== "Workflow") continue;
    const indexed = specs.get(o.apiSpec)?.indexed;
    if (!indexed) continue;
    for (const p of validateAgainstSpec(o.def, indexed))
      problems.push({
        origin: o.origin,
        kind: o.kind,
        name: o.name,
        path: fromServerPath(p.path),
        message: p.message,
      });
  }
  return problems;
}
