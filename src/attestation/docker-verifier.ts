/**
 * The Docker Engine workload verifier (Podman's Docker-compatible socket alike): the workload
 * id must be the full 64-hex id of a container that is running now and carries the contexts
 * label (comma-separated context names) — and, unless the operator turned it off, the request
 * must come from one of that container's own network addresses, so knowing a container's id
 * is not enough to obtain its token.
 *
 * Only the full id is accepted: the engine also resolves names and id prefixes, which would let
 * a caller name a container it does not know (or one whose name it chose).
 */
import Docker from "dockerode";
import { attestationFailed, type WorkloadFacts, type WorkloadVerifier, workloadRefused } from "./verifier.js";

const CONTAINER_ID = /^[0-9a-f]{64}$/;
const CONTEXT_NAME = /^[a-z][a-z0-9-]*$/;

export interface DockerVerifierOptions {
  socketPath: string;
  contextsLabel: string;
  tenantLabel: string;
  matchSourceAddress: boolean;
}

function statusOf(err: unknown): number | undefined {
  const s = typeof err === "object" && err !== null ? Reflect.get(err, "statusCode") : undefined;
  return typeof s === "number" ? s : undefined;
}

/** `::ffff:10.0.0.2` and `10.0.0.2` are one peer. */
function normalizeAddress(address: string): string {
  const a = address.trim().toLowerCase();
  return a.startsWith("::ffff:") && a.includes(".") ? a.slice("::ffff:".length) : a;
}

function containerAddresses(info: Docker.ContainerInspectInfo): Set<string> {
  const out = new Set<string>();
  for (const net of Object.values(info.NetworkSettings?.Networks ?? {})) {
    for (const a of [net.IPAddress, net.GlobalIPv6Address]) if (a) out.add(normalizeAddress(a));
  }
  return out;
}

export function dockerVerifier(options: DockerVerifierOptions): WorkloadVerifier {
  const docker = new Docker({ socketPath: options.socketPath });
  return {
    async verify(workloadId, request): Promise<WorkloadFacts> {
      if (!CONTAINER_ID.test(workloadId))
        throw workloadRefused("bad_workload_id", "workload_id must be a full container id (64 hex digits)");
      let info: Docker.ContainerInspectInfo;
      try {
        info = await docker.getContainer(workloadId).inspect();
      } catch (err) {
        if (statusOf(err) === 404) throw workloadRefused("workload_not_found", "no such workload");
        throw attestationFailed("verifier_unavailable", "the workload verifier is unavailable");
      }
      // Defence in depth: the engine must have answered for exactly this id.
      if (info.Id !== workloadId) throw workloadRefused("workload_not_found", "no such workload");
      if (info.State?.Running !== true || info.State?.Paused === true)
        throw workloadRefused("workload_not_running", "the workload is not running");
      const labels = info.Config?.Labels ?? {};
      const listed = labels[options.contextsLabel];
      if (listed === undefined)
        throw workloadRefused("no_contexts_label", "the workload carries no attestation label");
      const contexts = listed
        .split(",")
        .map((s) => s.trim())
        .filter((s) => CONTEXT_NAME.test(s));
      if (options.matchSourceAddress) {
        const own = containerAddresses(info);
        if (!own.has(normalizeAddress(request.address)))
          throw workloadRefused("source_mismatch", "the request does not come from the workload");
      }
      return { workloadId, tenantId: labels[options.tenantLabel] || "default", contexts };
    },
  };
}
