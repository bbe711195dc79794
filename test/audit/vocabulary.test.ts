/**
 * The audit vocabulary against its documentation, and the payload allow-list. docs/api.md's
 * "Event types" table must name every event type the code can write, and nothing else.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AuditRecorder, type EventInput } from "../../src/audit/recorder.js";
import {
  DECISIONS,
  EVENT_PAYLOADS,
  EVENT_TYPES,
  STAGES,
  UnknownPayloadFieldError,
} from "../../src/audit/vocabulary.js";
import { ERROR_TABLE } from "../../src/errors.js";
import { createLogger } from "../../src/log/logger.js";
import type { NewEvent } from "../../src/store/types.js";

const API_MD = readFileSync(new URL("../../docs/api.md", import.meta.url), "utf8");

/** The section from `### Event types` to the next heading. */
function eventSection(): string {
  const start = API_MD.indexOf("### Event types");
  expect(start).toBeGreaterThanOrEqual(0);
  const rest = API_MD.slice(start + 1);
  const end = rest.search(/\n#{2,3} /);
  return end < 0 ? rest : rest.slice(0, end);
}

/** Every `Name` in the event table's second column (the table rows only, not the prose). */
function documentedEventTypes(): string[] {
  const names: string[] = [];
  for (const line of eventSection().split("\n")) {
    if (!line.startsWith("|") || line.startsWith("|---")) continue;
    const cells = line.split("|");
    const types = cells[2] ?? "";
    for (const m of types.matchAll(/`([A-Z][A-Za-z]+)`/g)) if (m[1]) names.push(m[1]);
  }
  return names;
}

describe("docs/api.md event reference", () => {
  it("documents every event type in the code, and only those", () => {
    const documented = documentedEventTypes();
    expect(documented.length).toBeGreaterThan(0);
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual([...EVENT_TYPES].sort());
  });

  it("lists every stage and decision", () => {
    const section = eventSection();
    for (const word of [...STAGES, ...DECISIONS]) expect(section).toContain(`\`${word}\``);
  });
});

function recorder(policy: "strip" | "throw") {
  const written: NewEvent[] = [];
  const lines: string[] = [];
  const log = createLogger("warn", {}, (line) => lines.push(line));
  const rec = new AuditRecorder(
    {
      appendEvent: async (e) => {
        written.push(e);
        return written.length;
      },
    },
    log,
    { preauthPerMinute: 10, summaryIntervalMs: 60_000, unknownPayloadFields: policy },
  );
  return { rec, written, lines };
}

const base: EventInput = {
  eventType: "SecretWritten",
  tenantId: "default",
  executionId: null,
  callId: null,
  agentId: null,
  toolName: null,
  decision: null,
  stage: "control",
  code: null,
  requestId: null,
};

describe("audit payload allow-list", () => {
  it("every event type has a payload schema", () => {
    for (const type of EVENT_TYPES) expect(EVENT_PAYLOADS[type]).toBeDefined();
  });

  it("writes an allowed payload unchanged", async () => {
    const { rec, written } = recorder("throw");
    await rec.record({ ...base, payload: { actor: "op", key: "k", fingerprint: "00ff" } });
    expect(JSON.parse(written[0]?.payload ?? "")).toEqual({ actor: "op", key: "k", fingerprint: "00ff" });
  });

  it("strips an unknown field and logs its name, never its value (default policy)", async () => {
    const { rec, written, lines } = recorder("strip");
    await rec.record({ ...base, payload: { key: "k", value: "sk_live_DO_NOT_LEAK" } });
    expect(JSON.parse(written[0]?.payload ?? "")).toEqual({ key: "k" });
    const text = lines.join("\n");
    expect(text).toContain("value");
    expect(text).not.toContain("sk_live_DO_NOT_LEAK");
  });

  it("throws on an unknown field under the test policy, writing nothing", async () => {
    const { rec, written } = recorder("throw");
    await expect(rec.record({ ...base, payload: { key: "k", value: "x" } })).rejects.toBeInstanceOf(
      UnknownPayloadFieldError,
    );
    expect(() => rec.event({ ...base, payload: { nope: 1 } })).toThrow(/SecretWritten.*nope/);
    expect(written).toEqual([]);
  });

  it("stores the SEAL number of the error code from the one table", async () => {
    const { rec, written } = recorder("throw");
    await rec.record({
      ...base,
      eventType: "ApprovalRejected",
      stage: "approval",
      decision: "reject",
      code: "APPROVAL_INVALID",
      payload: { approval_id: null, reason: "approval_used" },
    });
    expect(written[0]?.code).toBe(ERROR_TABLE.APPROVAL_INVALID.seal);
  });

  it("refuses a misspelt event type, stage, decision or code at compile time", () => {
    // @ts-expect-error not an event type
    const a: EventInput = { ...base, eventType: "SecretWriten" };
    // @ts-expect-error not a stage
    const b: EventInput = { ...base, stage: "authorise" };
    // @ts-expect-error not a decision
    const c: EventInput = { ...base, decision: "deny" };
    // @ts-expect-error a numeric literal, not a code of the table
    const d: EventInput = { ...base, code: 4009 };
    expect([a, b, c, d]).toHaveLength(4);
  });
});
