/** The SEAL gateway client SDK (`seal-gateway/sdk`): keys, envelope signing, tool calls. */
export { canonicalize, signedMessage } from "./canonical.js";
export type { CallToolOptions, CallToolResult } from "./client.js";
export { callTool } from "./client.js";
export type { SignEnvelopeOptions, SignedEnvelope, ToolCallInput } from "./envelope.js";
export { signEnvelope, toolCallPayload } from "./envelope.js";
export type { SealClientErrorCode } from "./errors.js";
export { SealClientError } from "./errors.js";
export { generateKeyPair, publicKeyFromPrivateKey, signMessage } from "./keys.js";
export type {
  JsonRpcId,
  KeyPair,
  SealEnvelope,
  SealErrorResponse,
  SealPendingResponse,
  SealResponse,
  SealSuccessResponse,
  ToolCallPayload,
} from "./types.js";
