import { GatewayError } from "../errors.js";
import type { PlainJson } from "../seal/json.js";
import { isJsonObject, type JsonObject, JsonParseError, type JsonValue, parseStrict } from "../seal/json.js";

/**
 * GatewayInvocationService requests as tool calls: which tool, with which arguments (the
 * literal-preserving tree of the strict parser, so an envelope's signed numbers compare
 * exactly), for which execution and tenant. And the tool result as each RPC's answer.
 */

export interface RequestedCall {
  toolName: string;
  arguments: JsonObject;
  executionId: string;
  tenantId: string;
  userToken?: string;
}

export type InvocationRpc = "InvokeWorkflow" | "InvokeCli" | "ExploreApi";

function invalid(path: string, message: string) {
  return new GatewayError("INVALID_ARGUMENTS", "the request is invalid", {
    reason: "invalid_request",
    problems: [{ path, message }],
  });
}

function object(entries: Record<string, JsonValue | undefined>): JsonObject {
  const out = Object.create(null) as JsonObject;
  for (const [k, v] of Object.entries(entries)) if (v !== undefined) out[k] = v;
  return out;
}

function jsonObjectField(path: string, text: string, maxDepth: number): JsonObject | undefined {
  if (text === "") return undefined;
  let v: JsonValue;
  try {
    v = parseStrict(text, { maxDepth });
  } catch (err) {
    if (err instanceof JsonParseError) throw invalid(path, `not JSON: ${err.message}`);
    throw err;
  }
  if (!isJsonObject(v)) throw invalid(path, "must be a JSON object");
  return v;
}

function required(path: string, value: string): string {
  if (value === "") throw invalid(path, "required");
  return value;
}

type Req = Record<string, unknown>;
const str = (v: unknown) => (typeof v === "string" ? v : "");
const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

/** The tool call a request asks for (the orchestrator's call, or what the envelope must say). */
export function requestedCall(rpc: InvocationRpc, req: Req, maxDepth: number): RequestedCall {
  const base = {
    executionId: str(req.execution_id),
    tenantId: str(req.tenant_id),
  };
  switch (rpc) {
    case "InvokeWorkflow": {
      const userToken = str(req.zaru_user_token);
      return {
        ...base,
        toolName: required("workflow_name", str(req.workflow_name)),
        arguments: jsonObjectField("input_json", str(req.input_json), maxDepth) ?? object({}),
        ...(userToken !== "" ? { userToken } : {}),
      };
    }
    case "InvokeCli": {
      if (Array.isArray(req.fsal_mounts) && req.fsal_mounts.length > 0)
        throw invalid("fsal_mounts", "not supported: a CLI tool mounts what its definition names");
      const args = strings(req.args);
      return {
        ...base,
        toolName: required("tool_name", str(req.tool_name)),
        arguments: canonicalArguments(
          rpc,
          object({ subcommand: required("subcommand", str(req.subcommand)), args }),
        ),
      };
    }
    case "ExploreApi": {
      if (req.include_hateoas_hints === true)
        throw invalid("include_hateoas_hints", "not supported by this gateway's explorer");
      return {
        ...base,
        toolName: "explorer",
        arguments: canonicalArguments(
          rpc,
          object({
            api_spec_id: required("api_spec_id", str(req.api_spec_id)),
            operation_id: required("operation_id", str(req.operation_id)),
            parameters: jsonObjectField("parameters_json", str(req.parameters_json), maxDepth),
            fields: strings(req.fields),
          }),
        ),
      };
    }
  }
}

/**
 * Arguments in the form a request can express: members left at their default — a CLI call's
 * empty `args`, the explorer's empty `parameters` — are dropped on both sides of the comparison,
 * since proto3 cannot tell "empty" from "absent".
 */
export function canonicalArguments(rpc: InvocationRpc, args: JsonObject): JsonObject {
  const out = object({ ...args });
  if (rpc === "InvokeCli" && Array.isArray(out.args) && out.args.length === 0) delete out.args;
  if (rpc === "ExploreApi" && isJsonObject(out.parameters) && Object.keys(out.parameters).length === 0)
    delete out.parameters;
  return out;
}

const json = (v: PlainJson | undefined) => (v === undefined ? "" : JSON.stringify(v));

/** The tool result as the RPC's answer message. */
export function responseOf(
  rpc: InvocationRpc,
  result: PlainJson,
  resultText: string,
): Record<string, unknown> {
  const r = (typeof result === "object" && result !== null && !Array.isArray(result) ? result : {}) as {
    [k: string]: PlainJson;
  };
  switch (rpc) {
    case "InvokeWorkflow":
      return { result_json: resultText };
    case "InvokeCli":
      return {
        exit_code: typeof r.exit_code === "number" ? r.exit_code : 0,
        stdout: typeof r.stdout === "string" ? r.stdout : "",
        stderr: typeof r.stderr === "string" ? r.stderr : "",
      };
    case "ExploreApi":
      return {
        sliced_data_json: json(r.sliced_data),
        hints_json: "",
        operation_metadata_json: json(r.operation_metadata),
      };
  }
}
