/**
 * `seal-gateway audit verify --evidence FILE --keys FILE`: an auditor's offline check of an
 * exported evidence pack, as a process with its exit codes (DESIGN §7: 0 intact, 1 tampered,
 * 3 not all sealed yet, 2 usage, 4 could not verify).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EvidencePack } from "../../src/audit/evidence.js";
import { call, putContext, sessionAgent, testTool } from "../authorization/support.js";
import { expectJson } from "../http/support.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { runCli, tempDir } from "./process.js";

describe("audit verify --evidence (process)", () => {
  let t: TestGateway;
  const dir = tempDir("seal-evidence-");
  const opts = { env: {}, cwd: dir };
  const file = (name: string, content: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
    return path;
  };
  let sealedPack: EvidencePack;
  let unsealedPack: EvidencePack;
  let keysFile: string;

  beforeAll(async () => {
    const tool = testTool("evc.tool");
    t = await startTestGateway(
      "sqlite",
      {},
      { tools: [{ lookup: async (_t, n) => (n === tool.name ? tool : null), list: async () => [tool] }] },
    );
    await putContext(t, { name: "evc-ctx", capabilities: [{ tool_pattern: "evc.*" }] });
    const headers = { authorization: `Bearer ${t.operatorToken("viewer")}` };
    const get = async <T>(path: string) => expectJson<T>(await t.request(path, { headers }), 200);
    const a = await sessionAgent(t, { context: "evc-ctx" });
    expect((await call(t, a, "evc.tool")).status).toBe(200);
    await t.gw.sealer.sealNow(true);
    sealedPack = await get<EvidencePack>(`/v1/executions/${a.executionId}/evidence`);
    const b = await sessionAgent(t, { context: "evc-ctx" });
    expect((await call(t, b, "evc.tool")).status).toBe(200);
    unsealedPack = await get<EvidencePack>(`/v1/executions/${b.executionId}/evidence`);
    keysFile = file("keys.json", await get("/v1/audit/keys"));
  });
  afterAll(async () => {
    await t?.close();
  });

  const verify = (...args: string[]) => runCli(["audit", "verify", "--json", ...args], opts);

  it("exits 0 for an intact pack and prints the report", async () => {
    const r = await verify("--evidence", file("ok.json", sealedPack), "--keys", keysFile);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: "intact", problems: [] });
  });

  it("exits 1 for a changed pack, naming the problem", async () => {
    const bent = structuredClone(sealedPack);
    const e = bent.events[0];
    if (!e) throw new Error("no event");
    e.tool_name = "something.else";
    const r = await verify("--evidence", file("bent.json", bent), "--keys", keysFile);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).problems.join("\n")).toMatch(/does not match its hash/);
  });

  it("exits 3 while the execution's events are not sealed", async () => {
    const r = await verify("--evidence", file("unsealed.json", unsealedPack), "--keys", keysFile);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(JSON.parse(r.stdout).status).toBe("incomplete");
  });

  it.each([
    ["a missing pack", () => ["--evidence", join(dir, "nope.json"), "--keys", keysFile], /could not verify/],
    [
      "a pack that is not JSON",
      () => ["--evidence", file("junk.json", "{not json"), "--keys", keysFile],
      /not JSON/,
    ],
    [
      "an empty key set",
      () => ["--evidence", file("ok2.json", sealedPack), "--keys", file("k0.json", { keys: [] })],
      /no keys/,
    ],
    [
      "a key set with a non-Ed25519 key",
      () => [
        "--evidence",
        file("ok3.json", sealedPack),
        "--keys",
        file("k1.json", { keys: [{ kty: "RSA", kid: "x" }] }),
      ],
      /not an Ed25519 JWK/,
    ],
    [
      "a key set with a malformed key",
      () => [
        "--evidence",
        file("ok4.json", sealedPack),
        "--keys",
        file("k2.json", { keys: [{ kty: "OKP", crv: "Ed25519", x: "short", kid: "x" }] }),
      ],
      /not a valid Ed25519 public key/,
    ],
  ])("exits 4 for %s", async (_name, args, message) => {
    const r = await verify(...args());
    expect(r.code, r.stdout + r.stderr).toBe(4);
    expect(r.stderr).toMatch(message);
  });

  it("is a usage error (exit 2) to give --keys without --evidence", async () => {
    const r = await verify("--keys", keysFile);
    expect(r.code, r.stderr).toBe(2);
  });
});
