/**
 * The real `seal-gateway start` process with tracing on: spans wait in the batch buffer (the
 * batch delay here is five minutes), and SIGTERM's shutdown sends them before the process exits.
 */
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProcess, startGateway, tempDir } from "../cli/process.js";
import { cliToken, processAgent, signedCall } from "../credentials/process-support.js";
import { type Collector, type OtlpSpan, startCollector } from "./otlp-support.js";

const SERVICE = "seal-test-process";

describe("traces of a gateway process, flushed at shutdown", () => {
  let collector: Collector;
  let gw: GatewayProcess;
  let dir: string;
  let before: number;
  let exit: { code: number | null; signal: NodeJS.Signals | null };
  let spans: OtlpSpan[];

  beforeAll(async () => {
    collector = await startCollector();
    dir = tempDir("seal-trace-proc-");
    const env = {
      SEAL_GATEWAY_DATA_DIR: dir,
      SEAL_GATEWAY_TRACING_ENABLED: "true",
      SEAL_GATEWAY_TRACING_OTLP_ENDPOINT: collector.endpoint,
      SEAL_GATEWAY_TRACING_SERVICE_NAME: SERVICE,
      SEAL_GATEWAY_TRACING_BATCH_DELAY_MS: "300000",
    };
    gw = await startGateway({ env, cwd: dir });
    const p = { url: gw.url, admin: await cliToken(env, dir) };
    const agent = await processAgent(p);
    const answer = await signedCall(p, agent, "system.whoami");
    expect(answer.status, JSON.stringify(answer)).toBe("success");
    // Nothing leaves before the batch delay or shutdown.
    await new Promise((r) => setTimeout(r, 1000));
    before = collector.raw.length;
    gw.proc.kill("SIGTERM");
    exit = await gw.exited;
    spans = await collector.waitFor((all) => all.some((s) => s.service === SERVICE && s.kind === 2));
  }, 120_000);
  afterAll(async () => {
    await gw?.kill();
    await collector?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("buffered the spans while running and sent them all on SIGTERM, exiting 0", () => {
    expect(before).toBe(0);
    expect(exit, gw.output()).toEqual({ code: 0, signal: null });
    const roots = spans.filter((s) => s.kind === 2 && s.attributes["seal.call.status"] === "success");
    expect(roots).toHaveLength(1);
    const root = roots[0] as OtlpSpan;
    expect(root).toMatchObject({ service: SERVICE, name: "POST /v1/invoke", parentSpanId: "" });
    expect(root.attributes["seal.tool.kind"]).toBe("native");
    const stages = spans.filter((s) => s.traceId === root.traceId && s.parentSpanId === root.spanId);
    expect(stages.map((s) => s.attributes["seal.stage"])).toEqual(
      expect.arrayContaining(["parse", "shape", "authenticate", "authorize", "lookup", "execute", "cap"]),
    );
  });
});
