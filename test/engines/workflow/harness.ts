/** Shared set-up for the workflow tests: the billing spec, a real egress client, event capture. */
import { readFileSync } from "node:fs";
import { SecretSink } from "../../../src/credentials/redaction.js";
import { type CredentialResolver, noCredentials } from "../../../src/credentials/types.js";
import { createEgressClient } from "../../../src/egress/client.js";
import type { EgressClient } from "../../../src/egress/types.js";
import { loadSpec } from "../../../src/engines/openapi/load-spec.js";
import type { IndexedSpec } from "../../../src/engines/openapi/types.js";
import {
  parseWorkflowDefinition,
  type WorkflowDefinition,
} from "../../../src/engines/workflow/definition.js";
import type { WorkflowEventPayload, WorkflowEventType } from "../../../src/engines/workflow/events.js";
import { type RunWorkflowOptions, runWorkflow } from "../../../src/engines/workflow/runner.js";
import type { Upstream } from "../../support/upstream.js";

const fixtures = new URL("../../fixtures/openapi/", import.meta.url);

export function loadFixtureSpec(file: string): IndexedSpec {
  const loaded = loadSpec({ inline_yaml: readFileSync(new URL(file, fixtures), "utf8") });
  if (!loaded.ok) throw new Error(`fixture ${file} does not load: ${JSON.stringify(loaded.problems)}`);
  return loaded.spec;
}

export const billingSpec = (): IndexedSpec => loadFixtureSpec("billing.yaml");

export function testEgress(
  overrides: { maxResponseBytes?: number; requestTimeoutMs?: number } = {},
): EgressClient {
  return createEgressClient({
    // The test upstream listens on loopback, which the guard refuses unless allowed.
    allowNetworks: ["127.0.0.0/8"],
    connectTimeoutMs: 2_000,
    requestTimeoutMs: overrides.requestTimeoutMs ?? 10_000,
    maxResponseBytes: overrides.maxResponseBytes ?? 1_000_000,
  });
}

/** Parses a definition, failing the test with its problems when it does not parse. */
export function definition(raw: unknown): WorkflowDefinition {
  const parsed = parseWorkflowDefinition(raw);
  if (!parsed.ok) throw new Error(`definition does not parse: ${JSON.stringify(parsed.problems)}`);
  return parsed.def;
}

export function workflow(steps: unknown[], inputSchema: unknown = { type: "object" }): WorkflowDefinition {
  return definition({
    name: "billing.test",
    description: "test workflow",
    input_schema: inputSchema,
    api_spec_id: "spec_billing",
    steps,
  });
}

export interface RecordedEvent {
  type: WorkflowEventType;
  payload: WorkflowEventPayload;
}

export interface Runner {
  run(
    def: WorkflowDefinition,
    input: unknown,
    extra?: Partial<RunWorkflowOptions>,
  ): ReturnType<typeof runWorkflow>;
  events: RecordedEvent[];
}

export function runner(
  upstream: Upstream,
  egress: EgressClient,
  spec: IndexedSpec,
  credentials: CredentialResolver = noCredentials,
): Runner {
  const events: RecordedEvent[] = [];
  return {
    events,
    run: (def, input, extra = {}) =>
      runWorkflow({
        def,
        spec,
        input,
        egress,
        credentials,
        emit: (type, payload) => {
          events.push({ type, payload });
        },
        ids: { workflowId: "wf_test", executionId: `exe_${events.length}` },
        tenantId: "tenant_a",
        call: {
          tenantId: "tenant_a",
          executionId: `exe_${events.length}`,
          callId: null,
          agentId: null,
          toolName: def.name,
          sink: new SecretSink(),
        },
        credentialPath: null,
        baseUrl: upstream.url,
        allowedHosts: ["127.0.0.1"],
        retryBaseMs: 10,
        ...extra,
      }),
  };
}

/** Runs `fn` and returns the GatewayError-like value it throws (fails if it resolves). */
export async function rejection(
  fn: () => Promise<unknown>,
): Promise<{ code: string; details: Record<string, unknown>; message: string }> {
  try {
    await fn();
  } catch (err) {
    return err as { code: string; details: Record<string, unknown>; message: string };
  }
  throw new Error("expected a rejection");
}
