import { type CallToolResult, ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { signEnvelope, toolCallPayload } from "../../sdk/envelope.js";
import { ENVELOPE_META_KEY } from "../call.js";
import type { CallExtra, ToolHandlers } from "../server.js";
import type { GatewayConnection } from "./gateway-connection.js";
import type { TokenSource } from "./token-source.js";

/**
 * The signing bridge (DESIGN §7, `seal-gateway mcp`): a local MCP server for clients that
 * cannot sign. It lists the gateway's tools and turns each tools/call into a signed envelope
 * sent to the gateway's /mcp. An escalated call is waited for — polling the agent-plane
 * approval status, with progress notifications when the client asked for them — and re-sent
 * with its approval id. Whatever goes wrong answers as a tool error; the key never leaves here.
 */

export interface BridgeOptions {
  gateway: GatewayConnection;
  tokens: TokenSource;
  privateKeyB64: string;
  gatewayUrl: string;
  approvalTimeoutMs: number;
  pollMs: number;
  /** Diagnostics on stderr (stdout is the protocol): never a token or a key. */
  warn: (message: string) => void;
}

function toolError(text: string, structured?: Record<string, unknown>): CallToolResult {
  return {
    content: [{ type: "text", text }],
    isError: true,
    ...(structured ? { structuredContent: structured } : {}),
  };
}

function pendingOf(r: CallToolResult): { approvalId: string; expiresAt: string } | null {
  const s = r.structuredContent;
  if (!r.isError || !s || s.status !== "pending" || typeof s.approval_id !== "string") return null;
  return { approvalId: s.approval_id, expiresAt: String(s.expires_at) };
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });

export function bridgeHandlers(o: BridgeOptions): ToolHandlers {
  const unreachable = (err: unknown) =>
    `the gateway at ${o.gatewayUrl} could not be reached or refused the request: ${(err as Error).message ?? String(err)}`;

  /** Signs and sends one call under the current token. */
  const send = async (name: string, args: Record<string, unknown>, approvalId?: string) => {
    const token = await o.tokens.current();
    const meta = approvalId ? { approval_id: approvalId } : undefined;
    const { envelope } = signEnvelope({
      securityToken: token,
      payload: toolCallPayload({ name, arguments: args, ...(meta ? { meta } : {}) }),
      privateKeyB64: o.privateKeyB64,
    });
    const result = await o.gateway.callTool({
      name,
      arguments: args,
      _meta: { ...meta, [ENVELOPE_META_KEY]: envelope },
    });
    return { result, token };
  };

  /** Waits for an approver; the decided status, or null when the wait timed out. */
  const awaitDecision = async (
    approvalId: string,
    token: string,
    extra: CallExtra,
  ): Promise<string | null> => {
    const started = Date.now();
    const progressToken = extra._meta?.progressToken;
    for (let tick = 1; Date.now() - started < o.approvalTimeoutMs && !extra.signal.aborted; tick++) {
      await sleep(o.pollMs, extra.signal);
      const status = await o.gateway.approvalStatus(approvalId, token).catch((err: unknown) => {
        o.warn(`approval status poll failed: ${(err as Error).message}`);
        return null;
      });
      if (status && status.status !== "pending") return status.status;
      if (progressToken !== undefined)
        await extra
          .sendNotification({
            method: "notifications/progress",
            params: { progressToken, progress: tick, message: `waiting for approval ${approvalId}` },
          })
          .catch(() => undefined);
    }
    return null;
  };

  return {
    async list() {
      try {
        return await o.gateway.listTools();
      } catch (err) {
        throw new McpError(ErrorCode.InternalError, unreachable(err));
      }
    },
    async call(request, extra) {
      const name = request.params.name;
      const args = (request.params.arguments ?? {}) as Record<string, unknown>;
      try {
        const first = await send(name, args);
        const pending = pendingOf(first.result);
        if (!pending) return first.result;
        const decided = await awaitDecision(pending.approvalId, first.token, extra);
        if (decided === "approved") return (await send(name, args, pending.approvalId)).result;
        const why =
          decided === null
            ? `no decision within ${Math.round(o.approvalTimeoutMs / 1000)} s`
            : `the approval is ${decided}`;
        return toolError(`approval ${pending.approvalId}: ${why}; the call did not run`, {
          status: decided ?? "pending",
          approval_id: pending.approvalId,
          expires_at: pending.expiresAt,
        });
      } catch (err) {
        return toolError(unreachable(err));
      }
    },
  };
}
