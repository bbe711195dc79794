/**
 * Runs one CLI tool call (DESIGN §5): argv policy → stdin cap → semantic judge (when the tool
 * requires one) → a fresh locked-down container → `{exit_code, stdout, stderr}`. A non-zero
 * exit is a result with `isError: true`, not an error; a timeout is 4041; engine failures and
 * a memory-limit kill are 4040. Credentials arrive already resolved and enter the container as
 * environment variables only; their values are scrubbed from both output streams.
 */
import { SecretSink } from "../../credentials/redaction.js";
import { GatewayError } from "../../errors.js";
import { type Logger, silentLogger } from "../../log/logger.js";
import { checkArgv } from "./argv-policy.js";
import { argvRules } from "./argv-profiles.js";
import { type CallIds, type CliSettings, containerSpec, effectiveLimits } from "./container-spec.js";
import type { CliCall, CliToolDefinition } from "./definition.js";
import type { CliJudge } from "./judge.js";
import { capturedText } from "./output-capture.js";
import { cancelled, engineFailure, runContainer } from "./run-container.js";
import { type ContainerRuntime, type RegistryAuth, RuntimeError } from "./runtime.js";

/** The CLI tool result (DESIGN §2); `truncated` names the streams cut at the output cap. */
export type CliResult = {
  exit_code: number;
  stdout: string;
  stderr: string;
  truncated?: ("stdout" | "stderr")[];
};

export interface ExecuteCliOptions {
  runtime: ContainerRuntime;
  /** The `cli` configuration section (limits are ceilings, timeouts defaults). */
  settings: CliSettings;
  tool: CliToolDefinition;
  call: CliCall;
  /** Resolved credentials, `{NAME: value}`: container environment only. */
  env?: Readonly<Record<string, string>>;
  ids: CallIds;
  sub?: string;
  signal?: AbortSignal;
  /** The call's secret sink; the env values are added to it. */
  secrets?: SecretSink;
  /** Required when the tool sets `require_semantic_judge`. */
  judge?: CliJudge;
  /** A private image's registry credentials (`registry_credential_path`, already resolved). */
  registryAuth?: RegistryAuth;
  log?: Logger;
}

/**
 * A private image absent from the engine is pulled, by its digest, with the tool's registry
 * credentials before anything is created; the password is in the call's secret sink, so no
 * error text can carry it.
 */
async function ensureImage(options: ExecuteCliOptions, log: Logger): Promise<void> {
  const { runtime, tool, registryAuth } = options;
  if (!registryAuth) return;
  try {
    if (await runtime.imageExists(tool.docker_image)) return;
    if (!runtime.pull) throw new RuntimeError("image_missing", "this engine adapter cannot pull");
    await runtime.pull(tool.docker_image, registryAuth);
  } catch (err) {
    log.warn("cli image pull failed", { image: tool.docker_image, err });
    throw engineFailure(err);
  }
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function checkEnv(env: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(env)) {
    // A NUL would cut the variable short in the kernel's environment block.
    if (!ENV_NAME.test(name) || value.includes("\u0000")) {
      throw new GatewayError(
        "EXECUTION_FAILED",
        "a credential for this tool cannot be passed to its container",
        {
          reason: "bad_environment",
        },
      );
    }
  }
}

async function askJudge(options: ExecuteCliOptions): Promise<void> {
  const { tool, call, ids } = options;
  if (!tool.require_semantic_judge) return;
  if (!options.judge) {
    throw new GatewayError("JUDGE_REJECTED", "this tool requires a semantic judge and none is configured", {
      reason: "judge_not_configured",
    });
  }
  await options.judge.review(
    {
      tool: tool.name,
      subcommand: call.subcommand,
      args: call.args,
      context: {
        tenant_id: ids.tenantId,
        execution_id: ids.executionId,
        call_id: ids.callId,
        ...(options.sub ? { sub: options.sub } : {}),
        ...(tool.description ? { description: tool.description } : {}),
      },
    },
    options.signal,
  );
}

export async function executeCli(
  options: ExecuteCliOptions,
): Promise<{ result: CliResult; isError: boolean }> {
  const { tool, call, signal } = options;
  const log = options.log ?? silentLogger;
  const env = options.env ?? {};
  const argv = checkArgv(tool.allowed_subcommands, argvRules(tool.argv_profile, tool.deny_flags), call);
  const limits = effectiveLimits(options.settings, tool);
  if (call.stdin !== undefined && Buffer.byteLength(call.stdin, "utf8") > limits.maxStdinBytes) {
    throw new GatewayError("INVALID_ARGUMENTS", `stdin is larger than ${limits.maxStdinBytes} bytes`, {
      reason: "stdin_too_large",
    });
  }
  checkEnv(env);
  const sink = options.secrets ?? new SecretSink();
  sink.add(Object.values(env));

  await askJudge(options);
  if (signal?.aborted) throw cancelled(signal);
  await ensureImage(options, log);
  if (signal?.aborted) throw cancelled(signal);

  const spec = containerSpec({
    tool,
    argv,
    env,
    limits,
    ids: options.ids,
    withStdin: call.stdin !== undefined,
    nowSeconds: Date.now() / 1000,
  });
  const outcome = await runContainer(options.runtime, spec, {
    ...(call.stdin !== undefined ? { stdin: call.stdin } : {}),
    timeoutMs: limits.timeoutMs,
    maxOutputBytes: limits.maxOutputBytes,
    ...(signal ? { signal } : {}),
    log,
  });
  if (outcome.exit.oomKilled) {
    // The output of a process killed mid-way is not an answer; the limit is the operator's.
    throw new GatewayError(
      "EXECUTION_FAILED",
      `the tool exceeded its memory limit (${limits.memoryBytes / (1024 * 1024)} MiB) and was killed`,
      { reason: "memory_limit" },
    );
  }
  const scrub = (text: string) => sink.scrub(text);
  const result: CliResult = {
    exit_code: outcome.exit.exitCode,
    stdout: capturedText(outcome.stdout, limits.maxOutputBytes, scrub),
    stderr: capturedText(outcome.stderr, limits.maxOutputBytes, scrub),
  };
  const truncated = (["stdout", "stderr"] as const).filter((s) => outcome[s].truncated);
  if (truncated.length > 0) result.truncated = truncated;
  return { result, isError: result.exit_code !== 0 };
}
