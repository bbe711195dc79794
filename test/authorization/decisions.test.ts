/**
 * Authorization decisions through real signed envelopes: contexts registered through the API,
 * sessions created through the API, calls signed with the SDK. Every decision is checked on
 * the wire (status, code), on the tool (ran or not) and in the audit (one row naming its rule).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BACKENDS, startTestGateway, type TestGateway } from "../support/gateway.js";
import {
  type CallAnswer,
  call,
  type EventItem,
  eventsOf,
  expectCode,
  lastSeq,
  putContext,
  type SessionAgent,
  sessionAgent,
  type TestTool,
  tenantTools,
  testTool,
} from "./support.js";

const RFC_CONTEXT = {
  name: "research-safe",
  capabilities: [{ tool_pattern: "fs.*", path_allowlist: ["/workspace/shared/*"] }],
  deny_list: ["fs.delete"],
};

describe.each(BACKENDS)("authorization decisions through envelopes (%s)", (backend) => {
  let t: TestGateway;
  const tools: Record<string, TestTool> = {
    "fs.read": testTool("fs.read"),
    "fs.write": testTool("fs.write"),
    "fs.delete": testTool("fs.delete"),
    fsck: testTool("fsck"),
    "web.search": testTool("web.search"),
    "web.fetch": testTool("web.fetch", { info: { kind: "workflow", upstreamHosts: ["en.wikipedia.org"] } }),
    "web.rogue": testTool("web.rogue", { info: { kind: "workflow", upstreamHosts: ["evil.com"] } }),
    "shell.exec": testTool("shell.exec"),
  };
  const bOnly = testTool("b.only");
  const agents: Record<string, SessionAgent> = {};
  let seq = 0;

  beforeAll(async () => {
    t = await startTestGateway(
      backend,
      {},
      {
        tools: [tenantTools({ default: Object.values(tools), "tenant-b": [bOnly] })],
      },
    );
    await putContext(t, RFC_CONTEXT);
    await putContext(t, {
      name: "web-ctx",
      capabilities: [{ tool_pattern: "web.*", domain_allowlist: ["example.com", "*.wikipedia.org"] }],
    });
    await putContext(t, { name: "fs-star", capabilities: [{ tool_pattern: "fs.*" }] });
    await putContext(t, {
      name: "deny-ctx",
      deny_list: ["shell.*", "fs.delete"],
      capabilities: [{ tool_pattern: "*" }],
    });
    await putContext(t, {
      name: "two-caps",
      capabilities: [{ tool_pattern: "fs.*", path_allowlist: ["/tmp/**"] }, { tool_pattern: "fs.read" }],
    });
    await putContext(t, { name: "open", capabilities: [{ tool_pattern: "*" }] });
    await putContext(t, { name: "open", capabilities: [{ tool_pattern: "*" }], tenant_id: "tenant-b" });
    agents.rfc = await sessionAgent(t, { context: "research-safe" });
    agents.web = await sessionAgent(t, { context: "web-ctx" });
    agents.fsStar = await sessionAgent(t, { context: "fs-star" });
    agents.deny = await sessionAgent(t, { context: "deny-ctx" });
    agents.twoCaps = await sessionAgent(t, { context: "two-caps" });
    agents.narrow = await sessionAgent(t, { context: "deny-ctx", allowed: ["fs.*", "web.search"] });
    agents.unknown = await sessionAgent(t, { context: "does-not-exist" });
    agents.openA = await sessionAgent(t, { context: "open" });
    agents.openB = await sessionAgent(t, { context: "open", tenant: "tenant-b" });
  });
  afterAll(async () => {
    await t?.close();
  });
  beforeEach(async () => {
    seq = await lastSeq(t);
    for (const tool of [...Object.values(tools), bOnly]) tool.runs.length = 0;
  });

  const agent = (k: string): SessionAgent => {
    const a = agents[k];
    if (!a) throw new Error(`no agent ${k}`);
    return a;
  };
  const newEvents = async (k: string): Promise<EventItem[]> => await eventsOf(t, agent(k).executionId, seq);
  const totalRuns = () => [...Object.values(tools), bOnly].reduce((n, tool) => n + tool.runs.length, 0);

  /** A denial: the answer, nothing ran, exactly one PolicyDenied row naming the rule. */
  async function expectDenied(
    k: string,
    r: CallAnswer,
    code: number,
    rule: string,
    tool: string,
  ): Promise<void> {
    expectCode(r, 403, code);
    expect(r.body.error?.details.rule).toBe(rule);
    expect(totalRuns()).toBe(0);
    const rows = await newEvents(k);
    expect(rows.map((e) => e.event_type)).toEqual(["PolicyDenied"]);
    expect(rows[0]).toMatchObject({
      decision: "reject",
      stage: "authorize",
      code,
      tool_name: tool,
      agent_id: agent(k).sub,
      payload: { rule },
    });
    seq = await lastSeq(t);
  }

  /** An allowed call to a registered tool: 200, ran once, ToolCallAuthorized then ToolCallCompleted. */
  async function expectAllowed(
    k: string,
    r: CallAnswer,
    tool: string,
    rule: string,
    args: Record<string, unknown>,
  ): Promise<void> {
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const ran = tools[tool];
    expect(ran?.runs.map((x) => x.arguments)).toEqual([args]);
    expect(totalRuns()).toBe(1);
    const rows = await newEvents(k);
    expect(rows.map((e) => e.event_type)).toEqual(["ToolCallAuthorized", "ToolCallCompleted"]);
    expect(rows[0]).toMatchObject({ decision: "allow", tool_name: tool, payload: { rule } });
    seq = await lastSeq(t);
    for (const x of Object.values(tools)) x.runs.length = 0;
  }

  it("RFC §5.3.4 example table, end to end", async () => {
    const table: Array<[string, Record<string, string>, "allow" | number, string]> = [
      ["fs.read", { path: "/workspace/shared/data.csv" }, "allow", "capabilities[0]"],
      ["fs.write", { path: "/workspace/shared/output.txt" }, "allow", "capabilities[0]"],
      ["fs.delete", { path: "/workspace/shared/temp.txt" }, 2001, "deny_list[0]"],
      ["fs.read", { path: "/etc/passwd" }, 2002, "capabilities[0]"],
      ["web.search", { query: "example" }, 2006, "default"],
    ];
    for (const [tool, args, want, rule] of table) {
      const r = await call(t, agent("rfc"), tool, args);
      if (want === "allow") await expectAllowed("rfc", r, tool, rule, args);
      else await expectDenied("rfc", r, want, rule, tool);
    }
  });

  it("the success body carries the result both as `result` and as an MCP CallToolResult", async () => {
    const args = { path: "/workspace/shared/data.csv" };
    const r = await call(t, agent("rfc"), "fs.read", args);
    expect(r.status).toBe(200);
    const expected = { echo: args, tool: "fs.read" };
    expect(r.body).toMatchObject({ protocol: "seal/v1", status: "success", result: expected });
    expect(r.body.payload).toEqual({
      jsonrpc: "2.0",
      id: r.body.request_id,
      result: {
        content: [{ type: "text", text: JSON.stringify(expected) }],
        structuredContent: expected,
        isError: false,
      },
    });
    expect(typeof r.body.request_id).toBe("string");
    expect(r.body.call_id).toMatch(/\S/);
    const rows = await newEvents("rfc");
    const completed = rows.find((e) => e.event_type === "ToolCallCompleted");
    expect(completed?.id).toBe(r.body.event_id);
    expect(completed?.call_id).toBe(r.body.call_id);
    expect(completed?.payload.definition_hash).toBe(tools["fs.read"]?.definitionHash);
    expect(tools["fs.read"]?.runs[0]).toMatchObject({
      sub: agent("rfc").sub,
      executionId: agent("rfc").executionId,
      tenantId: "default",
    });
  });

  it("look-alike paths are normalized before matching (2002), at any depth", async () => {
    for (const args of [
      { path: "/workspace/../etc/passwd" },
      { path: "/workspace/shared/../../etc/passwd" },
      { path: "/workspace/shared/a/b" },
      { path: "/workspace/shared" },
      { path: "workspace/shared/x" },
      { path: "/workspace/shared\\..\\x" },
      { path: "/workspace/shared/x\u0000" },
      { path: "/workspace/sharedx/a" },
      { nested: { out_path: "/etc/shadow" }, path: "/workspace/shared/ok" },
      { files: [{ source_path: "/workspace/shared/a" }, { source_path: "/root/.ssh/id_ed25519" }] },
      { path: { base: "/workspace/shared", rel: "x" } },
      { path: 42 },
    ]) {
      const r = await call(t, agent("rfc"), "fs.read", args);
      await expectDenied("rfc", r, 2002, "capabilities[0]", "fs.read");
    }
    for (const args of [
      { path: "/workspace/shared/./data.csv" },
      { path: "//workspace//shared/data.csv" },
      { path: "/workspace/x/../shared/d" },
    ]) {
      const r = await call(t, agent("rfc"), "fs.read", args);
      await expectAllowed("rfc", r, "fs.read", "capabilities[0]", args);
    }
  });

  it("look-alike domains and the userinfo trick are refused (2004); a real match runs", async () => {
    for (const url of [
      "https://evilexample.com/",
      "https://example.com.evil.com/",
      "http://example.com@evil.com/",
      "http://a@b@evil.com/",
      "https://wikipedia.org/",
      "http://good.com\\@example.com/",
      "http://ex%61mple.com/",
      "http://0x7f.1/",
      "file:///etc/passwd",
      "http:example.com",
    ]) {
      const r = await call(t, agent("web"), "web.search", { url });
      await expectDenied("web", r, 2004, "capabilities[0]", "web.search");
    }
    const nested = { target: { callback_url: "https://evilexample.com/cb" }, url: "https://example.com/" };
    await expectDenied(
      "web",
      await call(t, agent("web"), "web.search", nested),
      2004,
      "capabilities[0]",
      "web.search",
    );
    for (const url of [
      "https://evil.com@example.com/",
      "https://EXAMPLE.com./x",
      "https://de.m.wikipedia.org/",
    ]) {
      const r = await call(t, agent("web"), "web.search", { url });
      await expectAllowed("web", r, "web.search", "capabilities[0]", { url });
    }
  });

  it("a registered tool's upstream host is checked after lookup: 2004 before anything runs", async () => {
    const r = await call(t, agent("web"), "web.rogue", { url: "https://example.com/" });
    expectCode(r, 403, 2004);
    expect(tools["web.rogue"]?.runs).toEqual([]);
    const rows = await newEvents("web");
    expect(rows.map((e) => e.event_type)).toEqual(["ToolCallAuthorized", "PolicyDenied"]);
    expect(rows[1]).toMatchObject({ code: 2004, payload: { rule: "capabilities[0]" } });
    seq = await lastSeq(t);
    const ok = await call(t, agent("web"), "web.fetch", { url: "https://example.com/" });
    await expectAllowed("web", ok, "web.fetch", "capabilities[0]", { url: "https://example.com/" });
  });

  it("the deny list wins over a capability that allows everything (2001, deny_list[i])", async () => {
    await expectDenied(
      "deny",
      await call(t, agent("deny"), "shell.exec", {}),
      2001,
      "deny_list[0]",
      "shell.exec",
    );
    await expectDenied(
      "deny",
      await call(t, agent("deny"), "shell.exec.raw", {}),
      2001,
      "deny_list[0]",
      "shell.exec.raw",
    );
    await expectDenied(
      "deny",
      await call(t, agent("deny"), "fs.delete", {}),
      2001,
      "deny_list[1]",
      "fs.delete",
    );
    await expectAllowed(
      "deny",
      await call(t, agent("deny"), "fs.read", { a: 1 }),
      "fs.read",
      "capabilities[0]",
      { a: 1 },
    );
  });

  it("fs.* covers fs.read but never fsck", async () => {
    await expectAllowed(
      "fsStar",
      await call(t, agent("fsStar"), "fs.read", {}),
      "fs.read",
      "capabilities[0]",
      {},
    );
    await expectDenied("fsStar", await call(t, agent("fsStar"), "fsck", {}), 2006, "default", "fsck");
    await expectDenied("fsStar", await call(t, agent("fsStar"), "fs", {}), 2006, "default", "fs");
    await expectDenied("fsStar", await call(t, agent("fsStar"), "FS.read", {}), 2006, "default", "FS.read");
  });

  it("falls through to a later capability and names it", async () => {
    const args = { path: "/etc/hostname" };
    await expectAllowed(
      "twoCaps",
      await call(t, agent("twoCaps"), "fs.read", args),
      "fs.read",
      "capabilities[1]",
      args,
    );
    await expectDenied(
      "twoCaps",
      await call(t, agent("twoCaps"), "fs.write", args),
      2002,
      "capabilities[0]",
      "fs.write",
    );
  });

  it("a session's allowed_tool_patterns narrow the context (2001)", async () => {
    await expectDenied(
      "narrow",
      await call(t, agent("narrow"), "web.fetch", {}),
      2001,
      "session.allowed_tool_patterns",
      "web.fetch",
    );
    await expectAllowed(
      "narrow",
      await call(t, agent("narrow"), "web.search", {}),
      "web.search",
      "capabilities[0]",
      {},
    );
    // The context's deny list still applies inside the session's patterns.
    await expectDenied(
      "narrow",
      await call(t, agent("narrow"), "fs.delete", {}),
      2001,
      "deny_list[1]",
      "fs.delete",
    );
  });

  it("an unknown context denies everything (2006, default)", async () => {
    const r = await call(t, agent("unknown"), "fs.read", {});
    await expectDenied("unknown", r, 2006, "default", "fs.read");
    expect(r.body.error?.details.reason).toBe("unknown_context");
  });

  it("an allowed but unregistered tool is 4004, after a ToolCallAuthorized row", async () => {
    const r = await call(t, agent("deny"), "nothing.here", {});
    expectCode(r, 404, 4004);
    expect(totalRuns()).toBe(0);
    const rows = await newEvents("deny");
    expect(rows.map((e) => [e.event_type, e.code])).toEqual([
      ["ToolCallAuthorized", null],
      ["EnvelopeRejected", 4004],
    ]);
    expect(rows[0]?.payload.rule).toBe("capabilities[0]");
    expect(rows[1]?.stage).toBe("lookup");
  });

  it("a denied call answers the same whether or not the tool exists", async () => {
    const known = await call(t, agent("rfc"), "web.search", {});
    const unknownTool = await call(t, agent("rfc"), "web.nonexistent", {});
    expectCode(known, 403, 2006);
    expectCode(unknownTool, 403, 2006);
    expect(known.body.error?.details.rule).toBe(unknownTool.body.error?.details.rule);
  });

  it("tool lookup is per tenant: B's tool is 4004 for A and runs for B", async () => {
    const a = await call(t, agent("openA"), "b.only", {});
    expectCode(a, 404, 4004);
    expect(bOnly.runs).toEqual([]);
    const b = await call(t, agent("openB"), "b.only", { x: 1 });
    expect(b.status, JSON.stringify(b.body)).toBe(200);
    expect(bOnly.runs.map((r) => r.tenantId)).toEqual(["tenant-b"]);
    // And A's tools are not B's.
    expectCode(await call(t, agent("openB"), "fs.read", {}), 404, 4004);
    expect(tools["fs.read"]?.runs).toEqual([]);
    const rowsB = await eventsOf(t, agent("openB").executionId, seq);
    expect(rowsB.every((e) => e.tenant_id === "tenant-b")).toBe(true);
  });
});
