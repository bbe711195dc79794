import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { parseDuration } from "../config/duration.js";
import { controlClient, describeError, GatewayUnreachable } from "../manifest/client.js";
import { ApiFailure } from "../manifest/live.js";
import { readManifests } from "../manifest/parse.js";
import { formatProblem } from "../manifest/types.js";
import { validateDocuments } from "../manifest/validate.js";
import { runWhatIf, summaryLine, windowBound, windowLabel } from "../manifest/what-if.js";
import { configOrExit, gatewayUrl, UsageError } from "./common.js";
import { operatorTokenFor } from "./operator-token.js";

/**
 * `seal-gateway context what-if NAME -f candidate.yaml [--since 7d] [--until T]` and
 * `seal-gateway context suggest NAME [--since 30d] [--until T] > ctx.yaml` (docs/policy.md):
 * the two questions of policy from evidence, through the control-plane API with a viewer
 * token. `suggest` prints an applyable SecurityContext manifest. Exit codes: 0 answered,
 * 1 the gateway failed or refused, 2 usage or a problem with the candidate file.
 */

const USAGE = `usage: seal-gateway context what-if NAME -f FILE [--since 7d] [--until T] [--output text|json]
       seal-gateway context suggest NAME [--since 30d] [--until T]
  (both: [--url URL] [--token JWT] [--tenant T] [--config FILE])`;

const OPTIONS = {
  file: { type: "string", short: "f" },
  since: { type: "string" },
  until: { type: "string" },
  output: { type: "string", short: "o" },
  url: { type: "string" },
  token: { type: "string" },
  tenant: { type: "string" },
  config: { type: "string" },
} as const;

function window(values: { since?: string; until?: string }) {
  const now = Date.now();
  const since = windowBound(values.since, now, parseDuration);
  const until = windowBound(values.until, now, parseDuration);
  return { ...(since ? { since } : {}), ...(until ? { until } : {}) };
}

export async function contextCommand(argv: string[]): Promise<number> {
  const [sub, name, ...rest] = argv;
  if ((sub !== "what-if" && sub !== "suggest") || name === undefined || name.startsWith("-"))
    throw new UsageError(USAGE);
  const { values } = parseArgs({ args: rest, options: OPTIONS });
  if (values.output !== undefined && values.output !== "text" && values.output !== "json")
    throw new UsageError(`--output must be text or json\n${USAGE}`);
  const token = await operatorTokenFor(values.token, () => configOrExit(values.config), {
    role: "viewer",
    tenant: values.tenant ?? "default",
    sub: `cli:context-${sub}`,
  });
  const client = controlClient(gatewayUrl(values.url), token);
  try {
    if (sub === "suggest") return await suggest(client, name, values);
    if (!values.file) throw new UsageError(`-f FILE (the candidate SecurityContext) is required\n${USAGE}`);
    return await whatIf(client, name, values.file, values);
  } catch (err) {
    if (err instanceof GatewayUnreachable || err instanceof ApiFailure) {
      process.stderr.write(`seal-gateway context ${sub}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

async function whatIf(
  client: ReturnType<typeof controlClient>,
  name: string,
  file: string,
  values: { since?: string; until?: string; output?: string },
): Promise<number> {
  const read = readManifests([file]);
  const checked = validateDocuments(read.docs);
  const problems = [...read.problems, ...checked.problems].map(formatProblem);
  const candidates = checked.objects.filter((o) => o.kind === "SecurityContext" && o.name === name);
  if (problems.length === 0 && candidates.length !== 1)
    problems.push(`${file}: holds no SecurityContext named ${JSON.stringify(name)} (or more than one)`);
  const candidate = candidates[0];
  if (problems.length > 0 || candidate === undefined || candidate.kind !== "SecurityContext") {
    for (const p of problems) process.stderr.write(`${p}\n`);
    return 2;
  }
  const totals = await runWhatIf(client, name, { candidate: candidate.body, ...window(values) });
  if (values.output === "json") {
    const { tally: _tally, ...rest } = totals;
    process.stdout.write(`${JSON.stringify(rest)}\n`);
    return 0;
  }
  process.stdout.write(`${name}: ${summaryLine(totals, windowLabel(values.since, values.until))}\n`);
  for (const f of totals.flips) {
    const why = f.reason.startsWith(f.rule) ? f.reason : `${f.rule}: ${f.reason}`;
    process.stdout.write(
      `  ${f.from} → ${f.to}  ${f.tool_name}  ${f.event_id}  request ${f.request_id ?? "-"}  ${why}\n`,
    );
  }
  for (const u of totals.undecidableCalls)
    process.stdout.write(`  undecidable  ${u.tool_name}  ${u.event_id}  ${u.reason}\n`);
  return 0;
}

async function suggest(
  client: ReturnType<typeof controlClient>,
  name: string,
  values: { since?: string; until?: string },
): Promise<number> {
  const query = new URLSearchParams(window(values)).toString();
  const answer = await client.request(
    "GET",
    `/v1/security-contexts/${encodeURIComponent(name)}/suggest${query ? `?${query}` : ""}`,
  );
  if (answer.status !== 200) throw new ApiFailure(`suggest for ${name} refused: ${describeError(answer)}`);
  const { context, based_on, notes } = answer.body as {
    context: { name: string } & Record<string, unknown>;
    based_on: number;
    notes: string[];
  };
  const { name: contextName, ...spec } = context;
  const header = [
    `Suggested by seal-gateway context suggest from ${based_on} allowed call${based_on === 1 ? "" : "s"} ${windowLabel(values.since, values.until)}.`,
    `Review it, then: seal-gateway context what-if ${name} -f FILE, and seal-gateway apply -f FILE`,
    ...notes,
  ]
    .map((line) => `# ${line}`)
    .join("\n");
  process.stdout.write(`${header}\n${stringify({ kind: "SecurityContext", name: contextName, spec })}`);
  return 0;
}
