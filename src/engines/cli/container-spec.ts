/**
 * The lockdown of every CLI container, in one place (table in docs/cli-tools.md): the engine
 * builds the complete `ContainerSpec` here and the runtime adapter only translates it.
 * Limits come from the `cli` configuration; a tool may lower them, never raise them.
 */
import type { GatewayConfig } from "../../config/schema.js";
import type { CliToolDefinition } from "./definition.js";
import { ownerLabel } from "./owner.js";
import type { ContainerSpec } from "./runtime.js";

export const LABELS = {
  managed: "seal-gateway.managed",
  callId: "seal-gateway.call_id",
  executionId: "seal-gateway.execution_id",
  tenant: "seal-gateway.tenant",
  tool: "seal-gateway.tool",
  /** Unix seconds after which the container is a leftover whatever its state (reaper). */
  deadline: "seal-gateway.deadline",
  /** The caller's `sub` and how its key was bound (agent-key revocation finds its calls). */
  agent: "seal-gateway.agent",
  binding: "seal-gateway.binding",
  /** The gateway process that runs the call (owner.ts): a crashed owner's leftovers go at once. */
  owner: "seal-gateway.owner",
} as const;

/** Numeric, non-root, the same in every image (the test images create it in /etc/passwd). */
export const CONTAINER_USER = "65532:65532";

export type CliSettings = GatewayConfig["cli"];

export interface EffectiveLimits {
  timeoutMs: number;
  memoryBytes: number;
  nanoCpus: number;
  pidsLimit: number;
  maxOutputBytes: number;
  maxStdinBytes: number;
  tmpfsBytes: number;
}

const MIB = 1024 * 1024;
// Past the tool's timeout, time for the kill and removal before a reaper may take over.
export const DEADLINE_GRACE_SECONDS = 60;

function lower(configured: number, requested: number | undefined): number {
  return requested === undefined ? configured : Math.min(configured, requested);
}

export function effectiveLimits(settings: CliSettings, tool: CliToolDefinition): EffectiveLimits {
  const l = tool.limits;
  return {
    timeoutMs: (tool.default_timeout_seconds ?? settings.default_timeout_seconds) * 1000,
    memoryBytes: lower(settings.memory_mb, l.memory_mb) * MIB,
    nanoCpus: Math.round(lower(settings.cpus, l.cpus) * 1e9),
    pidsLimit: lower(settings.pids_limit, l.pids_limit),
    maxOutputBytes: lower(settings.max_output_bytes, l.max_output_bytes),
    maxStdinBytes: lower(settings.max_stdin_bytes, l.max_stdin_bytes),
    tmpfsBytes: lower(settings.tmpfs_mb, l.tmpfs_mb) * MIB,
  };
}

export interface CallIds {
  tenantId: string;
  executionId: string;
  callId: string;
  /** The caller's `sub`. */
  agent?: string;
  /** How the caller's key was bound: `session`, `cnf` or `agent_key`. */
  binding?: string;
}

export function callLabels(tool: CliToolDefinition, ids: CallIds, deadline: number): Record<string, string> {
  const owner = ownerLabel();
  return {
    [LABELS.managed]: "true",
    [LABELS.callId]: ids.callId,
    [LABELS.executionId]: ids.executionId,
    [LABELS.tenant]: ids.tenantId,
    [LABELS.tool]: tool.name,
    [LABELS.deadline]: String(deadline),
    ...(ids.agent !== undefined ? { [LABELS.agent]: ids.agent } : {}),
    ...(ids.binding !== undefined ? { [LABELS.binding]: ids.binding } : {}),
    ...(owner ? { [LABELS.owner]: owner } : {}),
  };
}

export function containerSpec(input: {
  tool: CliToolDefinition;
  argv: readonly string[];
  env: Readonly<Record<string, string>>;
  limits: EffectiveLimits;
  ids: CallIds;
  withStdin: boolean;
  nowSeconds: number;
}): ContainerSpec {
  const { tool, limits } = input;
  const deadline = Math.ceil(input.nowSeconds + limits.timeoutMs / 1000 + DEADLINE_GRACE_SECONDS);
  return {
    image: tool.docker_image,
    argv: input.argv,
    env: input.env,
    labels: callLabels(tool, input.ids, deadline),
    user: CONTAINER_USER,
    ...(tool.working_dir ? { workingDir: tool.working_dir } : {}),
    mounts: tool.mounts.map((m) => ({
      hostPath: m.host_path,
      containerPath: m.container_path,
      readOnly: m.read_only,
    })),
    network: tool.network === "egress" && tool.network_name ? tool.network_name : "none",
    tmpfs: { path: "/tmp", sizeBytes: limits.tmpfsBytes },
    memoryBytes: limits.memoryBytes,
    nanoCpus: limits.nanoCpus,
    pidsLimit: limits.pidsLimit,
    openStdin: input.withStdin,
  };
}
