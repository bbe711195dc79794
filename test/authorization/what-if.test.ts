/**
 * POST /v1/security-contexts/{name}/what-if and GET …/suggest over real recorded traffic: calls
 * made through the gateway (allowed, escalated, rejected) are decided again; under the current
 * definition the counts equal the live decisions, and under a candidate the flips are exactly
 * what live calls under that candidate decide.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectError, expectJson } from "../http/support.js";
import { BACKENDS, jsonInit, startTestGateway, type TestGateway } from "../support/gateway.js";
import { type CallAnswer, call, events, lastSeq, putContext, sessionAgent, testTool } from "./support.js";

interface Flip {
  event_id: string;
  request_id: string | null;
  tool_name: string;
  from: string;
  to: string;
  rule: string;
  reason: string;
}
interface WhatIf {
  evaluated: number;
  unchanged: number;
  undecidable: number;
  flips: Flip[];
  undecidable_calls: { event_id: string; tool_name: string; reason: string }[];
  next_cursor: string | null;
}

const CURRENT = {
  name: "wi-ctx",
  deny_list: ["fs.delete"],
  capabilities: [
    { tool_pattern: "fs.*", path_allowlist: ["/workspace/**"] },
    { tool_pattern: "pay.refund", approval: "required" },
    { tool_pattern: "web.*", domain_allowlist: ["example.com", "*.example.org"] },
  ],
};

/** Narrower: /workspace/tmp only, refunds denied, web unchanged. */
const CANDIDATE = {
  name: "wi-ctx",
  deny_list: ["fs.delete", "pay.*"],
  capabilities: [
    { tool_pattern: "fs.*", path_allowlist: ["/workspace/tmp/**"] },
    { tool_pattern: "web.*", domain_allowlist: ["example.com", "*.example.org"] },
  ],
};

type Traffic = [tool: string, args: Record<string, unknown>][];
const TRAFFIC: Traffic = [
  ["fs.read", { path: "/workspace/a.txt" }],
  ["fs.read", { path: "/workspace/tmp/b.txt" }],
  ["fs.read", { path: "/workspace/../etc/passwd" }],
  ["fs.read", { path: "/workspace/tmp/c.txt", nested: { source_path: "/workspace/d" } }],
  ["fs.delete", { path: "/workspace/a.txt" }],
  ["pay.refund", { order: 7, token: "s3cret-not-recorded" }],
  ["web.get", { url: "https://user:pw@example.com/x?key=abc" }],
  ["web.get", { url: "https://a.example.org/" }],
  ["web.get", { url: "https://evilexample.com/" }],
  ["web.get", { url: "not a url" }],
  ["other.tool", {}],
  // Longer than the trail keeps (MAX_RECORDED_CHARS): allowed live, undecidable later.
  ["fs.stat", { path: `/workspace/${"x".repeat(3000)}` }],
];
const UNDECIDABLE = 1;

const outcome = (r: CallAnswer) =>
  r.status === 200 ? "allow" : r.status === 202 ? "escalate" : r.status === 404 ? "allow" : "reject";

describe.each(BACKENDS)("what-if over recorded calls (%s)", (backend) => {
  let t: TestGateway;
  const tools = ["fs.read", "fs.delete", "pay.refund", "web.get", "other.tool", "fs.stat"].map((n) =>
    testTool(n),
  );
  const live: Record<string, string[]> = { current: [], candidate: [] };

  const whatIf = (body: unknown, token = t.operatorToken("viewer"), name = "wi-ctx") =>
    t.request(`/v1/security-contexts/${name}/what-if`, jsonInit("POST", body, token));
  const suggest = (query = "", token = t.operatorToken("viewer"), name = "wi-ctx") =>
    t.request(`/v1/security-contexts/${name}/suggest${query}`, {
      headers: { authorization: `Bearer ${token}` },
    });

  beforeAll(async () => {
    t = await startTestGateway(
      backend,
      {},
      {
        tools: [
          { lookup: async (_t, n) => tools.find((x) => x.name === n) ?? null, list: async () => tools },
        ],
      },
    );
    await putContext(t, CURRENT);
    await putContext(t, { ...CANDIDATE, name: "wi-candidate" });
    await putContext(t, { name: "wi-ctx", capabilities: [], tenant_id: "tenant-b" });
    const agent = await sessionAgent(t, { context: "wi-ctx" });
    const probe = await sessionAgent(t, { context: "wi-candidate" });
    for (const [tool, args] of TRAFFIC) {
      live.current?.push(outcome(await call(t, agent, tool, args)));
      live.candidate?.push(outcome(await call(t, probe, tool, args)));
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  it("the live decisions cover allow, escalate and reject", () => {
    expect(new Set(live.current)).toEqual(new Set(["allow", "escalate", "reject"]));
  });

  it("the current definition as candidate: zero flips, and its counts are the live decisions", async () => {
    const got = await expectJson<WhatIf>(await whatIf({ candidate: CURRENT }), 200);
    expect(got.evaluated).toBe(TRAFFIC.length);
    expect(got.flips).toEqual([]);
    expect(got.undecidable).toBe(UNDECIDABLE);
    expect(got.unchanged).toBe(TRAFFIC.length - UNDECIDABLE);
    expect(got.next_cursor).toBeNull();
    // The redacted call is listed, never guessed.
    expect(got.undecidable_calls).toHaveLength(1);
    expect(got.undecidable_calls[0]).toMatchObject({ tool_name: "fs.stat" });
    expect(got.undecidable_calls[0]?.reason).toContain("path_allowlist");
  });

  it("a candidate: the flips are exactly the calls whose live decision under it differs", async () => {
    const got = await expectJson<WhatIf>(await whatIf({ candidate: CANDIDATE }), 200);
    expect(got.evaluated).toBe(TRAFFIC.length);
    const decidable = TRAFFIC.slice(0, TRAFFIC.length - UNDECIDABLE);
    const expected = decidable.flatMap(([tool], i) =>
      live.current?.[i] !== live.candidate?.[i]
        ? [{ tool_name: tool, from: live.current?.[i], to: live.candidate?.[i] }]
        : [],
    );
    expect(expected.length).toBeGreaterThan(0);
    expect(got.flips.map((f) => ({ tool_name: f.tool_name, from: f.from, to: f.to }))).toEqual(expected);
    expect(got.unchanged).toBe(decidable.length - expected.length);
    expect(got.undecidable).toBe(UNDECIDABLE);
    for (const flip of got.flips) {
      expect(flip.event_id).toMatch(/^evt_/);
      expect(flip.request_id).toMatch(/^req-/);
      expect(flip.rule.length).toBeGreaterThan(0);
      expect(flip.reason.length).toBeGreaterThan(0);
    }
    expect(got.flips.find((f) => f.tool_name === "pay.refund")?.rule).toBe("deny_list[1]");
  });

  it("records redacted arguments only: no token, no URL credentials or query", async () => {
    const rows = await events(t, { type: "ApprovalRequested" });
    const text = JSON.stringify(await events(t, {}));
    expect(text).not.toContain("s3cret-not-recorded");
    expect(text).not.toContain("key=abc");
    expect(text).not.toContain("user:pw");
    expect(rows[0]?.payload.security_context).toBe("wi-ctx");
    expect(rows[0]?.payload.arguments).toEqual({});
  });

  it("writes exactly one audit row per what-if, with who, which context, the window and the counts", async () => {
    const before = await lastSeq(t);
    await expectJson<WhatIf>(
      await whatIf({ candidate: CANDIDATE, since: "2000-01-01T00:00:00Z", until: "2100-01-01T00:00:00Z" }),
      200,
    );
    const rows = (await events(t, {})).filter((e) => e.seq > before);
    expect(rows.map((r) => r.event_type)).toEqual(["PolicyWhatIfEvaluated"]);
    expect(rows[0]?.payload).toMatchObject({
      security_context: "wi-ctx",
      since: "2000-01-01T00:00:00.000Z",
      until: "2100-01-01T00:00:00.000Z",
      evaluated: TRAFFIC.length,
      complete: true,
    });
    expect(typeof rows[0]?.payload.actor).toBe("string");
    for (const tool of tools) expect(tool.runs.length).toBeLessThanOrEqual(TRAFFIC.length * 2);
  });

  it("pages by limit with a cursor that covers the rest of the window", async () => {
    let cursor: string | null | undefined;
    let evaluated = 0;
    let pages = 0;
    const flips: Flip[] = [];
    do {
      const got: WhatIf = await expectJson<WhatIf>(
        await whatIf({ candidate: CANDIDATE, limit: 4, ...(cursor ? { cursor } : {}) }),
        200,
      );
      expect(got.evaluated).toBeLessThanOrEqual(4);
      evaluated += got.evaluated;
      flips.push(...got.flips);
      cursor = got.next_cursor;
      pages++;
    } while (cursor);
    expect(evaluated).toBe(TRAFFIC.length);
    expect(pages).toBe(Math.ceil(TRAFFIC.length / 4));
    const whole = await expectJson<WhatIf>(await whatIf({ candidate: CANDIDATE }), 200);
    expect(flips).toEqual(whole.flips);
  });

  it("a window that holds no calls evaluates none", async () => {
    const got = await expectJson<WhatIf>(
      await whatIf({ candidate: CANDIDATE, until: "2000-01-01T00:00:00Z" }),
      200,
    );
    expect(got).toMatchObject({ evaluated: 0, unchanged: 0, undecidable: 0, flips: [], next_cursor: null });
  });

  it("refuses bad input with the right code, and writes nothing", async () => {
    const before = await lastSeq(t);
    await expectError(
      await whatIf({ candidate: CURRENT }, t.operatorToken("viewer"), "no-such"),
      404,
      "not_found",
    );
    // Another tenant's context of the same name is not this tenant's.
    await expectError(
      await whatIf({ candidate: CURRENT }, t.operatorToken("viewer", "tenant-c")),
      404,
      "not_found",
    );
    const malformed = await expectError(
      await whatIf({
        candidate: { name: "other", capabilities: [{ tool_pattern: "", bogus: 1 }], extra: true },
      }),
      400,
      "invalid_body",
    );
    expect(malformed.error.code).toBe(4000);
    expect(malformed.error.details.problems?.map((p) => p.path).sort()).toEqual(
      [
        "candidate.capabilities[0].bogus",
        "candidate.capabilities[0].tool_pattern",
        "candidate.extra",
        "candidate.name",
      ].sort(),
    );
    await expectError(await whatIf({}), 400, "invalid_body");
    await expectError(await whatIf({ candidate: "x" }), 400, "invalid_body");
    const window = await expectError(
      await whatIf({ candidate: CURRENT, since: "2026-01-02T00:00:00Z", until: "2026-01-01T00:00:00Z" }),
      400,
      "invalid_window",
    );
    expect(window.error.code).toBe(4000);
    const limit = await expectError(
      await whatIf({ candidate: CURRENT, limit: 100_001 }),
      400,
      "invalid_body",
    );
    expect(limit.error.details.problems?.map((p) => p.path)).toEqual(["limit"]);
    await expectError(await whatIf({ candidate: CURRENT, limit: 0 }), 400, "invalid_body");
    await expectError(await whatIf({ candidate: CURRENT, since: "yesterday" }), 400, "invalid_body");
    await expectError(await whatIf({ candidate: CURRENT, cursor: "garbage!" }), 400, "bad_cursor");
    await expectError(await whatIf({ candidate: CURRENT, cursor: "c2VxOjE" }), 400, "bad_cursor");
    await expectError(await whatIf({ candidate: CURRENT, extra: 1 }), 400, "invalid_body");
    await expectError(await whatIf({ candidate: CURRENT }, "garbage"), 401);
    // Each refusal is audited as such (DESIGN §10); no what-if was run or recorded.
    const rows = (await events(t, {})).filter((e) => e.seq > before);
    expect(new Set(rows.map((r) => r.event_type))).toEqual(new Set(["ControlRequestRejected"]));
  });

  it("every role may run it", async () => {
    for (const role of ["viewer", "operator", "approver", "admin"] as const)
      await expectJson<WhatIf>(await whatIf({ candidate: CURRENT }, t.operatorToken(role)), 200);
  });

  it("suggest: one capability per tool allowed, never broader, and what-if of it flips no allowed call", async () => {
    const before = await lastSeq(t);
    const got = await expectJson<{ context: Record<string, unknown>; based_on: number; notes: string[] }>(
      await suggest(),
      200,
    );
    expect(await lastSeq(t)).toBe(before);
    const allowed = live.current?.filter((d) => d !== "reject").length ?? 0;
    expect(got.based_on).toBe(allowed - UNDECIDABLE);
    expect(got.context).toMatchObject({
      name: "wi-ctx",
      deny_list: ["fs.delete"],
      visible_tools: ["fs.read", "pay.refund", "web.get", "fs.stat"],
    });
    const caps = got.context.capabilities as Record<string, unknown>[];
    expect(caps.map((c) => c.tool_pattern)).toEqual(["fs.read", "pay.refund", "web.get", "fs.stat"]);
    // The redacted call's list stays the current one, and a note says why.
    expect(caps[3]?.path_allowlist).toEqual(["/workspace/**"]);
    expect(got.notes.some((n) => n.includes("path_allowlist kept as it is"))).toBe(true);
    expect(caps[0]?.path_allowlist).toEqual([
      "/workspace/a.txt",
      "/workspace/d",
      "/workspace/tmp/b.txt",
      "/workspace/tmp/c.txt",
    ]);
    expect(caps[1]).toMatchObject({ approval: "required" });
    expect(caps[2]?.domain_allowlist).toEqual(["example.com", "a.example.org"]);
    const check = await expectJson<WhatIf>(await whatIf({ candidate: got.context }), 200);
    const allowedFlips = check.flips.filter((f) => f.from !== "reject");
    expect(allowedFlips).toEqual([]);
  });

  it("lists at most 1,000 flips per answer and pages the rest by cursor; another context's calls are not read", async () => {
    const rows = 2500;
    const event = (i: number, context: string) => ({
      id: `evt_bulk${context}${i}`,
      createdAt: t.clock.nowMs(),
      eventType: "ToolCallAuthorized",
      tenantId: "default",
      executionId: null,
      callId: `call_bulk${i}`,
      agentId: "bulk",
      toolName: "fs.read",
      decision: "allow",
      stage: "authorize",
      code: null,
      requestId: `req-bulk-${i}`,
      payload: JSON.stringify({
        rule: "capabilities[0]",
        security_context: context,
        arguments: { path: "/workspace/a" },
      }),
    });
    await t.gw.store.writeBatch({
      events: Array.from({ length: rows }, (_, i) => event(i, i % 5 === 0 ? "wi-other" : "wi-bulk")),
      replays: [],
    });
    await putContext(t, { ...CURRENT, name: "wi-bulk" });
    const candidate = { ...CANDIDATE, name: "wi-bulk" };
    const first = await expectJson<WhatIf>(
      await whatIf({ candidate }, t.operatorToken("viewer"), "wi-bulk"),
      200,
    );
    expect(first.flips).toHaveLength(1000);
    expect(first.evaluated).toBe(1000);
    expect(first.next_cursor).not.toBeNull();
    let flips = first.flips.length;
    let cursor = first.next_cursor;
    while (cursor) {
      const page: WhatIf = await expectJson<WhatIf>(
        await whatIf({ candidate, cursor }, t.operatorToken("viewer"), "wi-bulk"),
        200,
      );
      flips += page.flips.length;
      cursor = page.next_cursor;
    }
    expect(flips).toBe((rows * 4) / 5);
  });

  it("stops at the time budget with a cursor to go on (at least one call per answer)", async () => {
    t.gw.services.whatIfBudgetMs = 0;
    try {
      const got = await expectJson<WhatIf>(await whatIf({ candidate: CURRENT }), 200);
      expect(got.evaluated).toBe(1);
      expect(got.next_cursor).not.toBeNull();
      const next = await expectJson<WhatIf>(
        await whatIf({ candidate: CURRENT, cursor: got.next_cursor }),
        200,
      );
      expect(next.evaluated).toBe(1);
    } finally {
      delete t.gw.services.whatIfBudgetMs;
    }
  });

  it("a session's allowed_tool_patterns decide as they did live", async () => {
    await putContext(t, { name: "wi-session", capabilities: [{ tool_pattern: "*" }] });
    const agent = await sessionAgent(t, { context: "wi-session", allowed: ["fs.*"] });
    expect((await call(t, agent, "fs.read", { path: "/x" })).status).toBe(200);
    expect((await call(t, agent, "web.get", { url: "https://example.com/" })).status).toBe(403);
    const got = await expectJson<WhatIf>(
      await whatIf(
        { candidate: { name: "wi-session", capabilities: [] } },
        t.operatorToken("viewer"),
        "wi-session",
      ),
      200,
    );
    // web.get was refused by the session, under either definition: no flip.
    expect(got.flips.map((f) => [f.tool_name, f.from, f.to])).toEqual([["fs.read", "allow", "reject"]]);
    expect(got.unchanged).toBe(1);
  });

  it("suggest refuses bad input", async () => {
    await expectError(await suggest("", t.operatorToken("viewer"), "no-such"), 404, "not_found");
    await expectError(await suggest("", t.operatorToken("viewer", "tenant-c")), 404, "not_found");
    await expectError(
      await suggest("?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z"),
      400,
      "invalid_window",
    );
    await expectError(await suggest("?since=nope"), 400, "invalid_query");
    await expectError(await suggest("?limit=5"), 400, "invalid_query");
  });
});

describe.each(BACKENDS)("what-if over recorded CLI tool calls (%s)", (backend) => {
  let t: TestGateway;
  const GIT = {
    name: "vcs.git",
    description: "git, read-only",
    docker_image: `sha256:${"0".repeat(64)}`,
    allowed_subcommands: ["log", "status", "push"],
    argv_profile: "git",
    mounts: [{ host_path: "/srv/repos/app", container_path: "/repo" }],
    working_dir: "/repo",
  };
  const READERS = {
    name: "git-readers",
    capabilities: [
      {
        tool_pattern: "vcs.git",
        command_allowlist: ["git"],
        subcommand_allowlist: ["log", "status"],
        path_allowlist: ["/srv/repos/**"],
      },
    ],
  };

  beforeAll(async () => {
    t = await startTestGateway(backend);
    const res = await t.request("/v1/cli-tools", jsonInit("POST", GIT, t.adminToken()));
    expect(res.status, await res.text()).toBe(201);
    await putContext(t, READERS);
  });
  afterAll(async () => {
    await t?.close();
  });

  it("the registration's command, mounts and the recorded subcommand decide as they did live", async () => {
    const agent = await sessionAgent(t, { context: "git-readers" });
    // Allowed by the policy (whether the container then runs is not the question here).
    const log = await call(t, agent, "vcs.git", { subcommand: "log" });
    expect([2001, 2002, 2003, 2004, 2006]).not.toContain(log.body.error?.code);
    // Refused after lookup: push is not in subcommand_allowlist.
    expect((await call(t, agent, "vcs.git", { subcommand: "push" })).body.error?.code).toBe(2003);
    const same = await expectJson<WhatIf>(
      await t.request(
        "/v1/security-contexts/git-readers/what-if",
        jsonInit("POST", { candidate: READERS }, t.operatorToken("viewer")),
      ),
      200,
    );
    expect(same).toMatchObject({ evaluated: 2, unchanged: 2, undecidable: 0, flips: [] });
    const statusOnly = {
      ...READERS,
      capabilities: [{ ...READERS.capabilities[0], subcommand_allowlist: ["status"] }],
    };
    const narrower = await expectJson<WhatIf>(
      await t.request(
        "/v1/security-contexts/git-readers/what-if",
        jsonInit("POST", { candidate: statusOnly }, t.operatorToken("viewer")),
      ),
      200,
    );
    expect(narrower.flips.map((f) => [f.from, f.to, f.reason.includes("subcommand")])).toEqual([
      ["allow", "reject", true],
    ]);
    // A mount outside the candidate's paths refuses every call of the tool.
    const elsewhere = {
      ...READERS,
      capabilities: [{ ...READERS.capabilities[0], path_allowlist: ["/srv/other/**"] }],
    };
    const mounts = await expectJson<WhatIf>(
      await t.request(
        "/v1/security-contexts/git-readers/what-if",
        jsonInit("POST", { candidate: elsewhere }, t.operatorToken("viewer")),
      ),
      200,
    );
    expect(mounts.flips.map((f) => f.reason)).toEqual([
      "capabilities[0]: mount 0 of the tool is not in path_allowlist",
    ]);
  });
});
