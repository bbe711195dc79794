/**
 * deploy/kubernetes/: no cluster exists here, so the manifests are checked two ways.
 *  1. Schema: `kubeconform -strict` (built from the Go module proxy by scripts/kubeconform.sh)
 *     against the strict JSON schemas of Kubernetes 1.37 that PyPI's kubernetes-validate ships.
 *     Broken copies (unknown field, wrong type, missing required field, unknown kind) must be
 *     refused, so a check that silently skips cannot pass.
 *  2. Agreement with the code: the ConfigMap's file loads through the real config loader with
 *     exactly the variables the Deployment sets; every SEAL_GATEWAY_* name exists in the config
 *     schema; ports, probe paths, mounts, user and labels agree with the config, the Dockerfile
 *     and each other; a gateway built from that configuration on PostgreSQL answers the probe
 *     paths.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { CONFIG_FILE_VARIABLE, envTable } from "../../src/config/env-overrides.js";
import { loadConfig } from "../../src/config/load.js";
import { GatewayConfigShape } from "../../src/config/schema.js";
import { packageRoot } from "../../src/paths.js";
import { startTestGateway } from "../support/gateway.js";
import { pgUrl } from "../support/pg.js";

const exec = promisify(execFile);
const root = packageRoot();
const dir = join(root, "deploy", "kubernetes");
const KUBERNETES_VERSION = "1.37.0";

type Json = Record<string, unknown>;
interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

function load(file: string): Resource[] {
  return parseAllDocuments(readFileSync(file, "utf8")).map((doc) => doc.toJS() as Resource);
}

const files = readdirSync(dir).filter((f) => f.endsWith(".yaml"));
const resources = files.flatMap((f) => load(join(dir, f)));
const secretExample = load(join(dir, "examples", "secret.yaml"));

function one(kind: string): Resource {
  const found = resources.filter((r) => r.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0] as Resource;
}

interface Port {
  name: string;
  containerPort: number;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface Container {
  image: string;
  ports: Port[];
  env: EnvVar[];
  securityContext: Json;
  readinessProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string; port: string } };
  startupProbe: { httpGet: { path: string; port: string } };
  lifecycle: { preStop: { sleep: { seconds: number } } };
  resources: { requests: Json; limits: Json };
  volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface PodSpec {
  securityContext: Json;
  terminationGracePeriodSeconds: number;
  containers: Container[];
  volumes: Array<{ name: string; configMap?: { name: string }; emptyDir?: Json }>;
}
interface DeploymentSpec {
  replicas: number;
  selector: { matchLabels: Record<string, string> };
  template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
}

const deployment = () => one("Deployment") as Resource & { spec: DeploymentSpec };
const pod = () => deployment().spec.template.spec;
const container = () => {
  const list = pod().containers;
  expect(list).toHaveLength(1);
  return list[0] as Container;
};
const configMap = () => one("ConfigMap") as Resource & { data: Record<string, string> };

async function kubeconform(paths: string[]) {
  const location = (
    await exec("bash", [join(root, "scripts", "kubeconform.sh")], { cwd: root, timeout: 600_000 })
  ).stdout
    .trim()
    .split("\n")
    .pop() as string;
  const args = ["-strict", "-summary", "-output", "json", "-kubernetes-version", KUBERNETES_VERSION];
  try {
    const r = await exec(join(root, ".cache", "bin", "kubeconform"), [
      ...args,
      "-schema-location",
      location,
      ...paths,
    ]);
    return { code: 0, report: JSON.parse(r.stdout) as KubeconformReport };
  } catch (err) {
    const e = err as { code?: number; stdout?: string };
    return { code: e.code ?? -1, report: JSON.parse(e.stdout ?? "{}") as KubeconformReport };
  }
}
interface KubeconformReport {
  resources: Array<{ filename: string; kind: string; status: string; msg?: string }>;
  summary: { valid: number; invalid: number; errors: number; skipped: number };
}

describe("deploy/kubernetes, schema-checked by kubeconform", () => {
  const scratch = mkdtempSync(join(tmpdir(), "seal-k8s-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it(`every manifest (and examples/) is valid against the strict Kubernetes ${KUBERNETES_VERSION} schemas`, async () => {
    const { code, report } = await kubeconform([dir]);
    expect(report.resources.filter((r) => r.status !== "statusValid")).toEqual([]);
    expect(code).toBe(0);
    // -summary with JSON output lists only the findings; the count proves every file was read.
    expect(report.summary).toEqual({
      valid: resources.length + secretExample.length,
      invalid: 0,
      errors: 0,
      skipped: 0,
    });
    expect(resources.map((r) => r.kind).sort()).toEqual([
      "ConfigMap",
      "Deployment",
      "Namespace",
      "NetworkPolicy",
      "PodDisruptionBudget",
      "Service",
      "ServiceAccount",
    ]);
  }, 600_000);

  it("refuses broken copies: unknown field, wrong type, missing required field, unknown kind", async () => {
    const text = readFileSync(join(dir, "deployment.yaml"), "utf8");
    const broken: Record<string, string> = {
      "unknown-field.yaml": text.replace(
        "readOnlyRootFilesystem: true",
        "readOnlyRootFilesystem: true\n            readOnlyRootFS: true",
      ),
      "wrong-type.yaml": text.replace("replicas: 3", 'replicas: "three"'),
      "missing-required.yaml": text.replace(/^ *containerPort: 8089\n/m, ""),
      "unknown-kind.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n",
    };
    for (const [name, content] of Object.entries(broken)) {
      expect(content, name).not.toBe(text);
      writeFileSync(join(scratch, name), content);
    }
    const { code, report } = await kubeconform([scratch]);
    expect(code).not.toBe(0);
    const status = Object.fromEntries(report.resources.map((r) => [r.filename.split("/").pop(), r.status]));
    expect(status).toEqual({
      "unknown-field.yaml": "statusInvalid",
      "wrong-type.yaml": "statusInvalid",
      "missing-required.yaml": "statusInvalid",
      "unknown-kind.yaml": "statusError",
    });
    expect(report.resources.find((r) => r.filename.endsWith("unknown-field.yaml"))?.msg).toContain(
      "readOnlyRootFS",
    );
  }, 600_000);
});

describe("deploy/kubernetes agrees with the code", () => {
  const scratch = mkdtempSync(join(tmpdir(), "seal-k8s-config-"));
  let databaseUrl = "";
  beforeAll(async () => {
    databaseUrl = await pgUrl();
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /** The container's environment with the Secret's values filled in (a key and the test database). */
  function containerEnv(configFile: string): Record<string, string> {
    const secret: Record<string, string> = {
      "master-key": randomBytes(32).toString("base64"),
      "database-url": databaseUrl,
    };
    const env: Record<string, string> = {};
    for (const v of container().env) {
      const ref = v.valueFrom?.secretKeyRef;
      env[v.name] = ref ? (secret[ref.key] as string) : (v.value as string);
    }
    env[CONFIG_FILE_VARIABLE] = configFile;
    return env;
  }

  function configFile(): string {
    const mountPath = container().volumeMounts.find((m) => m.name === "config")?.mountPath as string;
    const named = container().env.find((v) => v.name === CONFIG_FILE_VARIABLE)?.value as string;
    expect(dirname(named)).toBe(mountPath);
    const key = named.slice(mountPath.length + 1);
    expect(Object.keys(configMap().data)).toEqual([key]);
    const file = join(scratch, key);
    writeFileSync(file, configMap().data[key] as string);
    return file;
  }

  it("names only variables the config schema knows, the master key and database URL from the Secret", () => {
    const known = envTable(GatewayConfigShape);
    for (const v of container().env) {
      expect(v.name === CONFIG_FILE_VARIABLE || known.has(v.name), v.name).toBe(true);
    }
    const fromSecret = container()
      .env.filter((v) => v.valueFrom?.secretKeyRef)
      .map((v) => [v.name, v.valueFrom?.secretKeyRef?.name, v.valueFrom?.secretKeyRef?.key]);
    expect(fromSecret).toEqual([
      ["SEAL_GATEWAY_MASTER_KEY", "seal-gateway", "master-key"],
      ["SEAL_GATEWAY_DATABASE_URL", "seal-gateway", "database-url"],
    ]);
    expect(known.get("SEAL_GATEWAY_MASTER_KEY")?.path).toEqual(["secrets", "master_key"]);
    expect(known.get("SEAL_GATEWAY_DATABASE_URL")?.path).toEqual(["database", "url"]);
    // The example Secret carries exactly those keys, under that name.
    const [secret] = secretExample as Array<Resource & { stringData: Record<string, string> }>;
    expect(secret?.metadata.name).toBe("seal-gateway");
    expect(Object.keys(secret?.stringData ?? {}).sort()).toEqual(["database-url", "master-key"]);
    // Nothing secret sits in the ConfigMap.
    const file = parse(configMap().data["seal-gateway.yaml"] as string) as Json;
    expect(JSON.stringify(file)).not.toMatch(/master_key|postgres:\/\//);
  });

  it("its configuration loads with exactly the Deployment's variables; ports, paths and mounts match", () => {
    const r = loadConfig({ env: containerEnv(configFile()), cwd: scratch });
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const config = r.config;
    const ports = Object.fromEntries(container().ports.map((p) => [p.name, p.containerPort]));
    expect(config.server.host).toBe("0.0.0.0");
    expect(ports.http).toBe(config.server.port);
    expect(ports.metrics).toBe(Number(config.metrics.listen?.split(":").pop()));
    expect(config.dev_mode).toBe(false);
    expect(config.database.url).toBe(databaseUrl);
    const mounts = Object.fromEntries(container().volumeMounts.map((m) => [m.mountPath, m]));
    expect(mounts[config.data_dir]?.readOnly).toBeUndefined();
    expect(mounts["/tmp"]).toBeDefined();
    expect(mounts[dirname(r.file as string).replace(scratch, "/etc/seal-gateway")]?.readOnly).toBe(true);
    // The pod's grace period covers the preStop pause and the gateway's own shutdown grace.
    const grace = pod().terminationGracePeriodSeconds * 1000;
    expect(grace).toBeGreaterThan(
      container().lifecycle.preStop.sleep.seconds * 1000 + config.server.shutdown_grace_ms,
    );
    // The MCP endpoint accepts the Service's own DNS names.
    const service = one("Service");
    for (const host of [
      service.metadata.name,
      `${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`,
    ])
      expect(config.mcp.allowed_hosts).toContain(host);
  });

  it("matches the Dockerfile: user, port, config path; read-only root, non-root, no privileges", () => {
    const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/^USER 65532:65532$/m);
    expect(dockerfile).toMatch(/^EXPOSE 8089$/m);
    const configVar = container().env.find((v) => v.name === CONFIG_FILE_VARIABLE)?.value as string;
    expect(dockerfile).toContain(`SEAL_GATEWAY_CONFIG=${configVar}`);
    expect(pod().securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532 });
    expect(container().securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(container().resources.requests).toMatchObject({
      cpu: expect.any(String),
      memory: expect.any(String),
    });
    expect(container().resources.limits).toMatchObject({ memory: expect.any(String) });
  });

  it("wires labels, named ports and probes consistently across Deployment, Service, PDB and NetworkPolicy", () => {
    const d = deployment();
    const namespace = one("Namespace").metadata.name;
    for (const r of resources.filter((x) => x.kind !== "Namespace"))
      expect(r.metadata.namespace, r.kind).toBe(namespace);
    const podLabels = d.spec.template.metadata.labels;
    const selector = d.spec.selector.matchLabels;
    expect(podLabels).toMatchObject(selector);
    expect(d.spec.replicas).toBe(3);
    const service = one("Service") as Resource & {
      spec: { selector: Record<string, string>; ports: Array<{ name: string; targetPort: string }> };
    };
    expect(podLabels).toMatchObject(service.spec.selector);
    const portNames = container().ports.map((p) => p.name);
    for (const p of service.spec.ports) expect(portNames).toContain(p.targetPort);
    const pdb = one("PodDisruptionBudget") as Resource & {
      spec: {
        minAvailable?: number;
        maxUnavailable?: number;
        selector: { matchLabels: Record<string, string> };
      };
    };
    expect(pdb.spec.selector.matchLabels).toEqual(selector);
    expect(pdb.spec.maxUnavailable).toBeUndefined();
    expect(pdb.spec.minAvailable).toBeGreaterThan(0);
    expect(pdb.spec.minAvailable).toBeLessThan(d.spec.replicas);
    const policy = one("NetworkPolicy") as Resource & {
      spec: {
        podSelector: { matchLabels: Record<string, string> };
        policyTypes: string[];
        ingress: Array<{ ports: Array<{ port: string | number }> }>;
      };
    };
    expect(policy.spec.podSelector.matchLabels).toEqual(selector);
    expect(policy.spec.policyTypes.sort()).toEqual(["Egress", "Ingress"]);
    for (const rule of policy.spec.ingress) for (const p of rule.ports) expect(portNames).toContain(p.port);
    expect(container().readinessProbe.httpGet).toEqual({ path: "/ready", port: "http" });
    expect(container().livenessProbe.httpGet).toEqual({ path: "/health", port: "http" });
    expect(container().startupProbe.httpGet).toEqual({ path: "/health", port: "http" });
    const sa = one("ServiceAccount") as Resource & { automountServiceAccountToken: boolean };
    expect(sa.automountServiceAccountToken).toBe(false);
  });

  it("a gateway built from that configuration on PostgreSQL answers the probe paths", async () => {
    const text = configMap().data["seal-gateway.yaml"] as string;
    const t = await startTestGateway("postgres", {}, { config: parse(text) as Record<string, unknown> });
    try {
      const ready = await t.request(container().readinessProbe.httpGet.path);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: "ready", database: "postgres" });
      const live = await t.request(container().livenessProbe.httpGet.path);
      expect(live.status).toBe(200);
      expect(t.config.server.port).toBe(container().ports.find((p) => p.name === "http")?.containerPort);
    } finally {
      await t.close();
    }
  }, 60_000);
});
