import { createPublicKey, type JsonWebKey } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ServerType, serve } from "@hono/node-server";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyEvidence } from "../../src/audit/evidence.js";
import { packageRoot } from "../../src/paths.js";
import { signEnvelope, toolCallPayload } from "../../src/sdk/envelope.js";
import { generateKeyPair } from "../../src/sdk/keys.js";
import { runCli } from "../cli/process.js";
import { bearer, expectJson } from "../http/support.js";
import { ensureConsoleBuilt, launchBrowser, type TestBrowser } from "../support/browser.js";
import {
  type Agent,
  createSessionAgent,
  invoke,
  jsonInit,
  startTestGateway,
  type TestGateway,
} from "../support/gateway.js";

/**
 * The web console in a real browser (Debian's chromium), against a gateway on a loopback
 * port: sign in, a live call appearing, its detail and execution timeline, an approval and
 * the re-sent call, a revoked session, the viewer's read-only view, and hostile text shown as
 * text. Screenshots of the main views: `SEAL_UPDATE_SCREENSHOTS=1` writes them to docs/console/.
 */

// Screenshots always render; they replace the committed ones in docs/console only on request
// (SEAL_UPDATE_SCREENSHOTS=1), so a test run leaves the worktree as it found it.
const SHOTS =
  process.env.SEAL_UPDATE_SCREENSHOTS === "1"
    ? join(packageRoot(), "docs", "console")
    : mkdtempSync(join(tmpdir(), "seal-console-shots-"));
const XSS_TOOL = '<img src=x onerror="window.__xss=1;alert(1)">';
const XSS_ARGS = { note: "<script>window.__xss=2;alert(2)</script>", html: '"><svg onload=alert(3)>' };
const STEP = 60_000;

describe("web console in chromium", () => {
  let t: TestGateway;
  let server: ServerType;
  let base = "";
  let browser: TestBrowser;
  let page: Page;
  let agent: Agent;
  const dialogs: string[] = [];
  const cspErrors: string[] = [];

  const call = (tool: string, args: Record<string, unknown>, meta?: Record<string, unknown>) => {
    t.clock.advance(1500);
    const body = signEnvelope({
      securityToken: agent.token,
      payload: toolCallPayload({ name: tool, arguments: args, ...(meta ? { meta } : {}) }),
      privateKeyB64: agent.privateKeyB64,
      now: new Date(t.clock.nowMs()),
    }).body;
    return invoke(t, body);
  };
  const shot = (name: string, on: Page = page) =>
    on.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
  const watch = (p: Page) => {
    p.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    p.on("console", (m) => {
      if (m.type() === "error" && /Content Security Policy|Refused to/i.test(m.text()))
        cspErrors.push(m.text());
    });
  };
  const signInAs = async (p: Page, token: string) => {
    await p.goto(`${base}/`);
    await p.getByLabel("operator token").fill(token);
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.getByRole("heading", { name: /Live events/ }).waitFor();
  };
  const eventRow = (p: Page, text: string, type: string) =>
    p.locator("table.events tbody tr").filter({ hasText: text }).filter({ hasText: type });

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await ensureConsoleBuilt();
    t = await startTestGateway("sqlite", { SEAL_GATEWAY_AUDIT_STREAM_POLL_MS: "100" });
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: t.gw.app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const admin = t.adminToken("default");
    await expectJson(
      await t.request(
        "/v1/security-contexts",
        jsonInit(
          "POST",
          {
            name: "console-demo",
            description: "native tools; echo needs an approver",
            capabilities: [
              { tool_pattern: "system.whoami" },
              { tool_pattern: "system.echo", approval: "required" },
            ],
          },
          admin,
        ),
      ),
      201,
    );
    agent = await createSessionAgent(t, { sub: "demo-agent", context: "console-demo" });
    t.clock.advance(STEP);
    browser = await launchBrowser();
    page = await browser.context.newPage();
    watch(page);
  }, 15 * 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await t?.close();
    if (!SHOTS.startsWith(packageRoot())) rmSync(SHOTS, { recursive: true, force: true });
  });

  it("signs in with a pasted operator token, kept in sessionStorage and out of the URL", async () => {
    const token = t.operatorToken("admin", "default");
    await page.goto(`${base}/`);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await shot("sign-in");
    await signInAs(page, token);
    await page.locator(".status.live").waitFor();
    expect(page.url()).not.toContain(token.slice(0, 20));
    expect(await page.evaluate("localStorage.length")).toBe(0);
    expect(await page.evaluate('sessionStorage.getItem("seal-console.operator-token")')).toBe(token);
    await expect.poll(() => page.locator(".who").innerText()).toContain("admin");
    // A reload keeps the tab signed in.
    await page.reload();
    await page.locator(".status.live").waitFor();
  }, 60_000);

  it("shows a live call as it happens, then its detail and execution timeline", async () => {
    const r = await call("system.whoami", {});
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const row = eventRow(page, "system.whoami", "ToolCallCompleted");
    await row.waitFor({ timeout: 10_000 });
    await eventRow(page, "system.whoami", "ToolCallAuthorized").waitFor();

    await eventRow(page, "system.whoami", "ToolCallAuthorized")
      .getByRole("link", { name: "ToolCallAuthorized" })
      .click();
    await page.getByRole("heading", { name: /ToolCallAuthorized/ }).waitFor();
    const detail = page.locator("section.detail");
    await expect.poll(() => detail.locator("dd").nth(7).innerText()).toBe("capabilities[0]"); // deciding rule
    await expect.poll(() => detail.locator("pre.payload").innerText()).toContain('"arguments_digest"');
    await shot("event-detail");

    await detail.getByRole("link", { name: /timeline/ }).click();
    await page.getByRole("heading", { name: /Execution/ }).waitFor();
    const rows = page.locator("table.timeline tbody tr");
    await expect.poll(() => rows.filter({ hasText: "SessionCreated" }).count()).toBe(1);
    await expect.poll(() => rows.filter({ hasText: "ToolCallCompleted" }).count()).toBe(1);
    await rows.filter({ hasText: "+1 min" }).first().waitFor(); // the gap before the call
    await shot("execution-timeline");
  }, 60_000);

  it("approves an escalated call; the re-sent call completes", async () => {
    const pending = await call("system.echo", XSS_ARGS);
    expect(pending.status, JSON.stringify(pending.body)).toBe(202);
    const approvalId = (pending.body as unknown as { approval_id: string }).approval_id;
    await page.getByRole("link", { name: "Approvals" }).click();
    const card = page.locator(`article[data-approval="${approvalId}"]`);
    await card.waitFor();
    // Hostile arguments are shown as the text they are.
    await expect.poll(() => card.locator("pre.arguments").innerText()).toContain(XSS_ARGS.note);
    await expect.poll(() => card.locator("pre.arguments").innerText()).toContain('\\"><svg onload=alert(3)>');
    await shot("approvals");
    await card.getByLabel("reason").fill("checked by the browser test");
    await card.getByRole("button", { name: "Approve" }).click();
    await expect.poll(() => card.count()).toBe(0); // it left the pending queue
    const decided = await expectJson<{ status: string; reason: string }>(
      await t.request(`/v1/approvals/${approvalId}`, { headers: bearer(t.adminToken()) }),
      200,
    );
    expect(decided).toMatchObject({ status: "approved", reason: "checked by the browser test" });

    const done = await call("system.echo", XSS_ARGS, { approval_id: approvalId });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    await page.getByRole("link", { name: "Events" }).click();
    await eventRow(page, "system.echo", "ToolCallCompleted").waitFor({ timeout: 10_000 });
    await eventRow(page, "system.echo", "ApprovalRedeemed").waitFor();
  }, 60_000);

  it("shows a tool name full of HTML as text, and runs none of it", async () => {
    const r = await call(XSS_TOOL, XSS_ARGS);
    expect(r.status).toBe(403);
    const cell = page.locator("table.events td.tool", { hasText: XSS_TOOL });
    await cell.first().waitFor({ timeout: 10_000 });
    await expect.poll(() => cell.first().innerText()).toBe(XSS_TOOL);
    await shot("events");
    expect(await page.locator("main img, main script, main svg[onload]").count()).toBe(0);
    await eventRow(page, XSS_TOOL, "PolicyDenied").getByRole("link", { name: "PolicyDenied" }).click();
    await expect.poll(() => page.locator("section.detail").innerText()).toContain(XSS_TOOL);
    expect(await page.evaluate("window.__xss")).toBeUndefined();
    expect(dialogs).toEqual([]);
  }, 60_000);

  it("dry-runs a call against a security context", async () => {
    await page.getByRole("link", { name: "Contexts" }).click();
    await page.getByRole("cell", { name: "console-demo" }).waitFor();
    await page.getByLabel("tool").fill("system.echo");
    await page.getByRole("button", { name: "Evaluate" }).click();
    await expect.poll(() => page.locator("pre.evaluation").innerText()).toContain('"decision": "escalate"');
    await shot("contexts");
  }, 60_000);

  it("edits a context with its what-if beside it, and saves the suggestion from history as a reviewed edit", async () => {
    const admin = t.adminToken("default");
    const wide = {
      name: "console-edit",
      description: "started wide",
      capabilities: [{ tool_pattern: "system.*" }],
    };
    await expectJson(await t.request("/v1/security-contexts", jsonInit("POST", wide, admin)), 201);
    const saved = agent;
    agent = await createSessionAgent(t, { sub: "edit-agent", context: "console-edit" });
    for (const [tool, args] of [
      ["system.whoami", {}],
      ["system.echo", { text: "one" }],
      ["system.whoami", {}],
      ["system.echo", { text: "two" }],
      ["system.whoami", {}],
    ] as const) {
      const r = await call(tool, args);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    }
    agent = saved;
    const whatIfRows = async () =>
      (
        await expectJson<{ items: unknown[] }>(
          await t.request("/v1/events?type=PolicyWhatIfEvaluated", { headers: bearer(admin) }),
          200,
        )
      ).items.length;

    // A tab whose clock is the gateway's (the test clock is in January 2026), so "the last 7 days"
    // is the window the calls above were made in.
    const tab = await browser.context.newPage();
    watch(tab);
    await tab.clock.setFixedTime(new Date(t.clock.nowMs()));
    await signInAs(tab, t.operatorToken("admin", "default"));
    await tab.getByRole("link", { name: "Contexts" }).click();
    await tab.getByRole("link", { name: "console-edit" }).click();
    await tab.getByRole("heading", { name: "Security context console-edit" }).waitFor();
    const editor = tab.getByLabel("definition (JSON)");
    const diff = tab.getByTestId("definition-diff");
    const save = tab.getByRole("button", { name: "Save" });
    await expect.poll(() => editor.inputValue()).toContain('"tool_pattern": "system.*"');
    await expect.poll(() => diff.innerText()).toBe("No change from the saved definition.");
    expect(await tab.getByLabel("history").inputValue()).toBe("7d");

    // The edit: narrow system.* to system.whoami. The diff shows it; Save waits for a preview.
    const narrowed = (await editor.inputValue()).replace('"system.*"', '"system.whoami"');
    await editor.fill(narrowed);
    await expect.poll(() => diff.innerText()).toContain('-       "tool_pattern": "system.*"');
    await expect.poll(() => diff.innerText()).toContain('+       "tool_pattern": "system.whoami"');
    expect(await save.isDisabled()).toBe(true);
    await tab.getByTestId("save-hint").waitFor();

    const before = await whatIfRows();
    await tab.getByRole("button", { name: "Preview what-if" }).click();
    const summary = tab.getByTestId("what-if-summary");
    await expect
      .poll(() => summary.innerText())
      .toBe("The candidate would deny 2 calls, of 5 recorded calls in the last 7 days.");
    const flips = tab.locator("table.flips tbody tr");
    await expect.poll(() => flips.count()).toBe(2);
    for (const row of await flips.all()) {
      expect(await row.locator("td.tool").innerText()).toBe("system.echo");
      expect(await row.locator("td").nth(2).innerText()).toBe("allow");
      expect(await row.locator("td").nth(3).innerText()).toBe("reject");
    }
    // The console shows what the API answers for the same candidate and window.
    const direct = await expectJson<{ flips: Array<{ event_id: string }> }>(
      await t.request(
        "/v1/security-contexts/console-edit/what-if",
        jsonInit(
          "POST",
          {
            candidate: JSON.parse(narrowed),
            since: new Date(t.clock.nowMs() - 7 * 86_400_000).toISOString(),
          },
          admin,
        ),
      ),
      200,
    );
    const shown = await flips.evaluateAll((rows) => rows.map((r) => r.getAttribute("data-event")));
    expect(shown).toEqual(direct.flips.map((f) => f.event_id));
    expect(await whatIfRows()).toBe(before + 2); // the console's preview and the direct call
    await expect.poll(() => save.isDisabled()).toBe(false);

    // Any further keystroke makes the preview stale and takes Save away again.
    await editor.fill(narrowed.replace("started wide", "started wide!"));
    await expect.poll(() => save.isDisabled()).toBe(true);
    await tab.locator(".what-if.stale").waitFor();

    // Not JSON: said at once, nothing sent. Invalid: every problem the gateway found, nothing written.
    await editor.fill("{ not json");
    await expect.poll(() => tab.locator(".editor-grid .error").innerText()).toMatch(/^The edit is not JSON/);
    expect(await tab.getByRole("button", { name: "Preview what-if" }).isDisabled()).toBe(true);
    await editor.fill(
      JSON.stringify({ name: "console-edit", capabilities: [{ tool_pattern: "" }], bogus: 1 }),
    );
    const rowsBeforeInvalid = await whatIfRows();
    await tab.getByRole("button", { name: "Preview what-if" }).click();
    const alert = tab.getByRole("alert");
    await expect.poll(() => alert.innerText()).toContain("the candidate security context is invalid");
    expect(await alert.locator("ul.problems li").count()).toBeGreaterThanOrEqual(2);
    await expect
      .poll(() => alert.innerText())
      .toContain("candidate.capabilities[0].tool_pattern: must not be empty");
    expect(await whatIfRows()).toBe(rowsBeforeInvalid);

    // The suggestion from the same history arrives as an edit: diff, notes, and its what-if.
    await tab.getByRole("button", { name: "Discard edit" }).click();
    await expect.poll(() => diff.innerText()).toBe("No change from the saved definition.");
    await tab.getByRole("button", { name: "Suggest from history" }).click();
    const suggestion = tab.getByTestId("suggestion");
    await expect.poll(() => suggestion.innerText()).toContain("Suggested from 5 recorded calls");
    // Exact tool names only: nothing was generalised, and the console says so.
    await expect
      .poll(() => suggestion.locator(".notes").innerText())
      .toBe("No generalisation: every entry is exactly what the calls used.");
    await expect
      .poll(() => summary.innerText())
      .toBe("No call would be decided differently, of 5 recorded calls in the last 7 days.");
    await expect.poll(() => diff.innerText()).toContain('-       "tool_pattern": "system.*"');
    const suggested = JSON.parse(await editor.inputValue()) as {
      capabilities: Array<{ tool_pattern: string }>;
    };
    expect(suggested.capabilities.map((c) => c.tool_pattern)).toEqual(["system.whoami", "system.echo"]);
    await shot("context-editor", tab);

    // Someone else saves meanwhile: the save is refused, their definition shown, the preview gone.
    const theirs = { ...wide, description: "changed elsewhere" };
    await expectJson(
      await t.request("/v1/security-contexts/console-edit", jsonInit("PUT", theirs, admin)),
      200,
    );
    await save.click();
    await expect.poll(() => tab.getByRole("alert").innerText()).toMatch(/^Someone saved this context/);
    await expect.poll(() => tab.getByTestId("what-if").count()).toBe(0);
    await expect.poll(() => diff.innerText()).toContain('-   "description": "changed elsewhere"');
    expect(await save.isDisabled()).toBe(true);
    await tab.getByRole("button", { name: "Preview what-if" }).click();
    await expect
      .poll(() => summary.innerText())
      .toBe("No call would be decided differently, of 5 recorded calls in the last 7 days.");

    await save.click();
    await tab
      .getByRole("status")
      .filter({ hasText: /^Saved at/ })
      .waitFor();
    await expect.poll(() => diff.innerText()).toBe("No change from the saved definition.");
    const stored = await expectJson<{ capabilities: Array<{ tool_pattern: string }> }>(
      await t.request("/v1/security-contexts/console-edit", { headers: bearer(admin) }),
      200,
    );
    expect(stored.capabilities.map((c) => c.tool_pattern)).toEqual(["system.whoami", "system.echo"]);
    const changes = await expectJson<{ items: Array<{ payload: Record<string, unknown> }> }>(
      await t.request("/v1/events?type=ConfigChanged", { headers: bearer(admin) }),
      200,
    );
    expect(
      changes.items.some(
        (e) =>
          e.payload.object === "security_context" &&
          e.payload.action === "update" &&
          e.payload.name === "console-edit",
      ),
    ).toBe(true);
    await tab.close();

    // A viewer may preview and ask for a suggestion, but is offered no Save.
    const viewer = await browser.context.newPage();
    watch(viewer);
    await viewer.clock.setFixedTime(new Date(t.clock.nowMs()));
    await signInAs(viewer, t.operatorToken("viewer", "default"));
    await viewer.goto(`${base}/contexts/console-edit?tenant_id=default`);
    await viewer.getByRole("heading", { name: "Security context console-edit" }).waitFor();
    await viewer.getByRole("button", { name: "Suggest from history" }).click();
    await expect
      .poll(() => viewer.getByTestId("what-if-summary").innerText())
      .toBe("No call would be decided differently, of 5 recorded calls in the last 7 days.");
    expect(await viewer.getByRole("button", { name: "Save" }).count()).toBe(0);
    await viewer.close();
  }, 120_000);

  it("revokes a session; the next call under it is refused", async () => {
    await page.getByRole("link", { name: "Sessions" }).click();
    const row = page.locator(`tr[data-session="${agent.executionId}"]`);
    await row.getByRole("button", { name: "Revoke" }).click();
    await row.getByRole("button", { name: "Confirm revoke" }).click();
    await expect.poll(() => row.locator(".badge").innerText()).toBe("Revoked");
    await shot("sessions");
    const r = await call("system.whoami", {});
    expect(r.status).toBe(401);
    expect(r.body.error).toMatchObject({ code: 1006, details: { reason: "session_revoked" } });
    await page.getByRole("link", { name: "Events" }).click();
    await eventRow(page, agent.executionId, "EnvelopeRejected").waitFor({ timeout: 10_000 });
  }, 60_000);

  it("offers a viewer no approve, deny or revoke buttons", async () => {
    const other = await createSessionAgent(t, { sub: "second-agent", context: "console-demo" });
    const saved = agent;
    agent = other;
    const pending = await call("system.echo", { n: 1 });
    agent = saved;
    expect(pending.status).toBe(202);
    const viewer = await browser.context.newPage(); // a new tab: its own sessionStorage
    watch(viewer);
    await signInAs(viewer, t.operatorToken("viewer", "default"));
    await expect.poll(() => viewer.locator(".who").innerText()).toContain("viewer");
    await viewer.getByRole("link", { name: "Approvals" }).click();
    await viewer.locator("article.approval").first().waitFor();
    await expect.poll(() => viewer.getByRole("button", { name: /Approve|Deny/ }).count()).toBe(0);
    await viewer.getByRole("link", { name: "Sessions" }).click();
    await viewer.locator(`tr[data-session="${other.executionId}"]`).waitFor();
    await expect.poll(() => viewer.getByRole("button", { name: /Revoke/ }).count()).toBe(0);
    await viewer.close();
  }, 60_000);

  it("shows the audit chain's state: sealed through the head, the unsealed tail, the last checkpoint", async () => {
    await t.gw.sealer.sealNow(true);
    await call("system.whoami", {}); // one row past the seal: the tail
    await page.getByRole("link", { name: "Audit" }).click();
    const state = page.locator('[data-testid="chain-state"]');
    await state.waitFor();
    const head = await t.gw.store.chainHead();
    const checkpoint = await t.gw.store.lastCheckpoint();
    const text = await state.innerText();
    expect(text).toContain(String(head?.chainSeq));
    expect(text).toContain(String(head?.hash));
    expect(text).toContain(String(checkpoint?.id));
    const { total, sealed } = await t.gw.store.countEvents();
    expect(total - sealed).toBeGreaterThan(0);
    expect(text).toMatch(new RegExp(`unsealed rows\\s+${total - sealed}\\b`));
    await shot("audit");
  }, 60_000);

  it("exports an execution's evidence pack and the public keys, which verify offline", async () => {
    await t.gw.sealer.sealNow(true);
    await page.goto(`${base}/executions/${encodeURIComponent(agent.executionId)}`);
    await page.getByRole("heading", { name: /Execution/ }).waitFor();
    const save = async (testId: string) => {
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.locator(`[data-testid="${testId}"]`).click(),
      ]);
      const path = await download.path();
      return {
        name: download.suggestedFilename(),
        path,
        value: JSON.parse(readFileSync(path, "utf8")) as unknown,
      };
    };
    const pack = await save("export-evidence");
    expect(pack.name).toBe(`evidence-${agent.executionId.replace(/[^A-Za-z0-9._-]/g, "_")}.json`);
    await expect
      .poll(() => page.locator('[data-testid="evidence-note"]').innerText())
      .toMatch(/signed checkpoints/);
    await shot("evidence");
    const keysFile = await save("export-keys");
    const jwks = keysFile.value as { keys: JsonWebKey[] };
    const keys = new Map(
      jwks.keys.map((k) => [String((k as { kid: string }).kid), createPublicKey({ key: k, format: "jwk" })]),
    );
    const report = verifyEvidence(pack.value, keys);
    expect(report, JSON.stringify(report.problems)).toMatchObject({ status: "intact", problems: [] });
    expect(report.events).toBeGreaterThan(3);
    // The README's last step, as the auditor runs it: the command on the two downloaded files.
    const cli = await runCli(["audit", "verify", "--evidence", pack.path, "--keys", keysFile.path], {
      env: {},
      cwd: tmpdir(),
    });
    expect(cli.code, cli.stdout + cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ status: "intact" });
  }, 60_000);

  it("pages a listing longer than one page with Load more, each row once", async () => {
    const admin = t.adminToken("default");
    // One page is the API's default of 100 rows: 105 keys need a second.
    for (let i = 0; i < 105; i++) {
      const body = {
        sub: `paged-agent-${i}`,
        public_key_b64: generateKeyPair().publicKeyB64,
        label: `k${i}`,
      };
      await expectJson(await t.request("/v1/agent-keys", jsonInit("POST", body, admin)), 201);
    }
    await page.getByRole("link", { name: "Agent keys" }).click();
    const section = page.locator("section", { has: page.getByRole("heading", { name: "Agent keys" }) });
    const rows = section.locator("tbody tr");
    await expect.poll(() => rows.count()).toBe(100);
    await section.getByTestId("load-more").click();
    await expect.poll(() => rows.count()).toBe(105);
    await expect.poll(() => section.getByTestId("load-more").count()).toBe(0);
    const ids = await rows.locator("td:first-child").allInnerTexts();
    expect(new Set(ids).size).toBe(105);
  }, 120_000);

  it("signs out, forgetting the token; and the page broke no CSP rule", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    expect(await page.evaluate("sessionStorage.length")).toBe(0);
    expect(cspErrors).toEqual([]);
    expect(dialogs).toEqual([]);
  }, 60_000);
});
