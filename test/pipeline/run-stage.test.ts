import { describe, expect, it } from "vitest";
import type { Stage } from "../../src/audit/vocabulary.js";
import { runStage, type StageEvent, type StageName } from "../../src/pipeline/run-stage.js";

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
});
