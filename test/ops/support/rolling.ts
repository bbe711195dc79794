/**
 * What the fleet tests share: `invoke` (one signed call to an instance or the balancer, a
 * refused connection answered as status 0), a session signing `system.echo` calls, and the
 * rolling restart of docs/operations.md "Upgrades": each instance in
 * turn is taken out of the balancer (a Kubernetes endpoint removal and its preStop pause), sent
 * SIGTERM (it drains in-flight calls, seals its tail and exits), replaced by `start(i)` (the same
 * version, a new configuration, or the next version) and put back once `/ready` answers 200.
 */
import { expect } from "vitest";
import { generateKeyPair, signEnvelope, toolCallPayload } from "../../../src/sdk/index.js";
import { type GatewayProcess, jsonPost } from "../../cli/process.js";
import type { Balancer } from "./balancer.js";

/** An answer of POST /v1/invoke; status 0 when the request itself failed (no connection). */
export interface Answer {
  status: number;
  body: { request_id?: string; error?: { code: number; details?: { reason?: string } } };
}

/** POST /v1/invoke of a signed envelope body to one instance (or the balancer) at `url`. */
export async function invoke(url: string, body: string): Promise<Answer> {
  try {
    const res = await fetch(`${url}/v1/invoke`, jsonPost(body));
    return { status: res.status, body: (await res.json()) as Answer["body"] };
  } catch (err) {
    return { status: 0, body: { error: { code: 0, details: { reason: String(err) } } } };
  }
}

export interface RestartExit {
  code: number | null;
  signal: string | null;
}

export async function rollingRestart(
  gateways: GatewayProcess[],
  lb: Balancer,
  start: (i: number) => Promise<GatewayProcess>,
  opts: { pauseMs?: number; afterEach?: (i: number) => Promise<void> } = {},
): Promise<RestartExit[]> {
  const exits: RestartExit[] = [];
  for (let i = 0; i < gateways.length; i++) {
    await new Promise((r) => setTimeout(r, opts.pauseMs ?? 1500));
    const old = gateways[i] as GatewayProcess;
    lb.drain(old.url); // out of rotation first
    await new Promise((r) => setTimeout(r, 300));
    old.proc.kill("SIGTERM");
    exits.push(await old.exited);
    lb.undrain(old.url);
    const fresh = await start(i);
    expect((await fetch(`${fresh.url}/ready`)).status).toBe(200);
    gateways[i] = fresh; // back in rotation once ready
    await opts.afterEach?.(i);
  }
  return exits;
}

/**
 * A context allowing `system.echo` and a session under it, made through `url` with an admin
 * token: returns a signer of echo calls (each envelope fresh, its argument `i`).
 */
export async function echoSession(url: string, admin: string, name: string): Promise<(i: string) => string> {
  const ctx = await fetch(
    `${url}/v1/security-contexts`,
    jsonPost({ name, capabilities: [{ tool_pattern: "system.echo" }] }, admin),
  );
  expect(ctx.status).toBe(201);
  const pair = generateKeyPair();
  const s = await fetch(
    `${url}/v1/seal/sessions`,
    jsonPost({ sub: `${name}-agent`, security_context_name: name, public_key_b64: pair.publicKeyB64 }, admin),
  );
  expect(s.status).toBe(201);
  const token = String(((await s.json()) as { security_token: string }).security_token);
  return (i) =>
    signEnvelope({
      securityToken: token,
      payload: toolCallPayload({ name: "system.echo", arguments: { i } }),
      privateKeyB64: pair.privateKeyB64,
    }).body;
}
