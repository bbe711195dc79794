/**
 * Revocation reaches running CLI containers (DESIGN §4, issue item 9): a revoked session's
 * containers are found by its execution id, a revoked agent key's by tenant, `sub` and the
 * `agent_key` binding. Best effort by design: an engine that is down must not stop a
 * revocation (the credential is refused from then on either way; the reaper removes what is
 * left at its deadline).
 */
import { LABELS } from "../engines/cli/container-spec.js";
import { killMatching } from "../engines/cli/reaper.js";
import type { Logger } from "../log/logger.js";
import type { CliEngine } from "./cli-tools.js";

export function sessionContainers(executionId: string): Record<string, string> {
  return { [LABELS.executionId]: executionId };
}

export function agentKeyContainers(tenantId: string, sub: string): Record<string, string> {
  return { [LABELS.tenant]: tenantId, [LABELS.agent]: sub, [LABELS.binding]: "agent_key" };
}

/** Kills the matching containers; returns how many, 0 when the engine could not be asked. */
export async function killCliContainers(
  cli: CliEngine | undefined,
  log: Logger,
  labels: Readonly<Record<string, string>>,
  what: string,
): Promise<number> {
  if (!cli) return 0;
  try {
    const killed = await killMatching(cli.runtime, labels, log);
    if (killed > 0) log.info(`killed the CLI containers of a revoked ${what}`, { labels, killed });
    return killed;
  } catch (err) {
    log.warn(`could not kill the CLI containers of a revoked ${what}`, { labels, err });
    return 0;
  }
}
