import { parseArgs } from "node:util";
import { formatProblems, loadConfig } from "../config/load.js";
import { controlClient, GatewayUnreachable } from "../manifest/client.js";
import { type Done, executePlan } from "../manifest/execute.js";
import { ApiFailure, readLiveState } from "../manifest/live.js";
import { readManifests } from "../manifest/parse.js";
import { planApply, type Step } from "../manifest/plan.js";
import { formatProblem, type Problem } from "../manifest/types.js";
import { validateDocuments } from "../manifest/validate.js";
import { runWhatIf, summaryLine } from "../manifest/what-if.js";
import { gatewayUrl } from "./common.js";
import { mintOperatorToken } from "./operator-token.js";

/**
 * `seal-gateway apply -f FILE|DIR [--dry-run] [--prune]` (docs/manifests.md): read, check
 * everything (files, then against the live gateway), and only then write, in dependency
 * order. Exit codes: 0 applied (or nothing to do), 1 the gateway failed or refused a write,
 * 2 usage or a problem with the manifest (nothing written).
 */

const USAGE =
  "usage: seal-gateway apply -f FILE|DIR [-f …] [--dry-run] [--prune] [--url URL] [--token JWT] [--tenant T] [--output text|json] [--config FILE]";

const LOCAL_TOKEN_TTL_SECONDS = 15 * 60;

interface Report {
  dry_run: boolean;
  ok: boolean;
  results: Done[];
  problems: string[];
  error?: string;
  /** Dry run: the what-if of each SecurityContext it would change. */
  what_if?: { name: string; summary: string }[];
}

function line(d: Done, dryRun: boolean): string {
  const fields = d.fields && d.fields.length > 0 ? ` (fields: ${d.fields.join(", ")})` : "";
  const verb = dryRun
    ? {
        created: "would create",
        updated: "would update",
        pruned: "would prune",
        unchanged: "unchanged",
        exists: "exists",
      }[d.outcome]
    : d.outcome;
  return `${verb} ${d.kind} ${d.name}${fields}`;
}

const previewOf = (s: Step): Done => ({
  outcome: (
    {
      create: "created",
      update: "updated",
      unchanged: "unchanged",
      prune: "pruned",
      exists: "exists",
    } as const
  )[s.action],
  kind: s.kind,
  name: s.name,
  ...(s.fields ? { fields: s.fields } : {}),
});

async function tokenFor(values: {
  token?: string;
  tenant?: string;
  config?: string;
}): Promise<string | Problem> {
  const given = values.token ?? process.env.SEAL_OPERATOR_TOKEN;
  if (given) return given;
  // As `seal-gateway token --role operator` does: signed with the gateway's own key.
  const r = loadConfig({ configPath: values.config });
  if (!r.ok)
    return { message: `configuration refused (needed to mint a token):\n${formatProblems(r.problems)}` };
  return await mintOperatorToken(r.config, {
    role: "operator",
    tenant: values.tenant ?? "default",
    ttlSeconds: LOCAL_TOKEN_TTL_SECONDS,
    sub: "cli:apply",
  });
}

export async function applyCommand(argv: string[]): Promise<number> {
  let values: {
    file?: string[];
    "dry-run"?: boolean;
    prune?: boolean;
    url?: string;
    token?: string;
    tenant?: string;
    output?: string;
    config?: string;
  };
  try {
    values = parseArgs({
      args: argv,
      options: {
        file: { type: "string", short: "f", multiple: true },
        "dry-run": { type: "boolean" },
        prune: { type: "boolean" },
        url: { type: "string" },
        token: { type: "string" },
        tenant: { type: "string" },
        output: { type: "string", short: "o" },
        config: { type: "string" },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const json = values.output === "json";
  if (values.output !== undefined && !json && values.output !== "text") {
    process.stderr.write(`--output must be text or json\n${USAGE}\n`);
    return 2;
  }
  if (!values.file || values.file.length === 0) {
    process.stderr.write(`-f FILE|DIR is required\n${USAGE}\n`);
    return 2;
  }
  if (values.token !== undefined && values.tenant !== undefined) {
    process.stderr.write(
      `--tenant applies to a locally minted token only; a given token has its own\n${USAGE}\n`,
    );
    return 2;
  }
  const dryRun = values["dry-run"] === true;
  const prune = values.prune === true;
  const report: Report = { dry_run: dryRun, ok: false, results: [], problems: [] };
  const finish = (code: number): number => {
    report.ok = code === 0;
    if (json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      for (const p of report.problems) process.stderr.write(`${p}\n`);
      if (report.error) process.stderr.write(`seal-gateway apply: ${report.error}\n`);
      if (report.problems.length > 0)
        process.stderr.write(`${report.problems.length} problem(s); nothing was changed\n`);
    }
    return code;
  };
  const refuse = (problems: Problem[]) => {
    report.problems = problems.map(formatProblem);
    return finish(2);
  };

  // 1. The files, on their own: nothing is contacted while they have problems.
  const read = readManifests(values.file);
  const checked = validateDocuments(read.docs);
  if (read.problems.length + checked.problems.length > 0)
    return refuse([...read.problems, ...checked.problems]);

  // 2. Against the live gateway (GETs only), then 3. the writes.
  const token = await tokenFor(values);
  if (typeof token !== "string") return refuse([token]);
  const url = gatewayUrl(values.url);
  const client = controlClient(url, token);
  try {
    const live = await readLiveState(client, checked.objects, { prune });
    const plan = planApply(checked.objects, live, { prune });
    if (plan.problems.length > 0) return refuse(plan.problems);
    const emit = (d: Done) => {
      report.results.push(d);
      if (!json) process.stdout.write(`${line(d, dryRun)}\n`);
    };
    if (dryRun) {
      for (const step of plan.steps) {
        emit(previewOf(step));
        // A context change is shown against the calls its current definition decided.
        if (
          step.kind === "SecurityContext" &&
          step.action === "update" &&
          step.object?.kind === "SecurityContext"
        ) {
          const totals = await runWhatIf(client, step.name, { candidate: step.object.body }, 0);
          const summary = summaryLine(totals, "in the recorded history");
          report.what_if = [...(report.what_if ?? []), { name: step.name, summary }];
          if (!json) process.stdout.write(`  what-if: ${summary}\n`);
        }
      }
      if (!json) process.stdout.write("dry run: nothing was changed\n");
      return finish(0);
    }
    const r = await executePlan(client, plan.steps, live.objects.ApiSpec ?? [], emit);
    if (r.failure) {
      report.error = `${r.failure} (the objects listed above were applied; nothing after this one was)`;
      return finish(1);
    }
    return finish(0);
  } catch (err) {
    if (err instanceof GatewayUnreachable || err instanceof ApiFailure) {
      report.error = err.message;
      return finish(1);
    }
    throw err;
  }
}
