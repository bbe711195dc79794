/**
 * docs/credentials.md "Walk-through", run exactly as written: its one sh block that makes the
 * call is extracted and run with bash against a REAL gateway process (dist/src/main.js, a fresh
 * data dir in dev mode, loopback egress allowed), with the local upstream standing in for the
 * public Petstore. The upstream must receive the stored token as a bearer token; the caller,
 * the audit trail and the gateway's log must never see it.
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../src/paths.js";
import { type GatewayProcess, startGateway, tempDir } from "../cli/process.js";
import { callBlock, runDocBlock } from "../support/doc-blocks.js";
import { BACKENDS } from "../support/gateway.js";
import { freshPgDatabase } from "../support/pg.js";
import { startUpstream, type Upstream } from "../support/upstream.js";
import { cliToken, echoHeadersTool, http, processAgent, signedCall } from "./process-support.js";
import { encodedForms } from "./support.js";

const HEADING = "## Walk-through: a Petstore token from the built-in store";
const DOC = readFileSync(join(packageRoot(), "docs", "credentials.md"), "utf8");

const walkthroughBlock = (doc: string) => callBlock(doc, HEADING, "docs/credentials.md");

describe("the credentials walk-through block", () => {
  it("is one sh block using only $GATEWAY_URL, $PETSTORE_URL and the seal-gateway alias for what differs per machine", () => {
    const block = walkthroughBlock(DOC);
    for (const literal of ["127.0.0.1", "localhost", "8089", "petstore3.swagger.io", "dist/src/main.js"]) {
      expect(block, `the block must not hard-code ${literal}`).not.toContain(literal);
    }
    expect(block).toContain("$GATEWAY_URL");
    expect(block).toContain("$PETSTORE_URL");
    expect(block).toMatch(/credential_path\\":\{\\"StaticRef\\":\{\\"key\\":\\"petstore\/token\\"\}\}/);
    expect(block).toMatch(/seal-gateway call .*--tool petstore\.available-pets/);
    // The token is never put on a command line (where `ps` would show it).
    expect(block).not.toMatch(/curl[^\n]*\$PETSTORE_TOKEN/);
  });
});

describe.each(BACKENDS)("credentials walk-through against a real gateway process (%s)", (backend) => {
  const dir = tempDir("seal-cred-doc-");
  const work = tempDir("seal-cred-doc-work-");
  let up: Upstream;
  let gw: GatewayProcess;
  let drop: (() => Promise<void>) | null = null;
  const env: Record<string, string> = {
    SEAL_GATEWAY_DATA_DIR: dir,
    SEAL_GATEWAY_EGRESS_ALLOW_NETWORKS: "127.0.0.0/8",
  };

  beforeAll(async () => {
    up = await startUpstream();
    if (backend === "postgres") {
      const db = await freshPgDatabase();
      env.SEAL_GATEWAY_DATABASE_URL = db.url;
      drop = db.drop;
    }
    gw = await startGateway({ env, cwd: dir });
  });
  afterAll(async () => {
    await gw?.kill();
    await up?.close();
    if (drop) await drop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it("runs as written: the upstream gets the stored token as a bearer token, nobody else sees it", async () => {
    const tokenFile = join(work, "token.out");
    // After the block, the test keeps the generated token to look for it (the block itself
    // never prints it).
    const r = await runDocBlock(
      walkthroughBlock(DOC),
      { ...env, GATEWAY_URL: gw.url, PETSTORE_URL: `${up.url}/api/v3` },
      work,
      `printf %s "$PETSTORE_TOKEN" > ${JSON.stringify(tokenFile)}\n`,
    );
    expect(r.code, `stderr:\n${r.stderr}\nstdout:\n${r.stdout}\ngateway:\n${gw.output().slice(-3000)}`).toBe(
      0,
    );
    const token = readFileSync(tokenFile, "utf8");
    expect(token).toMatch(/^[0-9a-f]{48}$/);

    const lines = r.stdout.trim().split("\n");
    const answers = lines
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const secret = answers.find((a) => a.key === "petstore/token" && a.version === 1);
    expect(secret).toMatchObject({ status: "active", source: "builtin", tenant_id: "default" });
    expect(String(secret?.fingerprint)).toMatch(/^[0-9a-f]{16}$/);
    const call = answers.find((a) => a.status === "success") as
      | { result: { result: Array<{ name: string }> } }
      | undefined;
    expect(call?.result.result.map((p) => p.name)).toEqual(["Rex", "Kiwi"]);
    const exchange = answers.find((a) => Array.isArray(a.items)) as
      | { items: Array<{ event_type: string; payload: unknown }> }
      | undefined;
    expect(exchange?.items[0]).toMatchObject({
      event_type: "CredentialExchangeCompleted",
      payload: { credential_path: "StaticRef", key: "petstore/token", fingerprint: secret?.fingerprint },
    });

    // What the upstream saw: the spec fetch without credentials, then the call with the token.
    expect(up.requests.map((q) => `${q.method} ${q.rawPath}`)).toEqual([
      "GET /api/v3/openapi.json",
      "GET /api/v3/pet/findByStatus",
    ]);
    expect(up.requests[0]?.headers.authorization).toBeUndefined();
    expect(up.requests[1]?.headers.authorization).toBe(`Bearer ${token}`);

    // The Petstore does not reflect the token; an API that does (the local echo route) shows
    // the caller [REDACTED] in its place — same gateway, the secret the walk-through stored.
    const admin = await cliToken(env, dir);
    const p = { url: gw.url, admin };
    await echoHeadersTool(
      p,
      up.url,
      { StaticRef: { key: "petstore/token" } },
      {
        inline_yaml: readFileSync(join(packageRoot(), "test", "fixtures", "openapi", "billing.yaml"), "utf8"),
      },
    );
    const echoed = await signedCall(p, await processAgent(p), "echo.headers");
    expect(up.requests.at(-1)?.headers.authorization).toBe(`Bearer ${token}`);
    expect(
      (echoed.result as { result: { headers: { authorization: string } } }).result.headers.authorization,
    ).toBe("Bearer [REDACTED]");

    // Nobody else: not the caller's output, the audit trail, or the gateway's log.
    const events = await http(p, "GET", "/v1/events?limit=1000");
    for (const form of encodedForms(token)) {
      expect(r.stdout + r.stderr + JSON.stringify(echoed), form).not.toContain(form);
      expect(events.text, form).not.toContain(form);
      expect(gw.output(), form).not.toContain(form);
    }
  });
});
