import type { PlainJson } from "../../seal/json.js";

/** One thing wrong with a spec; `path` is a JSONPath into the document (`$.paths['/pets'].get`). */
export interface SpecProblem {
  path: string;
  message: string;
}

export type LoadResult = { ok: true; spec: IndexedSpec } | { ok: false; problems: SpecProblem[] };

export const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export type ParameterLocation = "path" | "query" | "header" | "cookie";

/**
 * A dereferenced JSON Schema. Local `$ref`s are replaced by the object they point to, so a
 * recursive schema is a cyclic object graph: walk it with a visited set, never `JSON.stringify`
 * it (the un-dereferenced `IndexedSpec.document` is the serializable form).
 */
export type JsonSchema = { readonly [key: string]: unknown } | boolean;

export interface MediaTypeInfo {
  schema: JsonSchema | undefined;
}

export interface OperationParameter {
  name: string;
  in: ParameterLocation;
  /** Always true for path parameters, whatever the spec says (a missing segment changes the URL). */
  required: boolean;
  schema: JsonSchema | undefined;
  /** Set when the parameter is described by `content` (a serialized value) instead of `schema`. */
  contentType: string | undefined;
  style: string;
  explode: boolean;
  deprecated: boolean;
  description: string | undefined;
}

export interface OperationRequestBody {
  required: boolean;
  /** Media type → schema, keys as written in the spec. */
  content: { [mediaType: string]: MediaTypeInfo };
}

export interface OperationResponse {
  description: string | undefined;
  content: { [mediaType: string]: MediaTypeInfo };
}

/** `{schemeName: scopes}`; an empty object in the list means "anonymous is allowed". */
export type SecurityRequirement = { [scheme: string]: string[] };

/** A server URL with its variables replaced by their defaults. */
export interface ResolvedServer {
  url: string;
  /** The URL as written in the spec, variables included. */
  template: string;
  description: string | undefined;
}

export interface SpecOperation {
  /** Null when the spec gives none: such an operation is reachable by method and path only. */
  operationId: string | null;
  /** Upper case, as sent on the wire. */
  method: Uppercase<HttpMethod>;
  pathTemplate: string;
  summary: string | undefined;
  description: string | undefined;
  deprecated: boolean;
  /** Path-item and operation parameters merged; the operation's win on the same name and `in`. */
  parameters: OperationParameter[];
  requestBody: OperationRequestBody | null;
  /** Status code (`200`, `4XX`, `default`) → response. */
  responses: { [status: string]: OperationResponse };
  /** Effective requirements (operation level, else root level); `[]` means no authentication. */
  security: SecurityRequirement[];
  /** Effective servers (operation, else path item, else root). */
  servers: ResolvedServer[];
}

/** How a credential is put on the request for one security scheme (DESIGN §4). */
export type CredentialInjection =
  | { kind: "bearer" }
  | { kind: "basic" }
  | { kind: "apiKey"; in: "header" | "query" | "cookie"; name: string }
  /** A scheme the gateway cannot fill (http digest, mutualTLS…): the injector must fail closed. */
  | { kind: "unsupported"; reason: string };

export interface SecurityScheme {
  name: string;
  type: "http" | "apiKey" | "oauth2" | "openIdConnect" | "mutualTLS";
  /** Lowercase `scheme` of an http scheme (`bearer`, `basic`, …). */
  scheme: string | undefined;
  bearerFormat: string | undefined;
  description: string | undefined;
  injection: CredentialInjection;
}

export interface IndexedSpec {
  /** The `openapi` field as written (`3.0.4`, `3.1.0`). */
  openapi: string;
  majorMinor: "3.0" | "3.1";
  title: string;
  /** `info.version`: the API's own version. */
  apiVersion: string;
  servers: ResolvedServer[];
  operations: SpecOperation[];
  byOperationId: ReadonlyMap<string, SpecOperation>;
  /** Key: `METHOD /path/{template}` (see `methodPathKey`). */
  byMethodPath: ReadonlyMap<string, SpecOperation>;
  securitySchemes: ReadonlyMap<string, SecurityScheme>;
  /** Root-level security requirements (`[]` when the spec has none). */
  security: SecurityRequirement[];
  /** The parsed document, `$ref`s kept: acyclic, serializable, what should be stored and hashed. */
  document: { [key: string]: PlainJson };
}
