/**
 * The semantic judge against local judge servers of both protocols (node http on 127.0.0.1),
 * and its place in executeCli: asked before the container starts, fail closed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executeCli } from "../../../src/engines/cli/execute.js";
import { httpJudge, type JudgeRequest } from "../../../src/engines/cli/judge.js";
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

type Reply = (body: unknown, res: ServerResponse) => void;

let server: Server;
let base: string;
let reply: Reply = () => {};
const received: { path: string; body: unknown }[] = [];
let engine: TestEngine;

function read(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    req.on("data", (c: Buffer) => {
      text += c.toString("utf8");
    });
    req.on("end", () => resolve(text));
  });
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const body: unknown = JSON.parse((await read(req)) || "null");
    received.push({ path: req.url ?? "", body });
    reply(body, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  engine = await testEngine();
}, ENGINE_SETUP_TIMEOUT_MS);

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const json =
  (value: unknown, status = 200): Reply =>
  (_body, res) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(typeof value === "string" ? value : JSON.stringify(value));
  };
const chat = (content: string) => json({ choices: [{ message: { role: "assistant", content } }] });

const request: JudgeRequest = {
  tool: "git",
  subcommand: "log",
  args: ["--oneline"],
  context: { tenant_id: "default", execution_id: "exe_1", call_id: "call_1", sub: "agent-1" },
};

const plain = (timeoutMs = 2000) =>
  httpJudge({ url: `${base}/judge`, kind: "plain", timeoutMs, model: "unused" });
const openai = () =>
  httpJudge({ url: `${base}/v1/chat/completions`, kind: "openai", timeoutMs: 2000, model: "judge-small" });

async function verdict(judge: ReturnType<typeof httpJudge>) {
  try {
    return await judge.review(request);
  } catch (err) {
    if (isGatewayError(err)) return { code: err.code, reason: err.details.reason, message: err.message };
    throw err;
  }
}

describe("plain judge", () => {
  it("posts {tool, subcommand, args, context} and accepts allowed: true", async () => {
    reply = json({ allowed: true, reason: "read-only history" });
    expect(await verdict(plain())).toEqual({ reason: "read-only history" });
    expect(received.at(-1)).toEqual({ path: "/judge", body: request });
  });

  it("a denial is 4050 judge_denied with the judge's reason", async () => {
    reply = json({ allowed: false, reason: "not during a freeze" });
    expect(await verdict(plain())).toEqual({
      code: "JUDGE_REJECTED",
      reason: "judge_denied",
      message: "the semantic judge rejected the call: not during a freeze",
    });
  });

  it("fails closed on HTTP errors, redirects, timeouts and malformed answers", async () => {
    const cases: [Reply, string][] = [
      [json({ error: "boom" }, 500), "judge_error"],
      [json({ allowed: true }, 302), "judge_error"],
      [json("not json"), "judge_malformed"],
      [json({ allowed: "true" }), "judge_malformed"],
      [json({ allowed: 1 }), "judge_malformed"],
      [json({ reason: "no verdict" }), "judge_malformed"],
      [json([true]), "judge_malformed"],
      [json({ allowed: true, reason: 5 }), "judge_malformed"],
      [json(`{"allowed":true,"pad":"${"x".repeat(70_000)}"}`), "judge_malformed"],
      [() => {}, "judge_timeout"], // never answers
    ];
    for (const [r, reason] of cases) {
      reply = r;
      expect(await verdict(plain(300)), reason).toMatchObject({ code: "JUDGE_REJECTED", reason });
    }
  });

  it("an unreachable judge is a rejection", async () => {
    const judge = httpJudge({ url: "http://127.0.0.1:1/judge", kind: "plain", timeoutMs: 1000, model: "x" });
    expect(await verdict(judge)).toMatchObject({ code: "JUDGE_REJECTED", reason: "judge_error" });
  });
});

describe("OpenAI-compatible judge", () => {
  it("posts {model, messages} with the call as JSON data and reads choices[0].message.content", async () => {
    reply = chat('{"allowed": true, "reason": "harmless"}');
    expect(await verdict(openai())).toEqual({ reason: "harmless" });
    const body = received.at(-1)?.body as { model: string; messages: { role: string; content: string }[] };
    expect(body.model).toBe("judge-small");
    expect(body.messages.map((m) => m.role)).toEqual(["system", "user"]);
    expect(JSON.parse(body.messages[1]?.content ?? "")).toEqual(request);
  });

  it("accepts an answer wrapped in one ```json fence", async () => {
    reply = chat('```json\n{"allowed": true, "reason": "fenced"}\n```');
    expect(await verdict(openai())).toEqual({ reason: "fenced" });
  });

  it("a denial or an unusable completion is a rejection", async () => {
    const cases: [Reply, string][] = [
      [chat('{"allowed": false, "reason": "exfiltration"}'), "judge_denied"],
      [chat("Sure, go ahead!"), "judge_malformed"],
      [chat('{"allowed": "yes"}'), "judge_malformed"],
      [json({ choices: [] }), "judge_malformed"],
      [json({ choices: [{ message: { content: null } }] }), "judge_malformed"],
      [json({ allowed: true }), "judge_malformed"], // a plain answer is not a completion
    ];
    for (const [r, reason] of cases) {
      reply = r;
      expect(await verdict(openai()), reason).toMatchObject({ code: "JUDGE_REJECTED", reason });
    }
  });
});

describe("the judge in executeCli", () => {
  const tool = cliTool({
    name: "busybox",
    description: "prints things",
    docker_image: "seal-test/busybox",
    allowed_subcommands: ["echo"],
    require_semantic_judge: true,
  });
  const run = (judge?: ReturnType<typeof httpJudge>) => {
    const ids = callIds();
    const done = executeCli({
      runtime: engine.runtime,
      settings: cliSettings(),
      tool,
      call: { subcommand: "echo", args: ["hi"] },
      env: { SECRET_FOR_TOOL: "never-sent-to-the-judge" },
      ids,
      ...(judge ? { judge } : {}),
    });
    return { ids, done };
  };

  it("runs the container only after the judge allowed the call, and never sends it credentials", async () => {
    reply = json({ allowed: true, reason: "ok" });
    const { ids, done } = run(plain());
    expect((await done).result).toEqual({ exit_code: 0, stdout: "hi\n", stderr: "" });
    expect(JSON.stringify(received.at(-1))).not.toContain("never-sent-to-the-judge");
    expect(received.at(-1)?.body).toMatchObject({ tool: "busybox", subcommand: "echo", args: ["hi"] });
    await expectNoContainers(engine.runtime, ids);
  });

  it("a rejection creates no container", async () => {
    reply = json({ allowed: false, reason: "no" });
    const { ids, done } = run(plain());
    await expect(done).rejects.toMatchObject({ code: "JUDGE_REJECTED" });
    await expectNoContainers(engine.runtime, ids);
  });

  it("a tool that requires a judge is refused when none is configured", async () => {
    const { ids, done } = run();
    await expect(done).rejects.toMatchObject({
      code: "JUDGE_REJECTED",
      details: { reason: "judge_not_configured" },
    });
    await expectNoContainers(engine.runtime, ids);
  });
});
