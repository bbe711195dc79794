/**
 * The CLI tool definition schema and the lockdown it turns into: mounts cannot cover the
 * scratch space or kernel file systems, egress needs a network of the operator's own, and a
 * tool's limits can only lower the configured ones.
 */
import { describe, expect, it } from "vitest";
import {
  CONTAINER_USER,
  containerSpec,
  effectiveLimits,
  LABELS,
} from "../../../src/engines/cli/container-spec.js";
import { CliToolDefinition, isPinnedImage } from "../../../src/engines/cli/definition.js";
import { dockerCreateOptions } from "../../../src/engines/cli/docker-runtime.js";
import { ownerLabel } from "../../../src/engines/cli/owner.js";
import { cliSettings } from "./support/engine.js";

const base = { name: "git", docker_image: "seal-test/git", allowed_subcommands: ["log"] };
const problems = (input: Record<string, unknown>) => {
  const r = CliToolDefinition.safeParse({ ...base, ...input });
  return r.success ? [] : r.error.issues.map((i) => i.path.join("."));
};

describe("CliToolDefinition", () => {
  it("defaults to no network, no mounts, read-only mounts and the configured timeout", () => {
    const tool = CliToolDefinition.parse({
      ...base,
      mounts: [{ host_path: "/srv/repo", container_path: "/repo" }],
    });
    expect(tool.network).toBe("none");
    expect(tool.mounts).toEqual([{ host_path: "/srv/repo", container_path: "/repo", read_only: true }]);
    expect(tool.default_timeout_seconds).toBeUndefined();
    expect(tool.require_semantic_judge).toBe(false);
  });

  it("refuses unusable mounts, networks, subcommands and timeouts", () => {
    expect(problems({ mounts: [{ host_path: "relative", container_path: "/repo" }] })).toEqual([
      "mounts.0.host_path",
    ]);
    for (const target of ["/", "/tmp", "/tmp/x", "/proc", "/etc/ssl", "/repo/../etc", "/repo/"]) {
      expect(problems({ mounts: [{ host_path: "/srv", container_path: target }] }), target).toEqual([
        "mounts.0.container_path",
      ]);
    }
    expect(problems({ network: "egress" })).toEqual(["network_name"]);
    expect(problems({ network: "egress", network_name: "host" })).toEqual(["network_name"]);
    expect(problems({ network_name: "mine" })).toEqual(["network_name"]);
    expect(problems({ allowed_subcommands: [] })).toEqual(["allowed_subcommands"]);
    expect(problems({ allowed_subcommands: ["log --exec=sh"] })).toEqual(["allowed_subcommands.0"]);
    expect(problems({ default_timeout_seconds: 301 })).toEqual(["default_timeout_seconds"]);
    expect(problems({ deny_flags: ["-xy"] })).toEqual(["deny_flags.0"]);
    expect(problems({ unknown_field: 1 })).toEqual([""]);
  });

  it("tells pinned images from tags", () => {
    const digest = "a".repeat(64);
    expect(isPinnedImage(`ghcr.io/org/git@sha256:${digest}`)).toBe(true);
    expect(isPinnedImage(`sha256:${digest}`)).toBe(true);
    expect(isPinnedImage("seal-test/git:latest")).toBe(false);
    expect(isPinnedImage("seal-test/git")).toBe(false);
  });
});

describe("lockdown", () => {
  const tool = CliToolDefinition.parse({
    ...base,
    mounts: [{ host_path: "/srv/repo", container_path: "/repo" }],
    limits: { memory_mb: 64, pids_limit: 100_000 },
  });
  const limits = effectiveLimits(cliSettings(), tool);
  const ids = { tenantId: "t1", executionId: "exe_1", callId: "call_1" };
  const spec = containerSpec({
    tool,
    argv: ["log"],
    env: { T: "v" },
    limits,
    ids,
    withStdin: false,
    nowSeconds: 1000,
  });

  it("lets a tool lower limits but never raise them", () => {
    expect(limits.memoryBytes).toBe(64 * 1024 * 1024);
    expect(limits.pidsLimit).toBe(128);
    expect(limits.timeoutMs).toBe(30_000);
  });

  it("labels every container with the call's identity and a deadline", () => {
    expect(spec.labels).toEqual({
      [LABELS.managed]: "true",
      [LABELS.callId]: "call_1",
      [LABELS.executionId]: "exe_1",
      [LABELS.tenant]: "t1",
      [LABELS.tool]: "git",
      [LABELS.deadline]: String(1000 + 30 + 60),
      // This process, as host/boot/pid/start: the reaper of a replacing gateway proves it gone.
      [LABELS.owner]: ownerLabel(),
    });
    expect(spec.labels[LABELS.owner]).toMatch(new RegExp(`/${process.pid}/\\d+$`));
  });

  it("maps to a Docker container with every restriction set", () => {
    const options = dockerCreateOptions(spec);
    expect(options).toMatchObject({
      Image: "seal-test/git",
      Cmd: ["log"],
      Env: ["T=v"],
      User: CONTAINER_USER,
      Tty: false,
      OpenStdin: false,
      NetworkDisabled: true,
      HostConfig: {
        ReadonlyRootfs: true,
        Tmpfs: { "/tmp": `rw,noexec,nosuid,nodev,size=${64 * 1024 * 1024}` },
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges"],
        Privileged: false,
        NetworkMode: "none",
        Memory: 64 * 1024 * 1024,
        MemorySwap: 64 * 1024 * 1024,
        NanoCpus: 1e9,
        PidsLimit: 128,
        LogConfig: { Type: "none" },
        Mounts: [{ Type: "bind", Source: "/srv/repo", Target: "/repo", ReadOnly: true }],
      },
    });
    expect(options.Entrypoint).toBeUndefined();
  });
});
