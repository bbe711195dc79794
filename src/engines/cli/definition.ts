/**
 * A CLI tool as registered (DESIGN §5 `POST /v1/cli-tools`, REST field names) and the call it
 * accepts. The registration route (a later phase) parses with `CliToolDefinition`; the engine
 * runs the parsed output. Paths are checked here so a mount cannot cover the scratch space or
 * the kernel's pseudo file systems, whatever the caller of the engine is.
 */
import { posix } from "node:path";
import * as z from "zod";
import { commandTokenProblem } from "../../policy/commands.js";
import { ARGV_PROFILE_NAMES, denyFlagProblem } from "./argv-profiles.js";

export const MAX_TIMEOUT_SECONDS = 300;

const RESERVED_CONTAINER_PATHS = ["/", "/tmp", "/proc", "/sys", "/dev", "/etc"];

function isNormalAbsolute(p: string): boolean {
  if (p === "/") return true;
  return p.startsWith("/") && !p.endsWith("/") && posix.normalize(p) === p;
}

const AbsolutePath = z.string().refine(isNormalAbsolute, {
  message: "must be an absolute, normalized path (no '.', '..', repeated or trailing slashes)",
});

const ContainerPath = AbsolutePath.refine(
  (p) => !RESERVED_CONTAINER_PATHS.some((r) => p === r || (r !== "/" && p.startsWith(`${r}/`))),
  { message: `must not be or lie under ${RESERVED_CONTAINER_PATHS.join(", ")}` },
);

export const CliMount = z.strictObject({
  host_path: AbsolutePath,
  container_path: ContainerPath,
  read_only: z.boolean().default(true),
});
export type CliMount = z.infer<typeof CliMount>;

/** Per-tool limits; each is capped by the `cli` configuration, which also supplies defaults. */
export const CliLimits = z.strictObject({
  memory_mb: z.int().min(16).optional(),
  cpus: z.number().positive().max(64).optional(),
  pids_limit: z.int().min(8).optional(),
  max_output_bytes: z.int().positive().optional(),
  max_stdin_bytes: z.int().nonnegative().optional(),
  tmpfs_mb: z.int().min(1).optional(),
});
export type CliLimits = z.infer<typeof CliLimits>;

const Token = z.string().superRefine((token, ctx) => {
  const problem = commandTokenProblem(token);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const DenyFlag = z.string().superRefine((flag, ctx) => {
  const problem = denyFlagProblem(flag);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name");

export const CliToolDefinition = z
  .strictObject({
    name: z.string().regex(/^[a-z][a-z0-9_.-]*$/, "must match ^[a-z][a-z0-9_.-]*$"),
    description: z.string().default(""),
    docker_image: z.string().regex(/^[^\s]+$/, "must be an image reference without whitespace"),
    /**
     * The CLI the image's entrypoint runs, as a context's `command_allowlist` names it (`git`);
     * absent: the last dot-separated segment of `name` (see `cliCommand`).
     */
    command: Token.optional(),
    allowed_subcommands: z.array(Token).min(1, "at least one subcommand is required"),
    args_schema: z.unknown().optional(),
    /** Container variable name → credential path; resolved per call, given as env only. */
    env_credentials: z.record(EnvName, z.unknown()).default({}),
    mounts: z.array(CliMount).default([]),
    network: z.enum(["none", "egress"]).default("none"),
    /** The engine network an egress tool joins (created by the operator). */
    network_name: z.string().min(1).optional(),
    /** Absent: the `cli.default_timeout_seconds` configuration. */
    default_timeout_seconds: z.int().min(1).max(MAX_TIMEOUT_SECONDS).optional(),
    require_semantic_judge: z.boolean().default(false),
    argv_profile: z.enum(ARGV_PROFILE_NAMES).optional(),
    deny_flags: z.array(DenyFlag).default([]),
    working_dir: AbsolutePath.optional(),
    limits: CliLimits.default({}),
    /**
     * A private image: the credential path of its registry login (`user:password`, or JSON
     * `{"username","password"}`), resolved on every call and used when the image must be pulled.
     */
    registry_credential_path: z.unknown().optional(),
  })
  .superRefine((tool, ctx) => {
    if (tool.network === "egress" && !tool.network_name) {
      ctx.addIssue({ code: "custom", path: ["network_name"], message: "required when network is egress" });
    }
    if (tool.network === "none" && tool.network_name) {
      ctx.addIssue({
        code: "custom",
        path: ["network_name"],
        message: "only allowed when network is egress",
      });
    }
    // The engine's own network names would bypass the none/egress choice.
    if (tool.network_name && ["host", "bridge", "none", "default"].includes(tool.network_name)) {
      ctx.addIssue({ code: "custom", path: ["network_name"], message: "must name a network you created" });
    }
    // What is pulled with credentials must be exactly what was reviewed: a registry digest.
    if (
      tool.registry_credential_path !== undefined &&
      !/^[^\s@]+@sha256:[0-9a-f]{64}$/.test(tool.docker_image)
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["docker_image"],
        message: "must be pinned by registry digest (name@sha256:…) when registry_credential_path is set",
      });
    }
    const targets = tool.mounts.map((m) => m.container_path);
    if (new Set(targets).size !== targets.length) {
      ctx.addIssue({ code: "custom", path: ["mounts"], message: "container_path values must differ" });
    }
  });
export type CliToolDefinition = z.infer<typeof CliToolDefinition>;

/** One call of a CLI tool: `<image entrypoint> <subcommand> <args…>`. */
export const CliCall = z.strictObject({
  subcommand: z.string(),
  args: z.array(z.string()).default([]),
  stdin: z.string().optional(),
});
export type CliCall = z.infer<typeof CliCall>;

/** A registry digest (`name@sha256:…`) or a local image id (`sha256:…`): the bytes cannot change. */
export function isPinnedImage(reference: string): boolean {
  return /^sha256:[0-9a-f]{64}$/.test(reference) || /^[^\s@]+@sha256:[0-9a-f]{64}$/.test(reference);
}

/** The registry host of an image reference (`registry:5000/a/b@sha256:…` → `registry:5000`). */
export function registryHost(reference: string): string {
  const first = reference.split("/")[0] ?? "";
  const isHost =
    reference.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  return isHost ? first : "docker.io";
}

/** The tool's base command for `command_allowlist`: `command`, else the name's last segment. */
export function cliCommand(tool: Pick<CliToolDefinition, "name" | "command">): string {
  return tool.command ?? tool.name.slice(tool.name.lastIndexOf(".") + 1);
}
