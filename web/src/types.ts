/** Shapes of the API answers the console reads (docs/api.md). */

export interface GatewayEvent {
  id: string;
  seq: number;
  created_at: string;
  event_type: string;
  tenant_id: string;
  execution_id: string | null;
  call_id: string | null;
  agent_id: string | null;
  tool_name: string | null;
  decision: "allow" | "escalate" | "reject" | null;
  stage: string | null;
  code: number | null;
  request_id: string | null;
  payload: unknown;
  chain_seq: number | null;
  prev_hash: string | null;
  hash: string | null;
}

export interface Approval {
  id: string;
  tenant_id: string;
  status: "pending" | "approved" | "denied" | "used" | "expired";
  sub: string;
  execution_id: string | null;
  security_context: string;
  tool_name: string;
  arguments_digest: string;
  arguments: unknown;
  rule: string;
  created_at: string;
  expires_at: string;
  decided_at: string | null;
  decided_by: string | null;
  reason: string | null;
}

export interface SessionRow {
  execution_id: string;
  sub: string;
  security_context_name: string;
  tenant_id: string;
  allowed_tool_patterns: string[];
  session_status: "Active" | "Revoked" | "Expired";
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
}

/** `GET /v1/audit/chain`. */
export interface ChainState {
  sealed_through: number;
  head_hash: string | null;
  unsealed: { rows: number; oldest_created_at: string | null };
  last_checkpoint: {
    id: string;
    created_at: string;
    last_chain_seq: number;
    row_count: number;
    head_hash: string;
    kid: string;
  } | null;
  verify: string;
}
