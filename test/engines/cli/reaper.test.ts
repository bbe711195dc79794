/**
 * Leftover removal and mid-run revocation against the real engine: the reaper removes managed
 * containers past their deadline (and only those: another gateway instance may be running the
 * others), at start-up and periodically; killByLabel ends one execution's running container.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  type CallIds,
  containerSpec,
  effectiveLimits,
  LABELS,
} from "../../../src/engines/cli/container-spec.js";
import { executeCli } from "../../../src/engines/cli/execute.js";
import { isLeftover, killByLabel, reapOnce, startReaper } from "../../../src/engines/cli/reaper.js";
import {
  callIds,
  cliSettings,
  cliTool,
  ENGINE_SETUP_TIMEOUT_MS,
  expectNoContainers,
  type TestEngine,
  testEngine,
} from "./support/engine.js";

let engine: TestEngine;

beforeAll(async () => {
  engine = await testEngine();
}, ENGINE_SETUP_TIMEOUT_MS);

const sleeper = cliTool({
  name: "busybox",
  docker_image: "seal-test/busybox",
  allowed_subcommands: ["sleep"],
  default_timeout_seconds: 60,
});

/** A running managed container as a crashed gateway would leave it. */
async function leftover(ids: CallIds, createdSecondsAgo: number): Promise<string> {
  const spec = containerSpec({
    tool: sleeper,
    argv: ["sleep", "1000"],
    env: {},
    limits: effectiveLimits(cliSettings(), sleeper),
    ids,
    withStdin: false,
    nowSeconds: Date.now() / 1000 - createdSecondsAgo,
  });
  const id = await engine.runtime.create(spec);
  await engine.runtime.start(id);
  return id;
}

async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 100));
  }
}

const labelled = (ids: CallIds) => ({ [LABELS.managed]: "true", [LABELS.tenant]: ids.tenantId });

describe("reaper", () => {
  it("removes a labelled container past its deadline and keeps one that is not", async () => {
    const old = callIds();
    const fresh = callIds();
    await leftover(old, 3600);
    const keptId = await leftover(fresh, 0);
    try {
      expect(await engine.runtime.listByLabel(labelled(old))).toHaveLength(1);
      expect(await reapOnce(engine.runtime)).toBeGreaterThanOrEqual(1);
      await expectNoContainers(engine.runtime, old);
      expect((await engine.runtime.listByLabel(labelled(fresh))).map((c) => c.id)).toEqual([keptId]);
    } finally {
      await engine.runtime.remove(keptId);
    }
    await expectNoContainers(engine.runtime, fresh);
  });

  it("reaps at start-up, then stops cleanly", async () => {
    const ids = callIds();
    await leftover(ids, 3600);
    const reaper = startReaper(engine.runtime, { intervalMs: 60_000 });
    try {
      await until(async () => (await engine.runtime.listByLabel(labelled(ids))).length === 0);
    } finally {
      await reaper.stop();
    }
    await expectNoContainers(engine.runtime, ids);
  });

  it("judges containers without a deadline label by age", () => {
    const now = 1_000_000;
    expect(isLeftover({ id: "a", labels: {}, createdAt: now - 10, running: true }, now)).toBe(false);
    expect(isLeftover({ id: "b", labels: {}, createdAt: now - 3600, running: true }, now)).toBe(true);
    expect(
      isLeftover(
        { id: "c", labels: { [LABELS.deadline]: "junk" }, createdAt: now - 3600, running: true },
        now,
      ),
    ).toBe(true);
    expect(
      isLeftover(
        { id: "d", labels: { [LABELS.deadline]: String(now + 5) }, createdAt: 0, running: true },
        now,
      ),
    ).toBe(false);
  });
});

describe("killByLabel (mid-run revocation)", () => {
  it("kills the running container of one execution; the call ends with 4040 container_gone", async () => {
    const ids = callIds();
    const other = callIds();
    const otherId = await leftover(other, 0);
    const running = executeCli({
      runtime: engine.runtime,
      settings: cliSettings(),
      tool: sleeper,
      call: { subcommand: "sleep", args: ["1000"] },
      ids,
    }).catch((err: unknown) => err);
    try {
      await until(async () => (await engine.runtime.listByLabel(labelled(ids))).some((c) => c.running));
      expect(await killByLabel(engine.runtime, ids.executionId)).toBe(1);
      expect(await running).toMatchObject({
        code: "EXECUTION_FAILED",
        details: { reason: "container_gone" },
      });
      await expectNoContainers(engine.runtime, ids);
      // Another execution's container is untouched.
      expect(await engine.runtime.listByLabel(labelled(other))).toHaveLength(1);
    } finally {
      await engine.runtime.remove(otherId);
    }
  });
});
