import { z } from "zod";
import { isPublic, type RouteEntry } from "./routes.js";

/**
 * GET /openapi.json (DESIGN §7): the gateway's own API as an OpenAPI 3.1 document, generated
 * from the one route table and the zod schemas the verbs parse their input with — so the
 * document cannot drift from what is validated. Nothing here is written per route: a route's
 * path, method, role, description, HTTP binding and schemas come from `ROUTES`.
 */

type JsonSchema = Record<string, unknown>;

const ERROR_SCHEMA: JsonSchema = {
  type: "object",
  description: "The SEAL error object (DESIGN §5; codes in docs/api.md).",
  required: ["protocol", "status", "error"],
  properties: {
    protocol: { const: "seal/v1" },
    status: { const: "error" },
    error: {
      type: "object",
      required: ["code", "message", "timestamp", "request_id", "details"],
      properties: {
        code: { type: "integer", description: "The SEAL code (1000–5999)." },
        message: { type: "string" },
        timestamp: { type: "string", format: "date-time" },
        request_id: { description: "The envelope's JSON-RPC id, or null." },
        details: {
          type: "object",
          properties: { reason: { type: "string" } },
          additionalProperties: true,
        },
      },
    },
  },
};

/**
 * Shared definitions: zod writes recursive parts (JSON values) as `#/$defs/…`, which inside an
 * OpenAPI document would point at the document's root. They are moved to
 * `components.schemas` under a name unique to the schema they came from, and every `$ref`
 * rewritten to match.
 */
const components: { schemas: Record<string, JsonSchema>; counter: number } = { schemas: {}, counter: 0 };

function rewriteRefs(node: unknown, names: Map<string, string>): unknown {
  if (Array.isArray(node)) return node.map((n) => rewriteRefs(n, names));
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "$ref" && typeof v === "string" && v.startsWith("#/$defs/")) {
      const target = names.get(v.slice("#/$defs/".length));
      out[k] = target ? `#/components/schemas/${target}` : v;
    } else out[k] = rewriteRefs(v, names);
  }
  return out;
}

/** zod → JSON Schema as the request sees it (before transforms and defaults). */
function inputSchema(schema: z.ZodType): JsonSchema {
  const raw = z.toJSONSchema(schema, {
    io: "input",
    target: "draft-2020-12",
    unrepresentable: "any",
  }) as JsonSchema;
  delete raw.$schema;
  const defs = (raw.$defs as Record<string, JsonSchema> | undefined) ?? {};
  delete raw.$defs;
  const names = new Map<string, string>();
  for (const key of Object.keys(defs)) names.set(key, `Def${++components.counter}`);
  for (const [key, def] of Object.entries(defs))
    components.schemas[names.get(key) as string] = rewriteRefs(def, names) as JsonSchema;
  return rewriteRefs(raw, names) as JsonSchema;
}

/** hono's `/v1/x/:id{regex}` → OpenAPI's `/v1/x/{id}`, with the parameter names in order. */
export function openApiPath(path: string): { path: string; params: string[] } {
  const params: string[] = [];
  const converted = path.replace(/:([A-Za-z_][A-Za-z0-9_]*)(\{[^}]*\}+)?/g, (_m, name: string) => {
    params.push(name);
    return `{${name}}`;
  });
  return { path: converted, params };
}

function operationId(method: string, path: string): string {
  const words = path
    .replace(/\{([^}]+)\}/g, "by-$1")
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  return [method.toLowerCase(), ...words].join("_");
}

function objectParts(schema: JsonSchema): { properties: Record<string, JsonSchema>; required: string[] } {
  return {
    properties: (schema.properties as Record<string, JsonSchema> | undefined) ?? {},
    required: (schema.required as string[] | undefined) ?? [],
  };
}

function without(schema: JsonSchema, names: readonly string[]): JsonSchema {
  const { properties, required } = objectParts(schema);
  const kept = Object.fromEntries(Object.entries(properties).filter(([k]) => !names.includes(k)));
  const out: JsonSchema = { ...schema, properties: kept };
  const req = required.filter((k) => !names.includes(k));
  if (req.length > 0) out.required = req;
  else delete out.required;
  return out;
}

function operation(route: RouteEntry, params: string[]): JsonSchema {
  const op: JsonSchema = {
    operationId: operationId(route.method, openApiPath(route.path).path),
    summary: route.description,
    description: route.description,
    tags: [tagOf(route.path)],
  };
  const parameters: JsonSchema[] = [];
  const schema = route.input ? inputSchema(route.input) : null;
  const { properties } = schema ? objectParts(schema) : { properties: {} as Record<string, JsonSchema> };
  for (const name of params) {
    parameters.push({
      name,
      in: "path",
      required: true,
      schema: properties[name] ?? { type: "string" },
      ...(isPublic(route) || !route.http.secretKey
        ? {}
        : { description: "The secret's key; it may contain `/` (the rest of the path)." }),
    });
  }
  const responses: Record<string, JsonSchema> = {
    default: { description: "A SEAL error.", content: { "application/json": { schema: ERROR_SCHEMA } } },
  };

  if (isPublic(route)) {
    op.security = [];
    if (route.input) {
      op.requestBody = {
        required: true,
        content: { "application/json": { schema: inputSchema(route.input) } },
      };
    } else if (route.bodyNote) {
      op.requestBody = {
        required: true,
        description: route.bodyNote,
        content: { "application/json": { schema: { type: "object" } } },
      };
    }
    responses["200"] = { description: "Success." };
  } else {
    op.security = [{ operatorToken: [] }];
    op["x-seal-role"] = route.role;
    const http = route.http;
    const bound = [...params, ...(http.secretKey ? ["key"] : [])];
    if (http.query && schema) {
      const { properties: props, required } = objectParts(schema);
      const bodyFields = http.body === "fields" ? Object.keys(props) : [];
      for (const [name, s] of Object.entries(props)) {
        if (bound.includes(name)) continue;
        if (http.body === "fields" && bodyFields.includes(name) && name !== "tenant_id") continue;
        parameters.push({ name, in: "query", required: required.includes(name), schema: s });
      }
    }
    const body = requestBody(route, schema, bound);
    if (body) op.requestBody = body;
    const ok = http.status === 201 ? "201" : "200";
    const answer: JsonSchema = {
      description: http.status === "created" ? "Written (201 when new, 200 when replaced)." : "Success.",
    };
    if (http.text) answer.content = { "text/plain": { schema: { type: "string" } } };
    else if (http.sse) answer.content = { "text/event-stream": { schema: { type: "string" } } };
    else if (http.listing) answer.content = { "application/json": { schema: pageSchema(http.listing) } };
    else if (route.output) answer.content = { "application/json": { schema: inputSchema(route.output) } };
    else answer.content = { "application/json": { schema: { type: "object" } } };
    responses[ok] = answer;
    if (http.status === "created") responses["201"] = answer;
  }
  if (parameters.length > 0) op.parameters = parameters;
  op.responses = responses;
  return op;
}

/** A listing's answer (docs/api.md "Pagination"): its rows and the cursor of the next page. */
function pageSchema(member: string): JsonSchema {
  return {
    type: "object",
    required: [member, "next_cursor"],
    properties: {
      [member]: { type: "array", items: { type: "object" } },
      next_cursor: {
        type: ["string", "null"],
        description: "Pass as `cursor` for the next page; null on the last page.",
      },
    },
  };
}

function requestBody(
  route: Extract<RouteEntry, { public?: false }>,
  schema: JsonSchema | null,
  bound: string[],
): JsonSchema | null {
  const http = route.http;
  if (!http.body) return null;
  let body: JsonSchema;
  if (http.body === "document")
    body = route.document ? inputSchema(route.document) : (schema ?? { type: "object" });
  else if (http.body === "fields")
    body = schema ? without(without(schema, bound), http.query ? ["tenant_id"] : []) : { type: "object" };
  else body = route.document ? inputSchema(route.document) : { type: "object" };
  return { required: !http.allowEmpty, content: { "application/json": { schema: body } } };
}

function tagOf(path: string): string {
  const parts = path.split("/").filter(Boolean);
  if (parts[0] !== "v1") return "operations";
  return parts[1] === "seal" ? `seal/${parts[2] ?? ""}`.replace(/\/$/, "") : (parts[1] ?? "v1");
}

export function openApiDocument(routes: readonly RouteEntry[], version: string): JsonSchema {
  components.schemas = {};
  components.counter = 0;
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const { path, params } = openApiPath(route.path);
    paths[path] ??= {};
    (paths[path] as Record<string, JsonSchema>)[route.method.toLowerCase()] = operation(route, params);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "SEAL gateway",
      version,
      description:
        "The gateway's own API: the agent plane (SEAL envelopes, MCP), the control plane (operator " +
        "tokens, roles and tenants as in DESIGN §7) and operations. Generated from the route table " +
        "and the schemas that validate each request.",
    },
    paths,
    components: {
      securitySchemes: {
        operatorToken: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description:
            "An operator token (`seal-gateway token --role R`); `x-seal-role` names the least role.",
        },
      },
      schemas: { Error: ERROR_SCHEMA, ...components.schemas },
    },
  };
}
