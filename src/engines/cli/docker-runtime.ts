/**
 * The Docker Engine adapter of the container runtime port, through dockerode. Podman's
 * Docker-compatible API socket works the same way: only `socketPath` differs.
 */
import { PassThrough } from "node:stream";
import Docker from "dockerode";
import {
  type ContainerExit,
  type ContainerRuntime,
  type ContainerSpec,
  type ContainerStreams,
  type ContainerSummary,
  RuntimeError,
} from "./runtime.js";

function statusOf(err: unknown): number | undefined {
  const status = typeof err === "object" && err !== null ? Reflect.get(err, "statusCode") : undefined;
  return typeof status === "number" ? status : undefined;
}

const UNREACHABLE = new Set(["ENOENT", "ECONNREFUSED", "EACCES", "ECONNRESET", "EPIPE", "ETIMEDOUT"]);

/** Classifies a dockerode failure by status and errno, never by message text. */
function classify(err: unknown, what: string, missing: "not_found" | "image_missing" = "not_found") {
  if (err instanceof RuntimeError) return err;
  const code = typeof err === "object" && err !== null ? Reflect.get(err, "code") : undefined;
  if (typeof code === "string" && UNREACHABLE.has(code)) {
    return new RuntimeError("unavailable", `container engine unreachable (${what}: ${code})`, { cause: err });
  }
  if (statusOf(err) === 404) return new RuntimeError(missing, `${what}: not found`, { cause: err });
  return new RuntimeError("failed", `${what} failed (status ${statusOf(err) ?? "none"})`, { cause: err });
}

async function ignoring(statuses: readonly number[], work: () => Promise<unknown>, what: string) {
  try {
    await work();
  } catch (err) {
    const status = statusOf(err);
    if (status !== undefined && statuses.includes(status)) return;
    throw classify(err, what);
  }
}

export function dockerCreateOptions(spec: ContainerSpec): Docker.ContainerCreateOptions {
  return {
    Image: spec.image,
    Cmd: [...spec.argv],
    Env: Object.entries(spec.env).map(([name, value]) => `${name}=${value}`),
    Labels: { ...spec.labels },
    User: spec.user,
    ...(spec.workingDir ? { WorkingDir: spec.workingDir } : {}),
    Tty: false,
    AttachStdin: spec.openStdin,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: spec.openStdin,
    StdinOnce: spec.openStdin,
    NetworkDisabled: spec.network === "none",
    HostConfig: {
      ReadonlyRootfs: true,
      Tmpfs: { [spec.tmpfs.path]: `rw,noexec,nosuid,nodev,size=${spec.tmpfs.sizeBytes}` },
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      Privileged: false,
      NetworkMode: spec.network,
      Memory: spec.memoryBytes,
      // Equal to Memory: no swap on top of the limit.
      MemorySwap: spec.memoryBytes,
      NanoCpus: spec.nanoCpus,
      PidsLimit: spec.pidsLimit,
      IpcMode: "private",
      // Output reaches the gateway through attach only; a log driver would keep a copy on the
      // engine's disk, credentials a tool printed included.
      LogConfig: { Type: "none", Config: {} },
      Mounts: spec.mounts.map((m) => ({
        Type: "bind" as const,
        Source: m.hostPath,
        Target: m.containerPath,
        ReadOnly: m.readOnly,
      })),
    },
  };
}

export function dockerRuntime(options: { socketPath: string }): ContainerRuntime {
  const docker = new Docker({ socketPath: options.socketPath });
  const container = (id: string) => docker.getContainer(id);

  return {
    async ping() {
      try {
        await docker.ping();
      } catch (err) {
        throw classify(err, "ping");
      }
    },

    async imageExists(image) {
      try {
        await docker.getImage(image).inspect();
        return true;
      } catch (err) {
        if (statusOf(err) === 404) return false;
        throw classify(err, "image inspect");
      }
    },

    async pull(image, auth) {
      const authconfig = {
        username: auth.username,
        password: auth.password,
        serveraddress: auth.serverAddress,
      };
      // The engine answers a refused login and a failed pull alike (500 with the registry's
      // text), so the login is checked on its own first: a failure there is the credentials'
      // (or the registry's reachability), never classified from message text.
      try {
        await docker.checkAuth(authconfig);
      } catch (err) {
        const c = classify(err, "registry login");
        if (c.kind === "unavailable") throw c;
        throw new RuntimeError("auth_failed", `registry login failed (status ${statusOf(err) ?? "none"})`, {
          cause: err,
        });
      }
      try {
        const stream = await docker.pull(image, { authconfig });
        await new Promise<void>((resolve, reject) => {
          docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve()));
        });
      } catch (err) {
        const c = classify(err, "pull");
        if (c.kind === "unavailable") throw c;
        throw new RuntimeError("pull_failed", `pull failed (status ${statusOf(err) ?? "none"})`, {
          cause: err,
        });
      }
    },

    async create(spec) {
      try {
        const created = await docker.createContainer(dockerCreateOptions(spec));
        return created.id;
      } catch (err) {
        throw classify(err, "create", "image_missing");
      }
    },

    async attach(id, { stdin }): Promise<ContainerStreams> {
      let stream: NodeJS.ReadWriteStream;
      try {
        stream = await container(id).attach({
          stream: true,
          stdout: true,
          stderr: true,
          stdin,
          hijack: stdin,
        });
      } catch (err) {
        throw classify(err, "attach");
      }
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      docker.modem.demuxStream(stream, stdout, stderr);
      const finish = () => {
        stdout.end();
        stderr.end();
      };
      stream.on("end", finish);
      stream.on("close", finish);
      stream.on("error", (err: Error) => {
        stdout.destroy(err);
        stderr.destroy(err);
      });
      return { stdout, stderr, stdin: stdin ? (stream as NodeJS.ReadWriteStream & PassThrough) : null };
    },

    async start(id) {
      await ignoring([304], () => container(id).start(), "start");
    },

    async wait(id): Promise<ContainerExit> {
      let status: unknown;
      try {
        status = await container(id).wait();
      } catch (err) {
        throw classify(err, "wait");
      }
      const code = typeof status === "object" && status !== null ? Reflect.get(status, "StatusCode") : null;
      const state = await this.inspect(id);
      // The engine marks a container "removing" before it kills it for a forced removal.
      if (state === null || state.removing)
        throw new RuntimeError("not_found", "container removed while running");
      return {
        exitCode: typeof code === "number" ? code : state.exitCode,
        oomKilled: state.oomKilled,
      };
    },

    async kill(id, signal = "SIGKILL") {
      // 404: gone already; 409: not running.
      await ignoring([404, 409], () => container(id).kill({ signal }), "kill");
    },

    async remove(id) {
      // 404: gone already; 409: another removal is in progress.
      await ignoring([404, 409], () => container(id).remove({ force: true, v: true }), "remove");
    },

    async listByLabel(labels): Promise<ContainerSummary[]> {
      const label = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
      try {
        const found = await docker.listContainers({ all: true, filters: { label } });
        return found.map((c) => ({
          id: c.Id,
          labels: c.Labels ?? {},
          createdAt: c.Created,
          running: c.State === "running",
        }));
      } catch (err) {
        throw classify(err, "list");
      }
    },

    async inspect(id) {
      try {
        const info = await container(id).inspect();
        return {
          running: info.State.Running,
          exitCode: info.State.ExitCode,
          oomKilled: info.State.OOMKilled,
          removing: info.State.Status === "removing" || info.State.Dead,
        };
      } catch (err) {
        if (statusOf(err) === 404) return null;
        throw classify(err, "inspect");
      }
    },
  };
}
