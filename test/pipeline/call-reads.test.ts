/**
 * The reads a call needs start once its envelope signature verified (CallReads in
 * src/pipeline/authorize.ts), side by side with the replay claim: never for a signer that did
 * not verify, never waited for by a denied caller (whose answer so tells nothing about which
 * tools exist), and a failed read fails the stage that needs it, as it did when each stage read
 * for itself.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../src/store/types.js";
import type { RegisteredTool, ToolSource } from "../../src/tools/registry.js";
import {
  call,
  eventsOf,
  expectCode,
  putContext,
  type SessionAgent,
  send,
  sessionAgent,
  signedCall,
  testTool,
} from "../authorization/support.js";
import { BACKENDS, startTestGateway, type TestGateway } from "../support/gateway.js";

describe.each(BACKENDS)("the call's reads (%s)", (backend) => {
  const allowed = testTool("cr.allowed");
  const lookups: string[] = [];
  let contextReads = 0;
  /** While set, every tool lookup waits for it (or fails, when it rejects). */
  let hold: Promise<void> | null = null;
  const source: ToolSource = {
    async lookup(_tenant, name): Promise<RegisteredTool | null> {
      lookups.push(name);
      if (hold) await hold;
      return name === allowed.name ? allowed : null;
    },
    list: async () => [allowed],
  };
  const countContextReads = (store: Store): Store =>
    new Proxy(store, {
      get(target, prop, receiver) {
        if (prop !== "getSecurityContext") return Reflect.get(target, prop, receiver);
        return (...args: Parameters<Store["getSecurityContext"]>) => {
          contextReads += 1;
          return target.getSecurityContext(...args);
        };
      },
    });
  let t: TestGateway;
  let agent: SessionAgent;

  beforeAll(async () => {
    t = await startTestGateway(backend, {}, { tools: [source], interceptStore: countContextReads });
    // `cr.*` names every cr. tool; the deny list then refuses one of them.
    await putContext(t, {
      name: "cr-ctx",
      deny_list: ["cr.hidden"],
      capabilities: [{ tool_pattern: "cr.*" }],
    });
    agent = await sessionAgent(t, { context: "cr-ctx", sub: "cr-agent" });
  });
  afterAll(async () => {
    await t?.close();
  });

  function counts() {
    return { lookups: lookups.length, contextReads };
  }

  it("an envelope whose signature does not verify reads neither the context nor the tool", async () => {
    const before = counts();
    const body = JSON.parse(signedCall(t, agent, "cr.allowed")) as { signature: string };
    const other = JSON.parse(signedCall(t, agent, "cr.allowed")) as Record<string, unknown>;
    // A real signature, over another envelope.
    const r = await send(t, JSON.stringify({ ...other, signature: body.signature }));
    expectCode(r, 401, 1002);
    expect(counts()).toEqual(before);
    expect(allowed.runs).toHaveLength(0);
  });

  it("an allowed call reads each once and runs; a replay of it is refused and runs nothing", async () => {
    const before = counts();
    const body = signedCall(t, agent, "cr.allowed", { n: 1 });
    const r = await send(t, body);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(counts()).toEqual({ lookups: before.lookups + 1, contextReads: before.contextReads + 1 });
    const runs = allowed.runs.length;
    expectCode(await send(t, body), 401, 1003);
    expect(allowed.runs).toHaveLength(runs);
  });

  it("a denied call is answered without waiting for its tool lookup", async () => {
    let release: () => void = () => undefined;
    hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      const from = lookups.length;
      const answer = call(t, agent, "cr.hidden", {});
      const winner = await Promise.race([
        answer.then(() => "answered"),
        new Promise((resolve) => setTimeout(() => resolve("waited"), 2_000)),
      ]);
      expect(winner).toBe("answered");
      const r = await answer;
      expectCode(r, 403, 2001);
      // A capability names the tool, so its lookup did start (it is what the reads overlap),
      // but nothing waited for it.
      // (A replay refused earlier may still finish its own lookup meanwhile: only this name counts.)
      expect(lookups.slice(from).filter((n) => n === "cr.hidden")).toEqual(["cr.hidden"]);
      // An allowed call does wait for its lookup: held until released.
      const pending = call(t, agent, "cr.allowed", {});
      const early = await Promise.race([
        pending.then(() => "answered"),
        new Promise((resolve) => setTimeout(() => resolve("waiting"), 200)),
      ]);
      expect(early).toBe("waiting");
      release();
      expect((await pending).status).toBe(200);
    } finally {
      release();
      hold = null;
    }
  });

  it("a tool no capability names is refused without any tool lookup", async () => {
    const before = counts();
    expectCode(await call(t, agent, "other.tool", {}), 403, 2006);
    expect(contextReads).toBe(before.contextReads + 1);
    expect(lookups.slice(before.lookups)).not.toContain("other.tool");
  });

  it("a failed tool lookup fails the lookup stage: audited there, nothing runs", async () => {
    const failure = Promise.reject(new Error(`lookup exploded ${randomBytes(2).toString("hex")}`));
    failure.catch(() => undefined);
    hold = failure;
    const runs = allowed.runs.length;
    let r: Awaited<ReturnType<typeof call>>;
    try {
      r = await call(t, agent, "cr.allowed", {});
    } finally {
      hold = null;
    }
    expectCode(r, 500, 5000);
    expect(JSON.stringify(r.body)).not.toContain("exploded");
    expect(allowed.runs).toHaveLength(runs);
    const rejected = (await eventsOf(t, agent.executionId)).filter(
      (e) => e.event_type === "EnvelopeRejected" && e.request_id === r.body.error?.request_id,
    );
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ stage: "lookup", code: 5000 });
  });
});
