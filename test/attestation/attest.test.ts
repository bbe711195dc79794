/**
 * POST /v1/seal/attest against the real Docker engine (DESIGN §7, RFC §6): a running container
 * labelled with the contexts it may request gets a token bound to its key by `cnf`; a stopped
 * container, a wrong or missing label, a forged or abbreviated workload id, an unknown context,
 * a bad key and a request from outside the container are refused with 3000/3001/3002 and
 * audited; with no verifier configured the endpoint is off.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveGateway } from "../../src/http/server.js";
import { generateKeyPair } from "../../src/sdk/index.js";
import { events, putContext, send, signedCall } from "../authorization/support.js";
import {
  ENGINE_SETUP_TIMEOUT_MS,
  internalNetwork,
  type TestEngine,
  testEngine,
} from "../engines/cli/support/engine.js";
import { jsonInit, startTestGateway, type TestGateway } from "../support/gateway.js";

const run = promisify(execFile);

/** The claims of a token (read without verifying: the gateway verifies them in the calls below). */
interface AttestBody {
  status: string;
  security_token: string;
  expires_at: string;
  error: { code: number; details: { reason: string } };
  [key: string]: unknown;
}

interface Claims {
  exp: number;
  [key: string]: unknown;
}

function claimsOf(token: string): Claims {
  const part = token.split(".")[1] ?? "";
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Claims;
}
const TENANT = `att-${randomBytes(4).toString("hex")}`;
const LABEL = "seal-gateway.attest.contexts";
const TENANT_LABEL = "seal-gateway.attest.tenant";
const NETWORK = "seal-test-egress";

let engine: TestEngine;
let docker: Docker;
let t: TestGateway;
const containers: string[] = [];

async function container(labels: Record<string, string>, network = "none"): Promise<string> {
  const c = await docker.createContainer({
    Image: "seal-test/busybox",
    Cmd: ["sleep", "120"],
    Labels: { "seal-test": "attest", ...labels },
    User: "65532:65532",
    HostConfig: { NetworkMode: network, CapDrop: ["ALL"], ReadonlyRootfs: true },
  });
  containers.push(c.id);
  await c.start();
  return c.id;
}

async function attest(gw: TestGateway, body: unknown) {
  const res = await gw.request("/v1/seal/attest", jsonInit("POST", body));
  return { status: res.status, body: (await res.json()) as AttestBody };
}

function expectRefusal(r: { status: number; body: AttestBody }, status: number, code: number) {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.body.status).toBe("error");
  expect(r.body.error.code).toBe(code);
  return r.body.error.details.reason;
}

beforeAll(async () => {
  engine = await testEngine();
  docker = new Docker({ socketPath: engine.socketPath });
  t = await startTestGateway("sqlite", {
    SEAL_GATEWAY_ATTESTATION_VERIFIER: "docker",
    SEAL_GATEWAY_ATTESTATION_SOCKET_PATH: engine.socketPath,
    // In-process requests have no peer address; the source check has its own test below.
    SEAL_GATEWAY_ATTESTATION_MATCH_SOURCE_ADDRESS: "false",
  });
  await putContext(t, { name: "ci-runner", tenant_id: TENANT, capabilities: [{ tool_pattern: "*" }] });
}, ENGINE_SETUP_TIMEOUT_MS);

afterAll(async () => {
  await t?.close();
  for (const id of containers)
    await docker
      .getContainer(id)
      .remove({ force: true })
      .catch(() => undefined);
});

describe("POST /v1/seal/attest with the Docker verifier", () => {
  it("gives a running, labelled container a token bound to its key by cnf, usable for calls", async () => {
    const id = await container({ [LABEL]: "other,ci-runner", [TENANT_LABEL]: TENANT });
    const pair = generateKeyPair();
    const r = await attest(t, {
      public_key: pair.publicKeyB64,
      workload_id: id,
      security_context: "ci-runner",
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ status: "success", workload_id: id, security_context: "ci-runner" });
    const claims = claimsOf(r.body.security_token);
    expect(claims).toMatchObject({ scp: "ci-runner", wid: id, tenant_id: TENANT, sub: `docker:${id}` });
    expect(claims.cnf).toEqual({
      jwk: { kty: "OKP", crv: "Ed25519", x: Buffer.from(pair.publicKeyB64, "base64").toString("base64url") },
    });
    expect(claims.exec_id).toBeUndefined();
    expect(new Date(r.body.expires_at).getTime()).toBe(claims.exp * 1000);

    // The token works with the attested key (an allowed but unknown tool: 4004 after
    // authentication), and with no other key (1002).
    const agent = { token: r.body.security_token, privateKeyB64: pair.privateKeyB64 };
    const ok = await send(t, signedCall(t, agent, "no.such.tool"));
    expect(ok.body.error?.code).toBe(4004);
    const thief = { token: agent.token, privateKeyB64: generateKeyPair().privateKeyB64 };
    expect((await send(t, signedCall(t, thief, "no.such.tool"))).body.error?.code).toBe(1002);

    const rows = await events(t, { type: "AttestationSucceeded" });
    const row = rows.find((e) => e.payload.workload_id === id);
    expect(row?.tenant_id).toBe(TENANT);
    expect(row?.payload.token_jti).toBe(claims.jti);
    expect(JSON.stringify(rows)).not.toContain(r.body.security_token);
  });

  it("accepts the RFC's requested_scope for the context", async () => {
    const id = await container({ [LABEL]: "ci-runner", [TENANT_LABEL]: TENANT });
    const r = await attest(t, {
      public_key: generateKeyPair().publicKeyB64,
      workload_id: id,
      requested_scope: "ci-runner",
    });
    expect(r.status).toBe(200);
  });

  it("refuses a stopped container (3000 workload_not_running)", async () => {
    const id = await container({ [LABEL]: "ci-runner", [TENANT_LABEL]: TENANT });
    await docker.getContainer(id).stop({ t: 0 });
    const r = await attest(t, {
      public_key: generateKeyPair().publicKeyB64,
      workload_id: id,
      security_context: "ci-runner",
    });
    expect(expectRefusal(r, 401, 3000)).toBe("workload_not_running");
    const rows = await events(t, { type: "AttestationFailed" });
    expect(rows.find((e) => e.payload.workload_id === id)?.payload.reason).toBe("workload_not_running");
  });

  it("refuses a context the container's label does not name, and a container without the label (3000)", async () => {
    const wrong = await container({ [LABEL]: "ci-runner-2, admin", [TENANT_LABEL]: TENANT });
    const r1 = await attest(t, {
      public_key: generateKeyPair().publicKeyB64,
      workload_id: wrong,
      security_context: "ci-runner",
    });
    expect(expectRefusal(r1, 401, 3000)).toBe("context_not_permitted");
    const bare = await container({});
    const r2 = await attest(t, {
      public_key: generateKeyPair().publicKeyB64,
      workload_id: bare,
      security_context: "ci-runner",
    });
    expect(expectRefusal(r2, 401, 3000)).toBe("no_contexts_label");
    // The label's tenant decides where the context is looked up: not this tenant → 3001.
    const elsewhere = await container({ [LABEL]: "ci-runner" });
    const r3 = await attest(t, {
      public_key: generateKeyPair().publicKeyB64,
      workload_id: elsewhere,
      security_context: "ci-runner",
    });
    expect(expectRefusal(r3, 403, 3001)).toBe("context_not_found");
  });

  it("refuses a forged id, an id prefix and a container name (3000), naming no container", async () => {
    const id = await container({ [LABEL]: "ci-runner", [TENANT_LABEL]: TENANT });
    const key = generateKeyPair().publicKeyB64;
    const forged = randomBytes(32).toString("hex");
    expect(
      expectRefusal(
        await attest(t, { public_key: key, workload_id: forged, security_context: "ci-runner" }),
        401,
        3000,
      ),
    ).toBe("workload_not_found");
    for (const wid of [id.slice(0, 12), id.toUpperCase(), `/${id}`, `${id} `, "seal-gateway"]) {
      expect(
        expectRefusal(
          await attest(t, { public_key: key, workload_id: wid, security_context: "ci-runner" }),
          401,
          3000,
        ),
      ).toBe("bad_workload_id");
    }
  });

  it("refuses an unknown context in the workload's tenant (3001)", async () => {
    const id = await container({ [LABEL]: "ghost-context", [TENANT_LABEL]: TENANT });
    const r = await attest(t, {
      public_key: generateKeyPair().publicKeyB64,
      workload_id: id,
      security_context: "ghost-context",
    });
    expect(expectRefusal(r, 403, 3001)).toBe("context_not_found");
  });

  it("refuses malformed requests and unusable keys (3002) before asking the engine", async () => {
    const id = await container({ [LABEL]: "ci-runner", [TENANT_LABEL]: TENANT });
    const small = Buffer.alloc(32).toString("base64"); // a small-order point
    expect(
      expectRefusal(
        await attest(t, { public_key: small, workload_id: id, security_context: "ci-runner" }),
        401,
        3002,
      ),
    ).toBe("bad_key");
    expect(
      expectRefusal(
        await attest(t, { public_key: "abc", workload_id: id, security_context: "ci-runner" }),
        401,
        3002,
      ),
    ).toBe("bad_key");
    for (const body of [
      {},
      { public_key: generateKeyPair().publicKeyB64, workload_id: id },
      { public_key: generateKeyPair().publicKeyB64, workload_id: id, security_context: "Bad Name" },
      {
        public_key: generateKeyPair().publicKeyB64,
        workload_id: id,
        security_context: "ci-runner",
        extra: 1,
      },
      {
        public_key: generateKeyPair().publicKeyB64,
        workload_id: "x".repeat(300),
        security_context: "ci-runner",
      },
    ]) {
      expect(expectRefusal(await attest(t, body), 401, 3002)).toBe("invalid_request");
    }
    const dup = await t.request("/v1/seal/attest", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: `{"public_key":"a","public_key":"b","workload_id":"${id}","security_context":"ci-runner"}`,
    });
    expect(dup.status).toBe(401);
    expect(((await dup.json()) as AttestBody).error.details.reason).toBe("invalid_request");
  });

  it("answers 3002 verifier_unavailable when the engine is down", async () => {
    const down = await startTestGateway("sqlite", {
      SEAL_GATEWAY_ATTESTATION_VERIFIER: "docker",
      SEAL_GATEWAY_ATTESTATION_SOCKET_PATH: "/nonexistent/docker.sock",
    });
    try {
      const r = await attest(down, {
        public_key: generateKeyPair().publicKeyB64,
        workload_id: "a".repeat(64),
        security_context: "default",
      });
      expect(expectRefusal(r, 401, 3002)).toBe("verifier_unavailable");
    } finally {
      await down.close();
    }
  });
});

describe("POST /v1/seal/attest with no verifier configured", () => {
  it("is off: every request refused with 3002 attestation_disabled, audited", async () => {
    const off = await startTestGateway("sqlite");
    try {
      const r = await attest(off, {
        public_key: generateKeyPair().publicKeyB64,
        workload_id: "a".repeat(64),
        security_context: "default",
      });
      expect(expectRefusal(r, 401, 3002)).toBe("attestation_disabled");
      const rows = await events(off, { type: "AttestationFailed" });
      expect(rows.map((e) => [e.tenant_id, e.payload.reason])).toEqual([["system", "attestation_disabled"]]);
    } finally {
      await off.close();
    }
  });
});

describe("the source address check (default on)", () => {
  let gateway: string;
  let served: TestGateway;
  let stop: () => Promise<void>;
  let url = "";

  beforeAll(async () => {
    ({ gateway } = await internalNetwork(engine.socketPath, NETWORK));
    served = await startTestGateway("sqlite", {
      SEAL_GATEWAY_ATTESTATION_VERIFIER: "docker",
      SEAL_GATEWAY_ATTESTATION_SOCKET_PATH: engine.socketPath,
    });
    await putContext(served, { name: "ci-runner", tenant_id: TENANT, capabilities: [{ tool_pattern: "*" }] });
    // Bound to this host's side of the internal bridge only: nothing off this machine.
    const s = await serveGateway(served.gw, { host: gateway, port: 0, graceMs: 100 });
    stop = s.stop;
    url = `http://${gateway}:${s.port}/v1/seal/attest`;
  }, ENGINE_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await stop?.();
  });

  it("attests a request made from inside the container, refuses the same request from elsewhere", async () => {
    const id = await container({ [LABEL]: "ci-runner", [TENANT_LABEL]: TENANT }, NETWORK);
    const body = JSON.stringify({
      public_key: generateKeyPair().publicKeyB64,
      workload_id: id,
      security_context: "ci-runner",
    });
    const inside = await run("docker", [
      "-H",
      `unix://${engine.socketPath}`,
      "exec",
      id,
      "wget",
      "-q",
      "-O",
      "-",
      "--header",
      "content-type: application/json",
      "--post-data",
      body,
      url,
    ]);
    const answer = JSON.parse(inside.stdout) as { status: string; security_token: string };
    expect(answer.status).toBe("success");
    expect(claimsOf(answer.security_token).wid).toBe(id);

    const outside = await fetch(url, jsonInit("POST", JSON.parse(body)));
    expect(outside.status).toBe(401);
    expect(((await outside.json()) as AttestBody).error).toMatchObject({
      code: 3000,
      details: { reason: "source_mismatch" },
    });
  });
});
