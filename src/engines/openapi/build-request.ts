import { GATEWAY_OWNED_HEADERS } from "../../egress/headers.js";
import { GatewayError } from "../../errors.js";
import { splitTemplate } from "./operations.js";
import { isPlainRecord, valueProblem } from "./param-values.js";
import { encodeBody } from "./request-body.js";
import { HTTP_TOKEN } from "./security.js";
import { cookiePair, headerValue, pathValue, queryPairs, SerializeError } from "./serialize.js";
import type { OperationParameter, ParameterLocation, SpecOperation } from "./types.js";

export interface RequestArguments {
  pathParams?: { [name: string]: unknown };
  query?: { [name: string]: unknown };
  headers?: { [name: string]: unknown };
  cookies?: { [name: string]: unknown };
  /** JSON value; omitted (undefined) means no body. */
  body?: unknown;
  /** Pick one of the operation's request media types; default: JSON if offered. */
  contentType?: string;
}

export interface BuiltRequest {
  method: string;
  url: string;
  /** Lowercase names. Credentials are not here: the injector adds them afterwards. */
  headers: { [name: string]: string };
  body: string | undefined;
}

export interface ArgumentProblem {
  in: ParameterLocation | "body";
  name: string;
  message: string;
}

const ARGUMENT_FIELD: Record<ParameterLocation, "pathParams" | "query" | "headers" | "cookies"> = {
  path: "pathParams",
  query: "query",
  header: "headers",
  cookie: "cookies",
};

function own(args: RequestArguments, location: ParameterLocation): { [name: string]: unknown } {
  const value = args[ARGUMENT_FIELD[location]];
  return isPlainRecord(value) ? value : {};
}

function lookup(values: { [name: string]: unknown }, param: OperationParameter): unknown {
  if (param.in !== "header") return Object.hasOwn(values, param.name) ? values[param.name] : undefined;
  const wanted = param.name.toLowerCase();
  const key = Object.keys(values).find((k) => k.toLowerCase() === wanted);
  return key === undefined ? undefined : values[key];
}

/** Fills the path template; a value can never add a segment, a dot-segment, a query or a fragment. */
function fillPath(template: string, values: Map<string, string>, problems: ArgumentProblem[]): string {
  return template
    .split("/")
    .map((segment) => {
      if (!segment.includes("{")) return segment;
      let complete = true;
      const filled = segment.replace(/\{([^{}]+)\}/g, (_all, name: string) => {
        const value = values.get(name);
        if (value === undefined) complete = false;
        return value ?? "";
      });
      // "." and ".." would be removed by URL normalization and climb the path (two values
      // can also make one together: "{a}{b}" with "." and ".").
      if (complete && (filled === "." || filled === "..")) {
        problems.push({ in: "path", name: segment, message: "the value would change the path structure" });
      }
      return filled;
    })
    .join("/");
}

function checkArgumentShapes(args: RequestArguments, problems: ArgumentProblem[]): void {
  for (const location of ["path", "query", "header", "cookie"] as const) {
    const value = args[ARGUMENT_FIELD[location]];
    if (value !== undefined && !isPlainRecord(value)) {
      problems.push({ in: location, name: "*", message: "must be an object of parameter values" });
    }
  }
}

function joinUrl(baseUrl: string, path: string, query: string[]): string {
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch {
    throw new GatewayError("EXECUTION_FAILED", "the upstream base URL is invalid", {
      reason: "bad_base_url",
    });
  }
  if ((base.protocol !== "https:" && base.protocol !== "http:") || base.search !== "" || base.hash !== "") {
    throw new GatewayError("EXECUTION_FAILED", "the upstream base URL is invalid", {
      reason: "bad_base_url",
    });
  }
  const basePath = base.pathname.replace(/\/+$/, "");
  const url = new URL(`${base.origin}${basePath}${path}${query.length > 0 ? `?${query.join("&")}` : ""}`);
  // Defence in depth: whatever the spec's template holds, the request stays under the base path.
  if (url.origin !== base.origin || !(url.pathname === basePath || url.pathname.startsWith(`${basePath}/`))) {
    throw new GatewayError("EXECUTION_FAILED", "the operation path leaves the upstream base URL", {
      reason: "bad_path_template",
    });
  }
  return url.href;
}

/**
 * Builds the upstream request for one operation. Every problem with the arguments (missing
 * required parameters, wrong types, unknown names, values that would reshape the URL) is
 * collected and thrown as one INVALID_ARGUMENTS error listing them; values are never echoed.
 */
export function buildRequest(op: SpecOperation, args: RequestArguments, baseUrl: string): BuiltRequest {
  const problems: ArgumentProblem[] = [];
  const missing: string[] = [];
  checkArgumentShapes(args, problems);
  const pathValues = new Map<string, string>();
  const query: string[] = [];
  const cookies: string[] = [];
  const headers: { [name: string]: string } = {};

  for (const param of op.parameters) {
    const value = lookup(own(args, param.in), param);
    if (value === undefined || (param.in === "path" && value === null)) {
      if (param.required) missing.push(`${param.in}.${param.name}`);
      continue;
    }
    const typeProblem = valueProblem(param, value);
    if (typeProblem !== null) {
      problems.push({ in: param.in, name: param.name, message: typeProblem });
      continue;
    }
    try {
      if (param.in === "path") {
        const text = pathValue(param, value);
        if (text === "") problems.push({ in: "path", name: param.name, message: "must not be empty" });
        pathValues.set(param.name, text);
      } else if (param.in === "query") query.push(...queryPairs(param, value));
      else if (param.in === "header") headers[param.name.toLowerCase()] = headerValue(param, value);
      else cookies.push(cookiePair(param, value));
    } catch (error) {
      if (!(error instanceof SerializeError)) throw error;
      problems.push({ in: param.in, name: param.name, message: error.message });
    }
  }
  rejectUnknown(op, args, headers, problems);

  const [template, fixedQuery] = splitTemplate(op.pathTemplate);
  const path = fillPath(template, pathValues, problems);
  const body = encodeBody(op, args, missing, problems);
  if (missing.length > 0 || problems.length > 0) {
    const message =
      missing.length > 0
        ? `missing required arguments: ${missing.join(", ")}`
        : `invalid arguments: ${problems.map((p) => `${p.in}.${p.name}: ${p.message}`).join("; ")}`;
    throw new GatewayError("INVALID_ARGUMENTS", message, {
      reason: missing.length > 0 ? "missing_parameters" : "invalid_parameters",
      missing,
      invalid: problems,
    });
  }
  if (cookies.length > 0) headers.cookie = cookies.join("; ");
  if (body !== undefined) headers["content-type"] = body.contentType;
  const allQuery = fixedQuery === undefined || fixedQuery === "" ? query : [fixedQuery, ...query];
  return { method: op.method, url: joinUrl(baseUrl, path, allQuery), headers, body: body?.text };
}

/** Caller-chosen names are echoed in errors; a megabyte-long one is cut. */
function clip(name: string): string {
  return name.length > 100 ? `${name.slice(0, 100)}…` : name;
}

/** Names the operation does not declare are refused, except extra headers with safe names. */
function rejectUnknown(
  op: SpecOperation,
  args: RequestArguments,
  headers: { [name: string]: string },
  problems: ArgumentProblem[],
): void {
  for (const location of ["path", "query", "cookie"] as const) {
    const declared = new Set(op.parameters.filter((p) => p.in === location).map((p) => p.name));
    for (const name of Object.keys(own(args, location))) {
      if (!declared.has(name))
        problems.push({ in: location, name: clip(name), message: "is not a parameter of this operation" });
    }
  }
  const declaredHeaders = new Set(
    op.parameters.filter((p) => p.in === "header").map((p) => p.name.toLowerCase()),
  );
  for (const [name, value] of Object.entries(own(args, "header"))) {
    const lower = name.toLowerCase();
    if (GATEWAY_OWNED_HEADERS.has(lower) || lower.startsWith("proxy-") || !HTTP_TOKEN.test(name)) {
      problems.push({ in: "header", name: clip(name), message: "this header cannot be set by arguments" });
      continue;
    }
    if (declaredHeaders.has(lower) || value === undefined) continue;
    if (typeof value !== "string" || !/^[\t\x20-\x7e]*$/.test(value)) {
      problems.push({
        in: "header",
        name: clip(name),
        message: "an extra header must be a printable ASCII string",
      });
      continue;
    }
    headers[lower] = value;
  }
}
