/**
 * The SEAL numbers on the wire, held against the contract. The table below is written by hand
 * from DESIGN §2 (RFC §8.1 names, and this project's 4xxx/5030 codes) — it is deliberately not
 * derived from src/, so a number swapped in the code table cannot also swap the expectation.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_TABLE } from "../../src/errors.js";
import { putContext, testTool } from "../authorization/support.js";
import { expectJson } from "../http/support.js";
import { BACKENDS, jsonInit, startTestGateway, type TestGateway } from "../support/gateway.js";

/** [SEAL number, name, the HTTP statuses DESIGN gives it]. */
const CONTRACT: ReadonlyArray<readonly [number, string, readonly number[]]> = [
  [1000, "MALFORMED_ENVELOPE", [400, 413]],
  [1001, "INVALID_SIGNATURE", [401]],
  [1002, "SIGNATURE_VERIFICATION_FAILED", [401]],
  [1003, "TOKEN_EXPIRED", [401]],
  [1004, "TOKEN_VERIFICATION_FAILED", [401]],
  [1005, "SESSION_NOT_FOUND", [401]],
  [1006, "SESSION_INACTIVE", [401]],
  [2000, "TOOL_NOT_ALLOWED", [403]],
  [2001, "TOOL_DENIED", [403]],
  [2002, "PATH_NOT_ALLOWED", [403]],
  [2003, "COMMAND_NOT_ALLOWED", [403]],
  [2004, "DOMAIN_NOT_ALLOWED", [403]],
  [2005, "RATE_LIMIT_EXCEEDED", [429]],
  [2006, "NO_MATCHING_CAPABILITY", [403]],
  // DESIGN pins the attestation numbers and names, not their HTTP statuses (docs/decisions.md).
  [3000, "ATTESTATION_WORKLOAD_VERIFICATION_FAILED", [401, 403]],
  [3001, "ATTESTATION_SCOPE_NOT_FOUND", [401, 403]],
  [3002, "ATTESTATION_FAILED", [401, 403]],
  [4000, "INVALID_ARGUMENTS", [400]],
  [4004, "TOOL_NOT_FOUND", [404]],
  [4009, "APPROVAL_INVALID", [409]],
  [4010, "CREDENTIAL_UNAVAILABLE", [502]],
  [4013, "RESPONSE_TOO_LARGE", [502]],
  [4020, "UPSTREAM_ERROR", [502]],
  [4024, "UPSTREAM_TIMEOUT", [504]],
  [4030, "EGRESS_DENIED", [403]],
  [4040, "EXECUTION_FAILED", [500]],
  [4041, "EXECUTION_TIMEOUT", [504]],
  [4050, "JUDGE_REJECTED", [403]],
  [5030, "UNAVAILABLE", [503]],
];

const byNumber = new Map(CONTRACT.map(([n, name, http]) => [n, { name, http }]));
const entries = Object.entries(ERROR_TABLE);

describe("SEAL code numbers (RFC §8.1, DESIGN §2)", () => {
  it.each(CONTRACT)("%i %s is answered by the code table", (number, name, http) => {
    const answering = entries.filter(([, e]) => e.seal === number);
    expect(answering.length, `no code answers ${number}`).toBeGreaterThan(0);
    for (const [code, e] of answering) {
      expect(e.name, `${code} answers ${number}`).toBe(name);
      expect(http, `${code} answers ${number} with HTTP ${e.http}`).toContain(e.http);
    }
  });

  it("no code answers a number, or a name, that the contract does not give it", () => {
    for (const [code, e] of entries) {
      if (code === "INTERNAL") continue; // 5000: never a SEAL answer to a verified envelope
      const pinned = byNumber.get(e.seal);
      expect(pinned, `${code} answers the unpinned number ${e.seal}`).toBeDefined();
      expect(e.name, code).toBe(pinned?.name);
      const numbers = CONTRACT.filter(([, name]) => name === e.name).map(([n]) => n);
      expect(numbers, `${code}'s name ${e.name}`).toEqual([e.seal]);
    }
  });
});

/** The two numbers that were swapped, as an outside client meets them: through the API. */
describe.each(BACKENDS)("command and domain refusals on the wire (%s)", (backend) => {
  let t: TestGateway;
  const web = testTool("web.fetch");
  // A REST tool named like a command: the command allowlists fail every tool that is not a
  // CLI tool (DESIGN §3), which is how a refusal by command shows before CLI tools exist.
  const git = testTool("git", { info: { kind: "workflow" } });
  const all = [web, git];

  beforeAll(async () => {
    t = await startTestGateway(
      backend,
      {},
      { tools: [{ lookup: async (_t, n) => all.find((x) => x.name === n) ?? null, list: async () => all }] },
    );
    await putContext(t, {
      name: "codes",
      capabilities: [
        { tool_pattern: "web.*", domain_allowlist: ["example.com"] },
        { tool_pattern: "git", command_allowlist: ["git"], subcommand_allowlist: ["log"] },
      ],
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  const evaluate = async (tool: string, args: Record<string, unknown>) =>
    await expectJson<{ decision: string; code: number | null }>(
      await t.request(
        "/v1/security-contexts/codes/evaluate",
        jsonInit("POST", { tool, arguments: args }, t.operatorToken("viewer")),
      ),
      200,
    );

  it("a domain_allowlist refusal is 2004 DOMAIN_NOT_ALLOWED", async () => {
    expect(await evaluate("web.fetch", { url: "https://evilexample.com/" })).toMatchObject({
      decision: "reject",
      code: 2004,
    });
  });

  it("a command/subcommand refusal is 2003 COMMAND_NOT_ALLOWED", async () => {
    expect(await evaluate("git", { subcommand: "push" })).toMatchObject({ decision: "reject", code: 2003 });
  });
});
