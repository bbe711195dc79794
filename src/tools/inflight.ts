import { GatewayError } from "../errors.js";

/**
 * The tool runs in flight in this process, by session and by agent (DESIGN §4: "revoking a
 * session or agent key takes effect on the next call; a running call of it is stopped").
 * Revoking aborts their signal: the engine stops — an upstream request is cut, a container
 * killed — and whatever the call holds ends with it, a dynamic secret's lease revoked by the
 * credential stage's release. The abort reason is the refusal the call answers and audits.
 *
 * CLI runs are not registered: their container is killed by label instead (from any instance),
 * and the call answers 4040 `container_gone` (src/services/cli-revocation.ts).
 *
 * Only this process's runs are known here. On a fleet, a revocation reaches the instance that
 * took it; a run on another instance ends at its tool timeout (its lease with it), and CLI
 * containers are killed by label from any instance (docs/security-model.md).
 */

export interface RunHandle {
  /** Aborts when the run's session or agent is revoked; its reason is the refusal. */
  readonly signal: AbortSignal;
  /** The run ended: forget it (idempotent). */
  end(): void;
}

export interface RunOwner {
  executionId: string;
  tenantId: string;
  sub: string;
  /** How the caller's key was bound (`session`, `cnf`, `agent_key`). */
  binding?: string | undefined;
}

const agentKeyOf = (tenantId: string, sub: string) => `${tenantId}\u0000${sub}`;

export class InflightRuns {
  readonly #bySession = new Map<string, Set<AbortController>>();
  readonly #byAgentKey = new Map<string, Set<AbortController>>();

  begin(owner: RunOwner): RunHandle {
    const controller = new AbortController();
    const session = add(this.#bySession, owner.executionId, controller);
    const agent =
      owner.binding === "agent_key"
        ? add(this.#byAgentKey, agentKeyOf(owner.tenantId, owner.sub), controller)
        : undefined;
    let ended = false;
    return {
      signal: controller.signal,
      end: () => {
        if (ended) return;
        ended = true;
        session();
        agent?.();
      },
    };
  }

  /** Aborts every run of the session; answers how many. */
  revokeSession(executionId: string): number {
    return abortAll(
      this.#bySession.get(executionId),
      new GatewayError("SESSION_INACTIVE", "the session was revoked while the tool ran", {
        reason: "session_revoked",
      }),
    );
  }

  /** Aborts every agent-key-bound run of the agent (the envelope does not say which key signed). */
  revokeAgentKeys(tenantId: string, sub: string): number {
    return abortAll(
      this.#byAgentKey.get(agentKeyOf(tenantId, sub)),
      new GatewayError("SESSION_INACTIVE", "the agent's key was revoked while the tool ran", {
        reason: "key_revoked",
      }),
    );
  }

  /** Runs in flight (tests, metrics). */
  get size(): number {
    let n = 0;
    for (const set of this.#bySession.values()) n += set.size;
    return n;
  }
}

function add(map: Map<string, Set<AbortController>>, key: string, c: AbortController): () => void {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  set.add(c);
  return () => {
    const current = map.get(key);
    if (!current) return;
    current.delete(c);
    if (current.size === 0) map.delete(key);
  };
}

function abortAll(set: Set<AbortController> | undefined, reason: GatewayError): number {
  if (!set) return 0;
  let n = 0;
  for (const c of [...set]) {
    if (c.signal.aborted) continue;
    c.abort(reason);
    n++;
  }
  return n;
}
