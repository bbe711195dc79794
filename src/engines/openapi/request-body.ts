import type { ArgumentProblem, RequestArguments } from "./build-request.js";
import { isPlainRecord, isPrimitive, scalarText } from "./param-values.js";
import type { SpecOperation } from "./types.js";

type Kind = "json" | "form" | "text" | "other";

function base(mediaType: string): string {
  return (mediaType.split(";", 1)[0] ?? "").trim().toLowerCase();
}

function kindOf(mediaType: string): Kind {
  const type = base(mediaType);
  if (type === "application/json" || type.endsWith("+json") || type === "*/*" || type === "application/*") {
    return "json";
  }
  if (type === "application/x-www-form-urlencoded") return "form";
  if (type.startsWith("text/")) return "text";
  return "other";
}

function choose(offered: string[], requested: string | undefined, body: unknown): string | undefined {
  if (requested !== undefined) return offered.find((t) => base(t) === base(requested));
  return (
    offered.find((t) => kindOf(t) === "json") ??
    offered.find((t) => kindOf(t) === "form") ??
    (typeof body === "string" ? offered.find((t) => kindOf(t) === "text") : undefined) ??
    offered[0]
  );
}

function formText(body: unknown): string | null {
  if (!isPlainRecord(body)) return null;
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(body)) {
    const items = Array.isArray(value) ? value : [value];
    if (!items.every(isPrimitive)) return null;
    for (const item of items) form.append(name, scalarText(item));
  }
  return form.toString();
}

/**
 * Serializes the body for the operation's request media type: JSON (`application/json`,
 * `*+json`, wildcards), form-urlencoded (flat objects) or text (strings). Others are refused
 * rather than sent with a guessed encoding.
 */
export function encodeBody(
  op: SpecOperation,
  args: RequestArguments,
  missing: string[],
  problems: ArgumentProblem[],
): { contentType: string; text: string } | undefined {
  const declared = op.requestBody;
  const body = args.body;
  if (body === undefined) {
    if (declared?.required === true) missing.push("body");
    return undefined;
  }
  const fail = (message: string) => {
    problems.push({ in: "body", name: "body", message });
    return undefined;
  };
  if (declared === null) return fail("this operation takes no request body");
  const offered = Object.keys(declared.content);
  const chosen = offered.length === 0 ? "application/json" : choose(offered, args.contentType, body);
  if (chosen === undefined) return fail("the requested content type is not offered by the operation");
  const kind = kindOf(chosen);
  // A spec-provided media type goes out as a header: only a plain, printable one is sent as is.
  const header = /^[\x20-\x7e]+$/.test(chosen) && !chosen.includes("*") ? chosen : undefined;
  if (kind === "json") {
    let text: string | undefined;
    try {
      text = JSON.stringify(body);
    } catch {
      text = undefined;
    }
    return typeof text === "string"
      ? { contentType: header ?? "application/json", text }
      : fail("the body is not JSON data");
  }
  if (kind === "form") {
    const text = formText(body);
    return text === null
      ? fail("a form body must be an object of scalar or list values")
      : { contentType: header ?? "application/x-www-form-urlencoded", text };
  }
  if (kind === "text") {
    return typeof body === "string"
      ? { contentType: header ?? "text/plain", text: body }
      : fail("a text body must be a string");
  }
  return fail(`media type ${JSON.stringify(base(chosen))} is not supported`);
}
