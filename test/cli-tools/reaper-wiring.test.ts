/**
 * The composition root starts the CLI reaper with the gateway's background work and stops it
 * on close, on the real engine: a leftover a crashed gateway left behind (past its deadline) is
 * removed at start-up, a fresh container of another instance is kept.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGateway, type Gateway } from "../../src/app.js";
import { loadConfig } from "../../src/config/load.js";
import {
  type CallIds,
  containerSpec,
  effectiveLimits,
  LABELS,
} from "../../src/engines/cli/container-spec.js";
import type { ContainerRuntime } from "../../src/engines/cli/runtime.js";
import { createLogger } from "../../src/log/logger.js";
import {
  callIds,
  cliSettings,
  cliTool,
  ENGINE_SETUP_TIMEOUT_MS,
  expectNoContainers,
  type TestEngine,
  testEngine,
} from "../engines/cli/support/engine.js";

let engine: TestEngine;
const dirs: string[] = [];

beforeAll(async () => {
  engine = await testEngine();
}, ENGINE_SETUP_TIMEOUT_MS);

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const sleeper = cliTool({
  name: "busybox",
  docker_image: "seal-test/busybox",
  allowed_subcommands: ["sleep"],
});

async function container(ids: CallIds, createdSecondsAgo: number): Promise<string> {
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

async function gateway(runtime: ContainerRuntime): Promise<Gateway> {
  const dir = mkdtempSync(join(tmpdir(), "seal-gw-reaper-"));
  dirs.push(dir);
  const r = loadConfig({
    env: {
      SEAL_GATEWAY_DATA_DIR: dir,
      SEAL_GATEWAY_DATABASE_URL: `sqlite://${join(dir, "gateway.db")}`,
      SEAL_GATEWAY_MASTER_KEY: randomBytes(32).toString("base64"),
      SEAL_GATEWAY_CLI_SOCKET_PATH: engine.socketPath,
      SEAL_GATEWAY_CLI_REAP_INTERVAL_MS: "100",
    },
    cwd: dir,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return await buildGateway(r.config, { log: createLogger("error"), cliRuntime: runtime });
}

describe("the gateway's CLI reaper", () => {
  it("removes leftovers at start-up, keeps fresh containers, and stops on close", async () => {
    const ids = callIds();
    const stale = await container(ids, 10_000);
    const fresh = await container({ ...ids, callId: `${ids.callId}-fresh` }, 0);
    let passes = 0;
    const counted: ContainerRuntime = {
      ...engine.runtime,
      listByLabel: async (labels) => {
        passes++;
        return await engine.runtime.listByLabel(labels);
      },
    };
    const gw = await gateway(counted);
    try {
      const mine = { [LABELS.managed]: "true", [LABELS.tenant]: ids.tenantId };
      const end = Date.now() + 10_000;
      while ((await engine.runtime.listByLabel(mine)).some((c) => c.id === stale) && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const left = (await engine.runtime.listByLabel(mine)).map((c) => c.id);
      expect(left).toEqual([fresh]);
    } finally {
      await gw.close();
    }
    const afterClose = passes;
    expect(afterClose).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 400));
    expect(passes).toBe(afterClose);
    await engine.runtime.remove(fresh);
    await expectNoContainers(engine.runtime, ids);
  });
});
