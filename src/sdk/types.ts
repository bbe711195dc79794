/** Wire shapes of SEAL v1 as this gateway speaks it (DESIGN §2). */

export type JsonRpcId = string | number;

export interface KeyPair {
  /** Raw 32-byte Ed25519 public key, standard base64. */
  publicKeyB64: string;
  /** Raw 32-byte Ed25519 private seed (RFC 8032), standard base64. Keep it secret. */
  privateKeyB64: string;
}

export interface ToolCallPayload {
  jsonrpc: "2.0";
  id: JsonRpcId;
  method: "tools/call";
  params: {
    name: string;
    arguments: Record<string, unknown>;
    /** Signed with the rest; carries e.g. `approval_id` for a call an approver granted. */
    _meta?: Record<string, unknown>;
  };
}

export interface SealEnvelope<P = ToolCallPayload> {
  protocol: "seal/v1";
  security_token: string;
  /** Standard base64 of the 64-byte Ed25519 signature over the canonical bytes. */
  signature: string;
  payload: P;
  /** RFC 3339 text, or integer Unix seconds. */
  timestamp: string | number;
}

export interface SealSuccessResponse {
  protocol: "seal/v1";
  status: "success";
  /** The tool's result as AEGIS clients read it. */
  result: unknown;
  /** The same result as an MCP CallToolResult in a JSON-RPC response. */
  payload: {
    jsonrpc: "2.0";
    id: JsonRpcId | null;
    result: {
      content: Array<{ type: "text"; text: string }>;
      structuredContent: unknown;
      isError: boolean;
    };
  };
  request_id: JsonRpcId | null;
  call_id: string;
  event_id: string;
}

export interface SealErrorResponse {
  protocol: "seal/v1";
  status: "error";
  error: {
    /** SEAL code: 1000–1006 envelope, 2000–2006 policy, 4xxx tool and execution, 5030. */
    code: number;
    message: string;
    timestamp: string;
    request_id: JsonRpcId | null;
    details: { reason: string; [key: string]: unknown };
  };
}

export interface SealPendingResponse {
  protocol: "seal/v1";
  status: "pending";
  approval_id: string;
  request_id: JsonRpcId | null;
  expires_at: string;
}

export type SealResponse = SealSuccessResponse | SealErrorResponse | SealPendingResponse;
