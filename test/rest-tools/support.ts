/**
 * Helpers for the REST-tool suites: one in-process gateway and one real local upstream per
 * describe, the specs of test/fixtures/openapi, registration through the control-plane API,
 * and the billing workflows the suites call through signed envelopes.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { packageRoot } from "../../src/paths.js";
import {
  type Backend,
  jsonInit,
  startTestGateway,
  type TestGateway,
  type TestGatewayOptions,
} from "../support/gateway.js";
import { startUpstream, type Upstream } from "../support/upstream.js";

export const LOOPBACK_ALLOWED = { SEAL_GATEWAY_EGRESS_ALLOW_NETWORKS: "127.0.0.0/8" };

export function fixture(...parts: string[]): string {
  return readFileSync(join(packageRoot(), "test", "fixtures", "openapi", ...parts), "utf8");
}

export const PETSTORE_YAML = (): string => fixture("petstore", "openapi.yaml");
export const BILLING_YAML = (): string => fixture("billing.yaml");
export const OPENAI_YAML = (): string => fixture("openai", "openapi.yaml");

export interface RestEnv {
  t: TestGateway;
  up: Upstream;
  close(): Promise<void>;
}

/** A gateway (loopback egress allowed unless `env` says otherwise) and a local upstream. */
export async function startRestEnv(
  backend: Backend,
  env: Record<string, string> = LOOPBACK_ALLOWED,
  options: TestGatewayOptions = {},
): Promise<RestEnv> {
  const up = await startUpstream();
  try {
    const t = await startTestGateway(backend, env, options);
    return {
      t,
      up,
      async close() {
        await t.close();
        await up.close();
      },
    };
  } catch (err) {
    await up.close();
    throw err;
  }
}

export interface SpecView {
  id: string;
  name: string;
  tenant_id: string;
  hash: string;
  base_url: string | null;
  allowed_hosts: string[];
  credential_path: unknown;
  source_url: string | null;
  openapi?: string;
  title?: string;
  operations?: { operation_id: string; method: string; path: string }[];
}

export interface WorkflowView {
  id: string;
  name: string;
  hash: string;
  tenant_id: string;
  api_spec_id: string;
  steps: unknown[];
  [key: string]: unknown;
}

export async function postJson(
  t: TestGateway,
  path: string,
  body: unknown,
  token = t.adminToken(),
  method = "POST",
): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
  const res = await t.request(path, jsonInit(method, body, token));
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as Record<string, unknown>, text };
}

export async function registerSpec(
  t: TestGateway,
  body: Record<string, unknown>,
  token = t.adminToken(),
): Promise<SpecView> {
  const r = await postJson(t, "/v1/specs", body, token);
  expect(r.status, r.text.slice(0, 2000)).toBe(201);
  return r.body as unknown as SpecView;
}

export async function registerBilling(
  env: RestEnv,
  name = "billing",
  extra: Record<string, unknown> = {},
  token?: string,
): Promise<SpecView> {
  return await registerSpec(
    env.t,
    { name, inline_yaml: BILLING_YAML(), base_url: env.up.url, ...extra },
    token,
  );
}

export async function registerPetstore(
  env: RestEnv,
  name = "petstore",
  extra: Record<string, unknown> = {},
): Promise<SpecView> {
  return await registerSpec(env.t, {
    name,
    inline_yaml: PETSTORE_YAML(),
    base_url: `${env.up.url}/api/v3`,
    ...extra,
  });
}

export async function createWorkflow(
  t: TestGateway,
  def: Record<string, unknown>,
  token = t.adminToken(),
): Promise<WorkflowView> {
  const r = await postJson(t, "/v1/workflows", def, token);
  expect(r.status, r.text.slice(0, 2000)).toBe(201);
  return r.body as unknown as WorkflowView;
}

/** The multi-step billing workflow: customer by e-mail → their invoices → the invoices. */
export function invoicesWorkflow(specId: string, name = "billing.invoices"): Record<string, unknown> {
  return {
    name,
    description: "A customer's invoices, by e-mail",
    input_schema: {
      type: "object",
      properties: {
        email: { type: "string", pattern: "^[^@\\s]+@[^@\\s]+$" },
        status: { type: "string", enum: ["open", "paid"] },
      },
      required: ["email"],
      additionalProperties: false,
    },
    api_spec_id: specId,
    steps: [
      {
        name: "find_customer",
        operation_id: "searchCustomers",
        query_params: { email: "{{input.email}}" },
        extractors: { customer_id: "$.data[0].id" },
        on_error: "AbortWorkflow",
      },
      {
        name: "invoices",
        operation_id: "listInvoices",
        path_params: { customerId: "{{state.find_customer.customer_id}}" },
        extractors: { totals: "$.data[*].total", ids: "$.data[*].id" },
        on_error: "AbortWorkflow",
      },
    ],
  };
}

/** A one-step workflow over one billing operation, its arguments passed straight through. */
export function oneStep(
  specId: string,
  name: string,
  step: Record<string, unknown>,
  inputSchema: Record<string, unknown> = { type: "object" },
): Record<string, unknown> {
  return {
    name,
    description: `test workflow ${name}`,
    input_schema: inputSchema,
    api_spec_id: specId,
    steps: [{ name: "only", on_error: "AbortWorkflow", ...step }],
  };
}

/** Requests the upstream received since `from` (an index into `up.requests`). */
export function sentSince(up: Upstream, from: number) {
  return up.requests.slice(from);
}

export type Problem = { path: string; message: string };

export function problemsOf(body: Record<string, unknown>): Problem[] {
  const error = body.error as { details?: { problems?: Problem[] } } | undefined;
  return error?.details?.problems ?? [];
}

export function errorOf(body: Record<string, unknown>): {
  code: number;
  message: string;
  details: { reason: string; [k: string]: unknown };
} {
  const error = body.error as { code: number; message: string; details: { reason: string } } | undefined;
  expect(error, JSON.stringify(body).slice(0, 2000)).toBeDefined();
  return error as { code: number; message: string; details: { reason: string; [k: string]: unknown } };
}
