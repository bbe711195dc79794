import { hash } from "node:crypto";
import type { Stage } from "../audit/vocabulary.js";
import { GatewayError } from "../errors.js";
import { newId } from "../ids.js";
import { matchToolPattern } from "../policy/tool-patterns.js";
import { canonicalJson } from "../seal/canonical.js";
import { type Envelope, envelopeFromDoc, parseBody, requestIdOf } from "../seal/envelope.js";
import { type JsonValue, LossyNumberError, type PlainJson, toPlain } from "../seal/json.js";
import { type Authenticated, authenticate } from "./authenticate.js";
import type { CallReads } from "./authorize.js";
import {
  type AdmitResult,
  bodyTooLarge,
  type CallSource,
  need,
  type PipelineDeps,
  type ResolvedSource,
} from "./call.js";
import { bindOrchestratedSession, type OnBehalfCall } from "./on-behalf.js";
import { internalError, recordRejection } from "./reject.js";
import { callEvent, runStage, type StageName } from "./run-stage.js";

/**
 * Admission (DESIGN §2 steps 1–7): the envelope's shape, then its signer — freshness, token,
 * key binding, signature, replay. A refusal is audited here and comes back as a value; only an
 * admitted call reaches authorization.
 */

export function argumentsDigest(args: JsonValue): string {
  return hash("sha256", canonicalJson(args), "hex");
}

/** What admission learns, step by step; a refusal is audited with whatever is known by then. */
export interface AdmitState {
  readonly callId: string;
  readonly source: ResolvedSource;
  stage: Stage;
  /** Undefined until parsed (a JSON `null` document is a document). */
  doc?: JsonValue;
  requestId: string | number | null;
  env?: Envelope;
  auth?: Authenticated;
  /** Started once the signature verified (CallReads). */
  reads?: CallReads;
}

export type AdmitStageFn = (s: AdmitState) => Promise<void>;
export interface AdmitStage {
  name: StageName;
  fn: AdmitStageFn;
}

/** The bytes as a transport received them: `tooLarge` when they passed the body limit. */
export interface RawBody {
  body: Uint8Array | null;
  tooLarge: boolean;
}

/** 1–2. size, strict parse (only when the gateway received the bytes itself). */
export function parseEnvelopeBody(deps: PipelineDeps, raw: RawBody): AdmitStageFn {
  return async function parse(s) {
    if (raw.tooLarge || !raw.body) throw bodyTooLarge();
    s.doc = parseBody(raw.body, deps.settings.maxDepth);
  };
}

/** 2. protocol, fields, types, lengths, `tools/call`. */
export function checkShape(): AdmitStageFn {
  return async function shape(s) {
    const doc = need(s.doc, "the parsed document");
    s.requestId = requestIdOf(doc);
    s.env = envelopeFromDoc(doc);
  };
}

/** 3–7. freshness, token, key binding, signature, replay. */
export function authenticateSigner(deps: PipelineDeps): AdmitStageFn {
  return async function authenticateEnvelope(s) {
    const env = need(s.env, "the envelope");
    s.auth = await authenticate(env, {
      store: deps.store,
      tokens: deps.tokens,
      settings: deps.settings,
      nowMs: deps.clock.nowMs(),
      onSigned: ({ tenantId, claims }) => {
        s.reads = startReads(deps, tenantId, claims.scp, env.toolName);
      },
    });
  };
}

/**
 * The context, and the tool once the context is in and one of its capabilities names the tool
 * (see CallReads): a call no capability can allow costs no tool lookup.
 */
function startReads(deps: PipelineDeps, tenantId: string, contextName: string, toolName: string): CallReads {
  const context = deps.authz.contexts.load(tenantId, contextName);
  const reads: CallReads = {
    context,
    tool: context.then(async (ctx) =>
      ctx?.capabilities.some((c) => matchToolPattern(c.tool_pattern, toolName))
        ? { tool: await deps.tools.lookup(tenantId, toolName) }
        : null,
    ),
  };
  reads.context.catch(() => undefined);
  reads.tool.catch(() => undefined);
  return reads;
}

export function createAdmission(deps: PipelineDeps, stages: readonly AdmitStage[]) {
  const { observer } = deps;

  async function refuse(caught: unknown, s: AdmitState) {
    if (caught instanceof GatewayError) return await recordRejection(deps, caught, s);
    deps.log.error("unclassified error in the call pipeline", {
      call_id: s.callId,
      error: caught instanceof Error ? { name: caught.name, message: caught.message } : "non-error thrown",
    });
    return await recordRejection(deps, internalError(s.callId), s);
  }

  async function admitIn(s: AdmitState, list: readonly AdmitStage[]): Promise<AdmitResult> {
    try {
      for (const stage of list) await runStage(s, stage.name, () => stage.fn(s), observer);
      const env = need(s.env, "the envelope");
      const auth = need(s.auth, "the signer");
      // Converted once: policy reads the plain values; the tool gets them only if no number
      // changed in the conversion.
      const plain = plainArguments(env);
      return {
        ok: true,
        call: {
          callId: s.callId,
          source: s.source,
          env,
          auth,
          lossyArguments: plain.lossy,
          facts: {
            auth,
            env,
            callId: s.callId,
            argumentsDigest: argumentsDigest(env.arguments),
            args: plain.value,
            nowMs: deps.clock.nowMs(),
            transport: s.source.transport,
            ...(s.source.orchestrator !== undefined ? { orchestrator: s.source.orchestrator } : {}),
            countedRateKeys: new Set(),
            ...(s.reads ? { reads: s.reads } : {}),
          },
        },
      };
    } catch (caught) {
      const outcome = await refuse(caught, s);
      observer?.onCall?.(callEvent(outcome, s.stage, s.source.transport, null));
      return { ok: false, outcome };
    }
  }

  function start(source: CallSource, doc?: JsonValue): AdmitState {
    return {
      callId: newId("call"),
      source: resolveSource(source),
      stage: "parse",
      ...(doc === undefined ? {} : { doc }),
      requestId: null,
    };
  }

  /**
   * Admits an envelope that was already parsed strictly (`parseBody`, or a transport's own strict
   * parse of a larger document — MCP's `_meta["seal/envelope"]`): the number literals must be
   * the ones the client signed.
   */
  function admit(doc: JsonValue, source: CallSource): Promise<AdmitResult> {
    return admitIn(start(source, doc), stages);
  }

  /** Admits raw request bytes: 1. size, 2. strict parse, then the stages of `admit`. */
  function admitBody(raw: RawBody, source: CallSource): Promise<AdmitResult> {
    return admitIn(start(source), [{ name: "parse", fn: parseEnvelopeBody(deps, raw) }, ...stages]);
  }

  /**
   * Admits an orchestrator's call for a session (gRPC, role `orchestrator`): no envelope, the
   * session's context decides (src/pipeline/on-behalf.ts); every row names both identities.
   */
  function admitOnBehalf(req: OnBehalfCall, source: CallSource): Promise<AdmitResult> {
    const s = start({ ...source, orchestrator: req.orchestrator.sub });
    return admitIn(s, [{ name: "authenticate", fn: bindOrchestratedSession(deps, req) }]);
  }

  return { admit, admitBody, admitOnBehalf };
}

/**
 * The arguments as plain JSON, and whether a number changed on the way (e.g. beyond 2^53):
 * acting on a value other than the signed one is refused before the tool runs.
 */
function plainArguments(env: Envelope): { value: { [key: string]: PlainJson }; lossy: boolean } {
  try {
    return {
      value: toPlain(env.arguments, { rejectLossyNumbers: true }) as { [key: string]: PlainJson },
      lossy: false,
    };
  } catch (err) {
    if (!(err instanceof LossyNumberError)) throw err;
    return { value: toPlain(env.arguments) as { [key: string]: PlainJson }, lossy: true };
  }
}

export function resolveSource(source: CallSource): ResolvedSource {
  return {
    address: source.address,
    transport: source.transport ?? "http",
    ...(source.signal ? { signal: source.signal } : {}),
    ...(source.orchestrator !== undefined ? { orchestrator: source.orchestrator } : {}),
  };
}
