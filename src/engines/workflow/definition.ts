/**
 * The shape of a workflow definition (DESIGN §5 "Workflows"), checked on its own, before the
 * spec is consulted. Everything is a strict object: a misspelt key (`extractor`, `on_eror`)
 * is refused instead of silently dropped, because a dropped key changes what runs.
 */
import { z } from "zod";
import { GATEWAY_OWNED_HEADERS } from "../../egress/headers.js";
import { jsonPath, type PathSegment } from "../openapi/spec-path.js";

export interface DefinitionProblem {
  /** JSONPath into the definition (`$.steps[1].query_params.email`). */
  path: string;
  message: string;
}

export const MAX_STEPS = 32;
export const MAX_STEP_TIMEOUT_MS = 60_000;
export const MAX_TEMPLATE_LENGTH = 16_384;
export const MAX_MAP_ENTRIES = 64;
const MAX_BODY_DEPTH = 32;

export const TOOL_NAME = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
// RFC 9110 token: anything else could split or fold a header line.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Names a template could use to climb out of the data: refused as step and variable names so
 * that template paths naming them can be refused outright (see template-ast.ts).
 */
export function isReservedName(name: string): boolean {
  return name.startsWith("__") || name === "constructor" || name === "prototype";
}

/** State keys the runner writes itself next to the extracted variables. */
export const STATE_KEYS = new Set(["status", "error"]);

const template = z
  .string()
  .max(MAX_TEMPLATE_LENGTH, `a template is at most ${MAX_TEMPLATE_LENGTH} characters`);

function templateMap(keyCheck: (key: string) => string | null) {
  return z.record(z.string(), template).superRefine((map, ctx) => {
    const keys = Object.keys(map);
    if (keys.length > MAX_MAP_ENTRIES)
      ctx.addIssue({ code: "custom", message: `at most ${MAX_MAP_ENTRIES} entries` });
    for (const key of keys) {
      const why = keyCheck(key);
      if (why !== null) ctx.addIssue({ code: "custom", path: [key], message: why });
    }
  });
}

const paramMap = templateMap((k) => (k === "" ? "a parameter name must not be empty" : null));

const headerMap = templateMap((k) => {
  if (!HEADER_NAME.test(k)) return "not a valid HTTP header name";
  if (GATEWAY_OWNED_HEADERS.has(k.toLowerCase()) || k.toLowerCase().startsWith("proxy-"))
    return `header ${k} is set by the gateway and cannot be templated`;
  return null;
});

const extractorMap = z.record(z.string(), z.string().max(1024)).superRefine((map, ctx) => {
  const keys = Object.keys(map);
  if (keys.length > MAX_MAP_ENTRIES)
    ctx.addIssue({ code: "custom", message: `at most ${MAX_MAP_ENTRIES} extractors` });
  for (const key of keys) {
    if (!IDENTIFIER.test(key) || isReservedName(key)) {
      ctx.addIssue({ code: "custom", path: [key], message: "an extractor variable must be an identifier" });
    } else if (STATE_KEYS.has(key)) {
      ctx.addIssue({
        code: "custom",
        path: [key],
        message: `"${key}" is set by the runner; choose another name`,
      });
    }
  }
});

function depthOf(value: unknown, depth = 0): number {
  if (typeof value !== "object" || value === null) return depth;
  let max = depth + 1;
  for (const v of Object.values(value)) {
    max = Math.max(max, depthOf(v, depth + 1));
    if (max > MAX_BODY_DEPTH) return max;
  }
  return max;
}

const bodyTemplate = z.union([
  template,
  z
    .union([z.array(z.json()), z.record(z.string(), z.json())])
    .refine((v) => depthOf(v) <= MAX_BODY_DEPTH, `a body template nests at most ${MAX_BODY_DEPTH} levels`)
    .refine((v) => JSON.stringify(v).length <= 4 * MAX_TEMPLATE_LENGTH, "the body template is too large"),
]);

const onError = z
  .union(
    [
      z.enum(["AbortWorkflow", "Continue", "fail", "continue"]),
      z.strictObject({ RetryN: z.int().min(1, "RetryN is 1 to 5").max(5, "RetryN is 1 to 5") }),
    ],
    { error: 'on_error must be "AbortWorkflow", "Continue", "fail", "continue" or {"RetryN": 1..5}' },
  )
  .transform((v): OnError => {
    if (v === "fail" || v === "AbortWorkflow") return "AbortWorkflow";
    if (v === "continue" || v === "Continue") return "Continue";
    return { RetryN: v.RetryN };
  });

export type OnError = "AbortWorkflow" | "Continue" | { RetryN: number };

const METHODS = ["GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH"] as const;

export const WorkflowStep = z
  .strictObject({
    name: z
      .string()
      .regex(IDENTIFIER, "a step name must match ^[A-Za-z_][A-Za-z0-9_]*$")
      .max(64)
      .refine((n) => !isReservedName(n), "this step name is reserved"),
    operation_id: z.string().min(1).max(256).optional(),
    method: z
      .string()
      .transform((m) => m.toUpperCase())
      .pipe(z.enum(METHODS, "method must be one of GET, PUT, POST, DELETE, OPTIONS, HEAD, PATCH"))
      .optional(),
    path: z.string().startsWith("/", 'a path starts with "/"').max(2048).optional(),
    path_params: paramMap.optional(),
    query_params: paramMap.optional(),
    headers: headerMap.optional(),
    body_template: bodyTemplate.optional(),
    extractors: extractorMap.optional(),
    on_error: onError,
    timeout_ms: z
      .int()
      .min(1)
      .max(MAX_STEP_TIMEOUT_MS, `timeout_ms is at most ${MAX_STEP_TIMEOUT_MS}`)
      .optional(),
  })
  .superRefine((step, ctx) => {
    const byId = step.operation_id !== undefined;
    const byPath = step.method !== undefined || step.path !== undefined;
    if (byId && byPath) {
      ctx.addIssue({ code: "custom", message: "give either operation_id or method and path, not both" });
    } else if (!byId && (step.method === undefined || step.path === undefined)) {
      ctx.addIssue({ code: "custom", message: "a step needs operation_id, or both method and path" });
    }
  });
export type WorkflowStep = z.infer<typeof WorkflowStep>;

export const WorkflowDefinition = z
  .strictObject({
    name: z
      .string()
      // 64: the longest tool name MCP clients accept (names are shown to them as registered).
      .max(64, "a tool name is at most 64 characters (MCP clients refuse longer names)")
      .regex(TOOL_NAME, "not a valid tool name"),
    description: z.string().max(4096),
    input_schema: z.record(z.string(), z.json()),
    api_spec_id: z.string().min(1).max(256),
    steps: z
      .array(WorkflowStep)
      .min(1, "a workflow has at least one step")
      .max(MAX_STEPS, `at most ${MAX_STEPS} steps`),
  })
  .superRefine((def, ctx) => {
    const seen = new Set<string>();
    def.steps.forEach((step, i) => {
      if (seen.has(step.name))
        ctx.addIssue({ code: "custom", path: ["steps", i, "name"], message: "duplicate step name" });
      seen.add(step.name);
    });
  });
export type WorkflowDefinition = z.infer<typeof WorkflowDefinition>;

export type ParseDefinitionResult =
  | { ok: true; def: WorkflowDefinition }
  | { ok: false; problems: DefinitionProblem[] };

/** `__proto__` as a key cannot be represented faithfully by the parsed objects: refused anywhere. */
function protoKeys(value: unknown, at: PathSegment[], out: DefinitionProblem[], depth = 0): void {
  if (typeof value !== "object" || value === null || depth > MAX_BODY_DEPTH + 8) return;
  for (const key of Object.keys(value)) {
    const next = [...at, Array.isArray(value) ? Number(key) : key];
    if (key === "__proto__") out.push({ path: jsonPath(next), message: "the key __proto__ is not allowed" });
    protoKeys((value as Record<string, unknown>)[key], next, out, depth + 1);
  }
}

/** Checks the definition's shape; every problem is reported, each with its path. */
export function parseWorkflowDefinition(raw: unknown): ParseDefinitionResult {
  const problems: DefinitionProblem[] = [];
  protoKeys(raw, [], problems);
  const parsed = WorkflowDefinition.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const segments = issue.path.filter((p): p is PathSegment => typeof p !== "symbol");
      problems.push({ path: jsonPath(segments), message: issue.message });
    }
  }
  if (problems.length > 0 || !parsed.success) return { ok: false, problems };
  return { ok: true, def: parsed.data };
}
