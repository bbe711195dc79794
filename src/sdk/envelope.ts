import { randomUUID } from "node:crypto";
import { canonicalize, frameSignedMessage } from "./canonical.js";
import { SealClientError } from "./errors.js";
import { signMessage } from "./keys.js";
import type { JsonRpcId, SealEnvelope, ToolCallPayload } from "./types.js";

export interface SignEnvelopeOptions<P> {
  securityToken: string;
  payload: P;
  privateKeyB64: string;
  /** Signing time; defaults to the current clock. The gateway allows ±30 s by default. */
  now?: Date;
  /** "rfc3339" (default, as the reference SDKs send) or integer Unix seconds. */
  timestampFormat?: "rfc3339" | "unix";
}

export interface SignedEnvelope<P> {
  /** The exact request body to send. */
  body: string;
  envelope: SealEnvelope<P>;
}

/** Builds and signs a SEAL v1 envelope; the body is serialized here so its literals match the signature. */
export function signEnvelope<P = ToolCallPayload>(options: SignEnvelopeOptions<P>): SignedEnvelope<P> {
  const { securityToken, payload, privateKeyB64 } = options;
  if (typeof securityToken !== "string" || securityToken.length === 0) {
    throw new SealClientError("invalid_input", "security token must be a non-empty string");
  }
  const now = options.now ?? new Date();
  const millis = now.getTime();
  if (!Number.isFinite(millis)) throw new SealClientError("invalid_input", "now is not a valid date");
  const seconds = Math.floor(millis / 1000);
  const format = options.timestampFormat ?? "rfc3339";
  if (format !== "rfc3339" && format !== "unix") {
    throw new SealClientError("invalid_input", "timestampFormat must be rfc3339 or unix");
  }
  const timestamp = format === "unix" ? seconds : now.toISOString();

  const payloadText = canonicalize(payload);
  const signature = signMessage(frameSignedMessage(payloadText, securityToken, seconds), privateKeyB64);
  const body =
    `{"protocol":"seal/v1","security_token":${JSON.stringify(securityToken)},` +
    `"signature":"${signature}","payload":${payloadText},"timestamp":${JSON.stringify(timestamp)}}`;
  return { body, envelope: JSON.parse(body) as SealEnvelope<P> };
}

export interface ToolCallInput {
  name: string;
  arguments?: Record<string, unknown>;
  id?: JsonRpcId;
  meta?: Record<string, unknown>;
}

/** The MCP `tools/call` JSON-RPC payload; a random `req-…` id when none is given. */
export function toolCallPayload(input: ToolCallInput): ToolCallPayload {
  if (typeof input.name !== "string" || input.name.length === 0) {
    throw new SealClientError("invalid_input", "tool name must be a non-empty string");
  }
  const params: ToolCallPayload["params"] = { name: input.name, arguments: input.arguments ?? {} };
  if (input.meta !== undefined) params._meta = input.meta;
  const id = input.id ?? `req-${randomUUID()}`;
  return { jsonrpc: "2.0", id, method: "tools/call", params };
}
