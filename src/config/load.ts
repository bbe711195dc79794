import type { EnvOverride } from "./env-overrides.js";
import { envTable, readEnvOverrides } from "./env-overrides.js";
import { interpolate } from "./interpolate.js";
import type { Problem, SourceOf } from "./problems.js";
import { dottedPath, issuesToProblems, scrubSecrets } from "./problems.js";
import { GatewayConfig, GatewayConfigShape } from "./schema.js";
import type { LeafKind } from "./schema-walk.js";
import { keysAt } from "./schema-walk.js";
import type { PlainRecord } from "./tree.js";
import { isPlainRecord, setAtPath } from "./tree.js";
import { readConfigFile, resolveConfigFile } from "./yaml-file.js";

export type { Problem } from "./problems.js";
export { formatProblems } from "./problems.js";

export interface LoadConfigOptions {
  /** `--config FILE`; relative paths are taken from `cwd`. */
  configPath?: string;
  /** Defaults to `process.env`, read when called (never at import). */
  env?: NodeJS.ProcessEnv;
  /** Defaults to `process.cwd()`. */
  cwd?: string;
}

export type LoadConfigResult =
  | {
      ok: true;
      config: GatewayConfig /** The file read, or null for built-in defaults. */;
      file: string | null;
    }
  | { ok: false; problems: Problem[] };

/** A value set by an environment variable is attributed to it, otherwise to its line in the file. */
function sourceFinder(overrides: readonly EnvOverride[], locate: SourceOf | undefined): SourceOf {
  return (path) => {
    const dotted = dottedPath(path);
    const override = overrides.find((o) => {
      const key = o.path.join(".");
      return dotted === key || dotted.startsWith(`${key}.`);
    });
    return override === undefined ? locate?.(path) : `env ${override.variable}`;
  };
}

/** The master keys as given (current and previous), to scrub from any problem's text. */
function rawMasterKeys(tree: unknown): string[] {
  const secrets = isPlainRecord(tree) ? tree.secrets : undefined;
  if (!isPlainRecord(secrets)) return [];
  const previous = Array.isArray(secrets.previous_master_keys) ? secrets.previous_master_keys : [];
  return [secrets.master_key, ...previous].filter((k): k is string => typeof k === "string");
}

/**
 * Loads the configuration: file (if any) → environment overrides → `env:VAR` interpolation →
 * one schema parse. Every problem from every step is returned together; a caller must refuse
 * to start on any.
 */
export function loadConfig(options: LoadConfigOptions = {}): LoadConfigResult {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();

  let raw: PlainRecord = {};
  let file: string | null = null;
  let locate: SourceOf | undefined;
  const table = envTable(GatewayConfigShape);
  const fromEnv = readEnvOverrides(env, table);
  const target = resolveConfigFile(options.configPath, env, cwd);
  if (target !== null) {
    const read = readConfigFile(target.file);
    // Without a parsed file there is nothing to validate, but variable typos are still worth reporting.
    if (!read.ok) return { ok: false, problems: [...read.problems, ...fromEnv.problems] };
    ({ raw, locate, file } = read.value);
  }

  for (const override of fromEnv.overrides) setAtPath(raw, override.path, override.value);

  const kinds = new Map<string, LeafKind>(
    [...table.values()].map((leaf) => [leaf.path.join("."), leaf.kind]),
  );
  const interpolated = interpolate(raw, env, (dotted) => kinds.get(dotted));

  const parsed = GatewayConfig.safeParse(interpolated.value);
  const problems = [...fromEnv.problems, ...interpolated.problems];
  if (!parsed.success) {
    const sourceOf = sourceFinder(fromEnv.overrides, locate);
    problems.push(
      ...issuesToProblems(parsed.error.issues, (path) => keysAt(GatewayConfigShape, path), sourceOf),
    );
  }
  if (parsed.success && problems.length === 0) return { ok: true, config: parsed.data, file };
  const secrets = [...interpolated.secrets, ...rawMasterKeys(interpolated.value)];
  return { ok: false, problems: scrubSecrets(problems, secrets) };
}
