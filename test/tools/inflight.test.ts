/** The in-flight run registry: revocation aborts exactly the runs it names, with its refusal. */
import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/errors.js";
import { InflightRuns } from "../../src/tools/inflight.js";

const owner = (executionId: string, sub = "agent-1", binding = "session") => ({
  executionId,
  tenantId: "default",
  sub,
  binding,
});

describe("InflightRuns", () => {
  it("revoking a session aborts its runs only, with a 1006 session_revoked reason", () => {
    const runs = new InflightRuns();
    const a1 = runs.begin(owner("ses_a"));
    const a2 = runs.begin(owner("ses_a"));
    const b = runs.begin(owner("ses_b"));
    expect(runs.size).toBe(3);
    expect(runs.revokeSession("ses_a")).toBe(2);
    for (const h of [a1, a2]) {
      expect(h.signal.aborted).toBe(true);
      const reason = h.signal.reason as GatewayError;
      expect(reason).toBeInstanceOf(GatewayError);
      expect([reason.sealCode, reason.details.reason]).toEqual([1006, "session_revoked"]);
    }
    expect(b.signal.aborted).toBe(false);
    // Aborted runs are not aborted twice; unknown sessions abort nothing.
    expect(runs.revokeSession("ses_a")).toBe(0);
    expect(runs.revokeSession("ses_none")).toBe(0);
  });

  it("revoking an agent's keys aborts its agent-key-bound runs, not its session-bound ones or another agent's", () => {
    const runs = new InflightRuns();
    const keyBound = runs.begin(owner("ses_1", "agent-1", "agent_key"));
    const sessionBound = runs.begin(owner("ses_2", "agent-1", "session"));
    const other = runs.begin(owner("ses_3", "agent-2", "agent_key"));
    const otherTenant = runs.begin({ ...owner("ses_4", "agent-1", "agent_key"), tenantId: "t2" });
    expect(runs.revokeAgentKeys("default", "agent-1")).toBe(1);
    expect(keyBound.signal.aborted).toBe(true);
    expect((keyBound.signal.reason as GatewayError).details.reason).toBe("key_revoked");
    for (const h of [sessionBound, other, otherTenant]) expect(h.signal.aborted).toBe(false);
  });

  it("forgets a run that ended (twice is harmless): a later revocation aborts nothing", () => {
    const runs = new InflightRuns();
    const h = runs.begin(owner("ses_x", "a", "agent_key"));
    h.end();
    h.end();
    expect(runs.size).toBe(0);
    expect(runs.revokeSession("ses_x")).toBe(0);
    expect(runs.revokeAgentKeys("default", "a")).toBe(0);
    expect(h.signal.aborted).toBe(false);
  });
});
