/**
 * Removes CLI containers the engine itself could not (a gateway crash mid-call, an engine
 * error during removal) and kills the containers of a revoked execution.
 *
 * Several gateway instances may share one engine, so "labelled" alone does not make a
 * container a leftover: another instance may be running it right now. A container is a
 * leftover once its `seal-gateway.deadline` label (start + timeout + grace, set at creation)
 * has passed — no call waits for it any longer — or once its owner label names a gateway
 * process on this host that is provably gone (owner.ts: a crash, kill -9). A managed container
 * without a readable deadline is a leftover once it is older than the longest possible call.
 */
import type { Logger } from "../../log/logger.js";
import { DEADLINE_GRACE_SECONDS, LABELS } from "./container-spec.js";
import { MAX_TIMEOUT_SECONDS } from "./definition.js";
import { ownerGone } from "./owner.js";
import type { ContainerRuntime, ContainerSummary } from "./runtime.js";

const MANAGED = { [LABELS.managed]: "true" };

export function isLeftover(container: ContainerSummary, nowSeconds: number): boolean {
  if (ownerGone(container.labels[LABELS.owner])) return true;
  const deadline = Number(container.labels[LABELS.deadline]);
  if (Number.isFinite(deadline) && deadline > 0) return deadline <= nowSeconds;
  return container.createdAt + MAX_TIMEOUT_SECONDS + DEADLINE_GRACE_SECONDS <= nowSeconds;
}

async function removeAll(runtime: ContainerRuntime, ids: readonly string[], log?: Logger): Promise<number> {
  let removed = 0;
  for (const id of ids) {
    try {
      await runtime.remove(id);
      removed++;
    } catch (err) {
      log?.warn("cli reaper could not remove a container", { container: id, err });
    }
  }
  return removed;
}

/** One pass: removes every managed container past its deadline; returns how many. */
export async function reapOnce(
  runtime: ContainerRuntime,
  options: { now?: () => number; log?: Logger } = {},
): Promise<number> {
  const now = (options.now ?? Date.now)() / 1000;
  const containers = await runtime.listByLabel(MANAGED);
  const leftovers = containers.filter((c) => isLeftover(c, now)).map((c) => c.id);
  const removed = await removeAll(runtime, leftovers, options.log);
  if (removed > 0) options.log?.info("cli reaper removed leftover containers", { removed });
  return removed;
}

/**
 * Kills and removes every container of one execution (mid-run revocation of its session).
 * The call running it ends with 4040 `container_gone`.
 */
export async function killByLabel(
  runtime: ContainerRuntime,
  executionId: string,
  log?: Logger,
): Promise<number> {
  return await killMatching(runtime, { [LABELS.executionId]: executionId }, log);
}

/**
 * Kills and removes every managed container carrying all of `labels` (a revoked agent key:
 * its tenant, `sub` and the `agent_key` binding).
 */
export async function killMatching(
  runtime: ContainerRuntime,
  labels: Readonly<Record<string, string>>,
  log?: Logger,
): Promise<number> {
  const containers = await runtime.listByLabel({ ...labels, ...MANAGED });
  return await removeAll(
    runtime,
    containers.map((c) => c.id),
    log,
  );
}

export interface Reaper {
  /** Resolves once any pass in progress has finished. */
  stop(): Promise<void>;
}

/** Reaps at once (start-up) and then every `intervalMs`; one pass at a time. */
export function startReaper(
  runtime: ContainerRuntime,
  options: { intervalMs: number; log?: Logger; now?: () => number },
): Reaper {
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const pass = () => {
    if (stopped) return;
    running = running.then(async () => {
      try {
        await reapOnce(runtime, options);
      } catch (err) {
        // An engine that is down now may be back on the next pass.
        options.log?.warn("cli reaper pass failed", { err });
      }
    });
  };
  pass();
  const timer = setInterval(pass, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
