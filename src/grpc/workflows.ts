import type { ServerUnaryCall, sendUnaryData, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { OperatorIdentity } from "../auth/tokens.js";
import { GatewayError } from "../errors.js";
import { newId } from "../ids.js";
import { JsonParseError, parseStrict, toPlain } from "../seal/json.js";
import type { ServiceContext, ServiceDeps } from "../services/context.js";
import {
  createWorkflow,
  deleteWorkflow,
  getWorkflow,
  listWorkflows,
  updateWorkflow,
} from "../services/workflows.js";
import { auditControlRefusal, authorizationOf, operatorOf, peerAddress } from "./credentials.js";
import { Undecodable } from "./decode.js";
import { PACKAGE } from "./proto.js";
import { toServiceError } from "./status.js";

/**
 * ToolWorkflowService: the control plane's /v1/workflows over gRPC. Each RPC authenticates the
 * operator token, translates the proto message into the verb's input, calls the same verb the
 * HTTP route calls (which checks role and tenant and validates the definition) and translates
 * the answer back. Nothing else happens here.
 */

export interface GrpcSettings {
  maxMessageBytes: number;
  maxDepth: number;
}

interface ProtoStep {
  name: string;
  operation_id: string;
  body_template: string;
  extractors: Record<string, string>;
  on_error: string;
}

interface ProtoWorkflow {
  id: string;
  name: string;
  description: string;
  api_spec_id: string;
  input_schema_json: string;
  steps: ProtoStep[];
}

function badField(path: string, message: string) {
  return new GatewayError("BAD_REQUEST", "the request is invalid", {
    reason: "invalid_body",
    problems: [{ path, message }],
  });
}

/** A `*_json` field: one strict JSON text (duplicate keys, depth refused); "" is absent. */
export function jsonField(path: string, text: string, maxDepth: number): unknown {
  if (text === "") return undefined;
  try {
    return toPlain(parseStrict(text, { maxDepth }));
  } catch (err) {
    if (err instanceof JsonParseError) throw badField(path, `not JSON: ${err.message}`);
    throw err;
  }
}

/** on_error as text: "fail" / "continue" / "AbortWorkflow" / "Continue", or `{"RetryN":n}`. */
function onErrorIn(text: string, path: string, maxDepth: number): unknown {
  if (text === "") return "fail";
  return text.startsWith("{") ? jsonField(path, text, maxDepth) : text;
}

function definitionOf(w: ProtoWorkflow | null | undefined, maxDepth: number): unknown {
  if (!w) throw badField("workflow", "required");
  return {
    name: w.name,
    description: w.description,
    api_spec_id: w.api_spec_id,
    input_schema: jsonField("workflow.input_schema_json", w.input_schema_json, maxDepth),
    steps: w.steps.map((s, i) => ({
      name: s.name,
      ...(s.operation_id !== "" ? { operation_id: s.operation_id } : {}),
      ...(s.body_template !== "" ? { body_template: s.body_template } : {}),
      ...(Object.keys(s.extractors).length > 0 ? { extractors: s.extractors } : {}),
      on_error: onErrorIn(s.on_error, `workflow.steps[${i}].on_error`, maxDepth),
    })),
  };
}

const text = (v: unknown) => (v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v));

/** The stored definition as the proto's Workflow (steps by method and path show no operation_id). */
function protoWorkflow(view: Record<string, unknown>): ProtoWorkflow {
  const steps = (view.steps ?? []) as Record<string, unknown>[];
  return {
    id: String(view.id),
    name: String(view.name),
    description: String(view.description ?? ""),
    api_spec_id: String(view.api_spec_id),
    input_schema_json: text(view.input_schema),
    steps: steps.map((s) => ({
      name: String(s.name),
      operation_id: text(s.operation_id),
      body_template: text(s.body_template),
      extractors: (s.extractors ?? {}) as Record<string, string>,
      on_error: text(s.on_error),
    })),
  };
}

type Rpc = (ctx: ServiceContext, request: Record<string, unknown>) => Promise<unknown>;

/** One control RPC: authenticate, refuse what did not decode, call the verb; refusals audited. */
export function controlRpc(deps: ServiceDeps, settings: GrpcSettings, rpc: string, fn: Rpc) {
  return async (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
    let actor: OperatorIdentity | undefined;
    try {
      actor = await operatorOf(deps, authorizationOf(call.metadata));
      if (call.request instanceof Undecodable) throw call.request.error(settings.maxMessageBytes);
      const ctx: ServiceContext = {
        actor: { kind: "operator", ...actor },
        requestId: newId("req"),
        deps,
      };
      callback(null, await fn(ctx, call.request as Record<string, unknown>));
    } catch (err) {
      if (err instanceof GatewayError) await auditControlRefusal(deps, err, rpc, peerAddress(call), actor);
      callback(toServiceError(err, deps.log, rpc, deps.clock.nowMs()));
    }
  };
}

export function workflowService(deps: ServiceDeps, settings: GrpcSettings): UntypedServiceImplementation {
  const name = (m: string) => `/${PACKAGE}.ToolWorkflowService/${m}`;
  const { maxDepth } = settings;
  const rpc = (m: string, fn: Rpc) => controlRpc(deps, settings, name(m), fn);
  return {
    CreateWorkflow: rpc("CreateWorkflow", async (ctx, req) => {
      const out = await createWorkflow({ ctx, input: definitionOf(req.workflow as ProtoWorkflow, maxDepth) });
      return { workflow_id: out.id };
    }),
    GetWorkflow: rpc("GetWorkflow", async (ctx, req) => ({
      workflow: protoWorkflow(await getWorkflow({ ctx, input: { id: req.workflow_id } })),
    })),
    ListWorkflows: rpc("ListWorkflows", async (ctx) => {
      const out = await listWorkflows({ ctx, input: {} });
      return {
        workflows: out.workflows.map((w) => {
          const v = w as Record<string, unknown>;
          return { id: v.id, name: v.name, description: v.description ?? "" };
        }),
      };
    }),
    UpdateWorkflow: rpc("UpdateWorkflow", async (ctx, req) => {
      const w = req.workflow as ProtoWorkflow | null;
      await updateWorkflow({ ctx, input: { id: w?.id ?? "", definition: definitionOf(w, maxDepth) } });
      return { updated: true };
    }),
    DeleteWorkflow: rpc("DeleteWorkflow", async (ctx, req) => {
      await deleteWorkflow({ ctx, input: { id: req.workflow_id } });
      return { deleted: true };
    }),
  };
}
