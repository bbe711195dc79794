import { describe, expect, it } from "vitest";
import type { Stage } from "../../src/audit/vocabulary.js";
import {
  combineObservers,
  runStage,
  type StageEvent,
  type StageName,
  type StageObserver,
} from "../../src/pipeline/run-stage.js";

describe("runStage", () => {
  it("names the running stage for the audit of a failure and tells the observer, in order", async () => {
    const seen: StageEvent[] = [];
    const observer = { onStage: (e: StageEvent) => seen.push(e) };
    const state: { stage: Stage; callId: string } = { stage: "control", callId: "call_test" };
    const stagesSeenInside: string[] = [];
    const names: StageName[] = ["parse", "shape", "authorize-after-lookup", "execute"];
    for (const name of names)
      await runStage(state, name, async () => void stagesSeenInside.push(state.stage), observer);
    // Finer names for metrics; the audit keeps DESIGN §2's step names.
    expect(stagesSeenInside).toEqual(["parse", "parse", "authorize", "execute"]);
    expect(seen.map((e) => e.stage)).toEqual(["parse", "shape", "authorize-after-lookup", "execute"]);
    expect(seen.every((e) => e.callId === "call_test" && e.result === "ok")).toBe(true);
  });

  it("reports a throwing stage as an error and leaves its name for the rejection row", async () => {
    const seen: StageEvent[] = [];
    const state: { stage: Stage; callId: string } = { stage: "control", callId: "call_x" };
    await expect(
      runStage(state, "lookup", async () => Promise.reject(new Error("boom")), {
        onStage: (e) => seen.push(e),
      }),
    ).rejects.toThrow("boom");
    expect(state.stage).toBe("lookup");
    expect(seen).toMatchObject([{ stage: "lookup", result: "error" }]);
  });

  it("runs the stage inside each observer's `around`, outermost first, passing result and error through", async () => {
    const order: string[] = [];
    const wrapping = (name: string): StageObserver => ({
      onStage: (e) => void order.push(`${name} saw ${e.stage}/${e.result}`),
      async around(stage, fn) {
        order.push(`${name} enters ${stage}`);
        try {
          return await fn();
        } finally {
          order.push(`${name} leaves ${stage}`);
        }
      },
    });
    const plain: StageObserver = { onStage: (e) => void order.push(`plain saw ${e.stage}`) };
    const observer = combineObservers([wrapping("a"), plain, wrapping("b")]);
    const state: { stage: Stage; callId: string } = { stage: "control", callId: "call_w" };
    const out = await runStage(
      state,
      "execute",
      async () => {
        order.push("stage runs");
        return 42;
      },
      observer,
    );
    expect(out).toBe(42);
    expect(order).toEqual([
      "a enters execute",
      "b enters execute",
      "stage runs",
      "b leaves execute",
      "a leaves execute",
      "a saw execute/ok",
      "plain saw execute",
      "b saw execute/ok",
    ]);
    order.length = 0;
    const boom = new Error("boom");
    await expect(runStage(state, "cap", async () => Promise.reject(boom), observer)).rejects.toBe(boom);
    expect(order).toContain("a leaves cap");
    expect(order).toContain("a saw cap/error");
  });
});
