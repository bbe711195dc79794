/**
 * Network: `none` by default; `egress` joins a network the operator created. The test network
 * is an internal bridge (no route off this machine) and the upstream is a node server bound to
 * the bridge's own address on this host, so nothing here can reach any other machine.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executeCli } from "../../../src/engines/cli/execute.js";
import { isGatewayError } from "../../../src/errors.js";
import {
  callIds,
  cliSettings,
  cliTool,
  ENGINE_SETUP_TIMEOUT_MS,
  expectNoContainers,
  type TestEngine,
  testEngine,
} from "./support/engine.js";

const NETWORK = "seal-test-egress";

let engine: TestEngine;
let server: Server;
let upstream: string;
const seen: { path: string; auth: string | undefined }[] = [];

/** The internal bridge's gateway address (this host's side of the bridge). */
async function internalNetwork(docker: Docker): Promise<string> {
  const inspectGateway = async () => {
    const info = await docker.getNetwork(NETWORK).inspect();
    if (info.Internal !== true) throw new Error(`${NETWORK} exists but is not internal`);
    const gateway: unknown = info.IPAM?.Config?.[0]?.Gateway;
    if (typeof gateway !== "string") throw new Error(`${NETWORK} has no gateway address`);
    return gateway;
  };
  try {
    return await inspectGateway();
  } catch (err) {
    if (Reflect.get(err as object, "statusCode") !== 404) throw err;
  }
  await docker.createNetwork({
    Name: NETWORK,
    Driver: "bridge",
    Internal: true,
    CheckDuplicate: true,
    Labels: { "seal-test": "true" },
  });
  return await inspectGateway();
}

beforeAll(async () => {
  engine = await testEngine();
  const gateway = await internalNetwork(new Docker({ socketPath: engine.socketPath }));
  server = createServer((req, res) => {
    seen.push({ path: req.url ?? "", auth: req.headers.authorization });
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ hello: "from the local upstream", path: req.url }));
  });
  await new Promise<void>((resolve) => server.listen(0, gateway, resolve));
  upstream = `http://${gateway}:${(server.address() as AddressInfo).port}`;
}, ENGINE_SETUP_TIMEOUT_MS);

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

const curl = (network: "none" | "egress") =>
  cliTool({
    name: "curl",
    docker_image: "seal-test/curl",
    allowed_subcommands: ["-sS", "-fsS"],
    argv_profile: "curl",
    network,
    ...(network === "egress" ? { network_name: NETWORK } : {}),
    default_timeout_seconds: 20,
  });

describe("network", () => {
  it("egress: curl reaches the local upstream over the internal network", async () => {
    const ids = callIds();
    const { result, isError } = await executeCli({
      runtime: engine.runtime,
      settings: cliSettings(),
      tool: curl("egress"),
      call: { subcommand: "-fsS", args: ["--max-time", "5", `${upstream}/items?id=7`] },
      ids,
    });
    expect(result.stderr).toBe("");
    expect(isError).toBe(false);
    expect(JSON.parse(result.stdout)).toEqual({ hello: "from the local upstream", path: "/items?id=7" });
    expect(seen.at(-1)).toEqual({ path: "/items?id=7", auth: undefined });
    await expectNoContainers(engine.runtime, ids);
  });

  it("none (the default): the same request cannot leave the container", async () => {
    const ids = callIds();
    const before = seen.length;
    const { result, isError } = await executeCli({
      runtime: engine.runtime,
      settings: cliSettings(),
      tool: curl("none"),
      call: { subcommand: "-sS", args: ["--max-time", "3", `${upstream}/never`] },
      ids,
    });
    expect(isError).toBe(true);
    expect(result.exit_code).toBe(7); // curl: failed to connect
    expect(seen.length).toBe(before);
    await expectNoContainers(engine.runtime, ids);
  });

  it("refuses curl flags that would send the traffic elsewhere or read files", async () => {
    for (const args of [
      ["-x", "http://127.0.0.1:1", upstream],
      ["--connect-to", "::127.0.0.1:1", upstream],
      ["-d", "@/etc/passwd", upstream],
      ["file:///etc/passwd"],
    ]) {
      const ids = callIds();
      const err = await executeCli({
        runtime: engine.runtime,
        settings: cliSettings(),
        tool: curl("egress"),
        call: { subcommand: "-sS", args },
        ids,
      }).catch((e: unknown) => e);
      expect(isGatewayError(err) && err.details.reason, args.join(" ")).toBe("argument_refused");
      await expectNoContainers(engine.runtime, ids);
    }
  });
});
