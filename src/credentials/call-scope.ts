import { AsyncLocalStorage } from "node:async_hooks";
import type { SecretSink } from "./redaction.js";

/**
 * Who a credential is resolved for, and where its values must be registered for scrubbing.
 * The pipeline opens a scope around every tool run; engines may also pass it explicitly in the
 * CredentialRequest. The scope exists so that an engine which forgets to forward it still has
 * its credential audited under the right execution and scrubbed from the final answer — the
 * safe outcome must not depend on every engine remembering a parameter.
 */
export interface CallInfo {
  tenantId: string;
  executionId: string | null;
  callId: string | null;
  agentId: string | null;
  toolName: string | null;
  /** Receives every resolved value (the pipeline scrubs the answer and errors with it). */
  sink?: SecretSink;
}

const scope = new AsyncLocalStorage<CallInfo>();

export function runInCallScope<T>(info: CallInfo, fn: () => Promise<T>): Promise<T> {
  return scope.run(info, fn);
}

export function currentCall(): CallInfo | undefined {
  return scope.getStore();
}
