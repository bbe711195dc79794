import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { ERROR_TABLE } from "../errors.js";
import type { CallOutcome, SealErrorObject } from "./envelope-runner.js";

/**
 * Call outcomes as MCP `CallToolResult`s (DESIGN §7): the tool result as text and as
 * structuredContent; every refusal as `isError: true` with the SEAL error object, so the
 * agent (and the model reading the text) sees which check refused it and why.
 */

const SEAL_NAMES = new Map<number, string>();
for (const entry of Object.values(ERROR_TABLE))
  if (!SEAL_NAMES.has(entry.seal)) SEAL_NAMES.set(entry.seal, entry.name);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function errorResult(error: SealErrorObject): CallToolResult {
  const name = SEAL_NAMES.get(error.code) ?? "ERROR";
  return {
    content: [
      {
        type: "text",
        text: `SEAL ${error.code} ${name} (reason: ${error.details.reason}): ${error.message}`,
      },
    ],
    structuredContent: { ...error },
    isError: true,
  };
}

export function pendingResult(approvalId: string, expiresAt: string): CallToolResult {
  return {
    content: [
      {
        type: "text",
        text: `approval required: the call waits for an approver (approval ${approvalId}, expires ${expiresAt}); re-send it with _meta.approval_id once approved`,
      },
    ],
    structuredContent: { status: "pending", approval_id: approvalId, expires_at: expiresAt },
    isError: true,
  };
}

export function outcomeResult(outcome: CallOutcome): CallToolResult {
  if (outcome.kind === "error") return errorResult(outcome.error);
  if (outcome.kind === "pending") return pendingResult(outcome.approvalId, outcome.expiresAt);
  return {
    content: [{ type: "text", text: JSON.stringify(outcome.result) }],
    // MCP wants an object here; every tool kind of the gateway answers one (DESIGN §2).
    ...(isObject(outcome.result) ? { structuredContent: outcome.result } : {}),
    isError: outcome.isError,
  };
}
