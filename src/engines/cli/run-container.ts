/**
 * One container's life: create → attach → start → (stdin) → wait, with stdout and stderr read
 * concurrently and capped, a timeout and the caller's abort signal both ending in SIGKILL, and
 * an explicit forced removal in `finally` on every path — success, non-zero exit, timeout,
 * abort, engine error. (AutoRemove is not used: it races the exit-state inspection and does
 * nothing for a container whose start failed.) SIGKILL, not SIGTERM first: the container is
 * disposable and a process may ignore TERM.
 */
import { GatewayError, isGatewayError } from "../../errors.js";
import type { Logger } from "../../log/logger.js";
import { type Captured, captureStream } from "./output-capture.js";
import { type ContainerExit, type ContainerRuntime, type ContainerSpec, isRuntimeError } from "./runtime.js";

// After a kill, how long the engine gets to report the container stopped before we give up
// waiting (the removal in `finally` still runs).
const STOP_GRACE_MS = 10_000;

export interface RunOptions {
  stdin?: string;
  timeoutMs: number;
  maxOutputBytes: number;
  signal?: AbortSignal;
  log: Logger;
}

export interface RunOutcome {
  exit: ContainerExit;
  stdout: Captured;
  stderr: Captured;
}

/** The error a cancelled call ends with: the caller's own GatewayError, else 4040 `aborted`. */
export function cancelled(signal: AbortSignal | undefined): GatewayError {
  return isGatewayError(signal?.reason)
    ? signal.reason
    : new GatewayError("EXECUTION_FAILED", "the call was cancelled", { reason: "aborted" });
}

/** Engine failures for the caller: classified, with no engine internals in the message. */
export function engineFailure(err: unknown): GatewayError {
  if (isGatewayError(err)) return err;
  const kind = isRuntimeError(err) ? err.kind : "failed";
  const [reason, message] =
    kind === "unavailable"
      ? ["engine_unavailable", "the container engine is unavailable"]
      : kind === "image_missing"
        ? ["image_missing", "the tool's container image is not available on the engine"]
        : kind === "not_found"
          ? ["container_gone", "the container was removed while it ran"]
          : kind === "auth_failed"
            ? ["registry_login_failed", "the image registry did not accept the tool's registry credentials"]
            : kind === "pull_failed"
              ? ["image_pull_failed", "the tool's container image could not be pulled from its registry"]
              : ["engine_error", "the container engine could not run the tool"];
  return new GatewayError("EXECUTION_FAILED", message, { reason });
}

function timeoutError(ms: number): GatewayError {
  return new GatewayError(
    "EXECUTION_TIMEOUT",
    `the tool did not finish within ${ms / 1000} s and was killed`,
    {
      reason: "timeout",
      timeout_seconds: ms / 1000,
    },
  );
}

export async function runContainer(
  runtime: ContainerRuntime,
  spec: ContainerSpec,
  options: RunOptions,
): Promise<RunOutcome> {
  const { log, signal } = options;
  let id: string;
  try {
    // Asked first, so a missing image is told apart from other "not found" answers of create.
    if (!(await runtime.imageExists(spec.image))) {
      throw new GatewayError(
        "EXECUTION_FAILED",
        "the tool's container image is not available on the engine",
        {
          reason: "image_missing",
        },
      );
    }
    id = await runtime.create(spec);
  } catch (err) {
    log.warn("cli container create failed", { err });
    throw engineFailure(err);
  }
  const kill = () => {
    runtime.kill(id).catch((err: unknown) => log.warn("cli container kill failed", { container: id, err }));
  };

  let stopped: "timeout" | "aborted" | null = null;
  let graceTimer: NodeJS.Timeout | undefined;
  let giveUp: (err: Error) => void = () => {};
  const gaveUp = new Promise<never>((_, reject) => {
    giveUp = reject;
  });
  gaveUp.catch(() => {});
  const stop = (why: "timeout" | "aborted") => {
    if (stopped) return;
    stopped = why;
    kill();
    graceTimer = setTimeout(() => giveUp(new Error("container did not stop after SIGKILL")), STOP_GRACE_MS);
  };
  const timer = setTimeout(() => stop("timeout"), options.timeoutMs);
  const onAbort = () => stop("aborted");
  signal?.addEventListener("abort", onAbort, { once: true });

  try {
    if (signal?.aborted) stop("aborted");
    const streams = await runtime.attach(id, { stdin: spec.openStdin });
    const stdout = captureStream(streams.stdout, options.maxOutputBytes, kill);
    const stderr = captureStream(streams.stderr, options.maxOutputBytes, kill);
    // Settled later on a failure path; the outcome is read through Promise.all below.
    stdout.catch(() => {});
    stderr.catch(() => {});
    // Stopped before it started: its streams would never end, so do not wait for them.
    if (stopped) throw new Error("stopped before start");
    await runtime.start(id);
    if (streams.stdin) {
      // The process may exit without reading its input: a broken pipe is not a failure.
      streams.stdin.on("error", () => {});
      streams.stdin.end(options.stdin ?? "");
    }
    const [exit, out, err] = await Promise.race([Promise.all([runtime.wait(id), stdout, stderr]), gaveUp]);
    if (stopped === "timeout") throw timeoutError(options.timeoutMs);
    if (stopped === "aborted") throw cancelled(signal);
    return { exit, stdout: out, stderr: err };
  } catch (err) {
    if (stopped === "timeout") throw timeoutError(options.timeoutMs);
    if (stopped === "aborted") throw cancelled(signal);
    log.warn("cli container run failed", { container: id, err });
    throw engineFailure(err);
  } finally {
    clearTimeout(timer);
    clearTimeout(graceTimer);
    signal?.removeEventListener("abort", onAbort);
    try {
      await runtime.remove(id);
    } catch (err) {
      // The reaper removes it once its deadline label has passed.
      log.error("cli container removal failed", { container: id, err });
    }
  }
}
