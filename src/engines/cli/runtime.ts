/**
 * The container runtime port of the CLI engine. The engine decides every lockdown setting and
 * hands the runtime a complete, runtime-neutral `ContainerSpec`; an adapter only translates it
 * (Docker/Podman through dockerode today; a Kubernetes Pod per call later, docs/cli-tools.md).
 * No adapter may loosen a setting it cannot express: it fails with `RuntimeError` instead.
 */
import type { Readable, Writable } from "node:stream";

export interface ContainerMount {
  hostPath: string;
  containerPath: string;
  readOnly: boolean;
}

export interface ContainerSpec {
  image: string;
  /** Appended to the image's entrypoint, verbatim: no shell ever parses it. */
  argv: readonly string[];
  /** The only way credentials enter a container (never argv, files or image layers). */
  env: Readonly<Record<string, string>>;
  labels: Readonly<Record<string, string>>;
  /** Numeric `uid:gid`, so an image's /etc/passwd cannot map the name back to root. */
  user: string;
  workingDir?: string;
  mounts: readonly ContainerMount[];
  /** `none`, or the name of a network the operator created (egress tools). */
  network: string;
  /** Writable scratch space; everything else is a read-only root filesystem. */
  tmpfs: { path: string; sizeBytes: number };
  memoryBytes: number;
  nanoCpus: number;
  pidsLimit: number;
  /** Keep stdin open for `attach`; false gives the process an immediate end of input. */
  openStdin: boolean;
}

export interface ContainerStreams {
  stdout: Readable;
  stderr: Readable;
  /** Present when the spec opened stdin; ending it closes the process's stdin. */
  stdin: Writable | null;
}

export interface ContainerExit {
  exitCode: number;
  /** The kernel killed the process for exceeding its memory limit. */
  oomKilled: boolean;
}

export interface ContainerState extends ContainerExit {
  running: boolean;
  /** Someone else is removing it (a revocation through killByLabel, an operator). */
  removing: boolean;
}

export interface ContainerSummary {
  id: string;
  labels: Record<string, string>;
  /** Unix seconds. */
  createdAt: number;
  running: boolean;
}

/** Credentials for one registry (a private image's `registry_credential_path`). */
export interface RegistryAuth {
  username: string;
  password: string;
  /** The registry host (`registry.example.com:5000`), from the image reference. */
  serverAddress: string;
}

export interface ContainerRuntime {
  /** Resolves when the engine answers; throws RuntimeError `unavailable` otherwise. */
  ping(): Promise<void>;
  imageExists(image: string): Promise<boolean>;
  /**
   * Pulls `image` (pinned by digest) with the registry's credentials: throws RuntimeError
   * `auth_failed` when the registry does not accept them, `pull_failed` when the pull fails.
   * Optional: an adapter whose platform pulls by itself (Kubernetes) leaves it out.
   */
  pull?(image: string, auth: RegistryAuth): Promise<void>;
  /** Creates (does not start) the container; returns its id. */
  create(spec: ContainerSpec): Promise<string>;
  /** Attach before `start`, so no early output is lost. */
  attach(id: string, options: { stdin: boolean }): Promise<ContainerStreams>;
  start(id: string): Promise<void>;
  /**
   * Resolves when the container has stopped; throws RuntimeError `not_found` when it stopped
   * because it was removed from outside (so a revoked call is not reported as an exit code).
   */
  wait(id: string): Promise<ContainerExit>;
  /** SIGKILL by default; a container that is already gone or stopped is not an error. */
  kill(id: string, signal?: string): Promise<void>;
  /** Kills if needed and removes; a container already gone is not an error. */
  remove(id: string): Promise<void>;
  /** Containers (running or not) carrying every given label with the given value. */
  listByLabel(labels: Readonly<Record<string, string>>): Promise<ContainerSummary[]>;
  /** Null when no such container exists. */
  inspect(id: string): Promise<ContainerState | null>;
}

export type RuntimeErrorKind =
  | "unavailable"
  | "image_missing"
  | "not_found"
  | "auth_failed"
  | "pull_failed"
  | "failed";

/** A classified engine failure; `message` is for logs, never for the caller. */
export class RuntimeError extends Error {
  readonly kind: RuntimeErrorKind;

  constructor(kind: RuntimeErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RuntimeError";
    this.kind = kind;
  }
}

export function isRuntimeError(err: unknown): err is RuntimeError {
  return err instanceof RuntimeError;
}
