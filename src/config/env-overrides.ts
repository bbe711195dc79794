import type * as z from "zod";
import { coerceText } from "./coerce.js";
import type { Problem } from "./problems.js";
import { closest } from "./problems.js";
import type { Leaf } from "./schema-walk.js";
import { schemaLeaves } from "./schema-walk.js";

export const ENV_PREFIX = "SEAL_GATEWAY_";
/** Names the file; not an override. */
export const CONFIG_FILE_VARIABLE = "SEAL_GATEWAY_CONFIG";
/** Reserved for test suites, so their own variables are not mistaken for typos. */
const TEST_PREFIX = "SEAL_GATEWAY_TEST_";
/**
 * Inputs of the CLI's client commands (DESIGN §7: where `call`, `mcp`, `session`, `apply` send),
 * not server settings: a shell that exports one must still be able to run `token` or `audit verify`.
 */
const CLIENT_VARIABLES: ReadonlySet<string> = new Set(["SEAL_GATEWAY_URL"]);

/** Short names kept stable for deployments (DESIGN §8), besides the full key-path names. */
const PINNED: Readonly<Record<string, string>> = {
  SEAL_GATEWAY_HOST: "server.host",
  SEAL_GATEWAY_PORT: "server.port",
  SEAL_GATEWAY_MASTER_KEY: "secrets.master_key",
  SEAL_GATEWAY_PREVIOUS_MASTER_KEYS: "secrets.previous_master_keys",
};

export interface EnvOverride {
  path: readonly string[];
  value: unknown;
  variable: string;
}

/** `SEAL_GATEWAY_` + the key path upper-cased, joined by `_`. */
export function envNameFor(path: readonly string[]): string {
  return ENV_PREFIX + path.map((key) => key.toUpperCase()).join("_");
}

/** Every accepted variable name and the leaf it sets (full names first, then pinned short names). */
export function envTable(schema: z.ZodType): Map<string, Leaf> {
  const table = new Map<string, Leaf>();
  const leaves = schemaLeaves(schema);
  for (const leaf of leaves) {
    const name = envNameFor(leaf.path);
    // Two keys mapping to one variable would make an override ambiguous: refuse to build.
    if (table.has(name)) throw new Error(`config schema: two keys map to ${name}`);
    table.set(name, leaf);
  }
  for (const [name, dotted] of Object.entries(PINNED)) {
    const leaf = leaves.find((l) => l.path.join(".") === dotted);
    if (leaf === undefined || table.has(name)) throw new Error(`config schema: bad pinned name ${name}`);
    table.set(name, leaf);
  }
  return table;
}

/**
 * Reads every `SEAL_GATEWAY_*` variable. Unknown names are problems (a typo must not leave
 * a setting at its default unnoticed), as is one key set by two names with different values.
 */
export function readEnvOverrides(
  env: NodeJS.ProcessEnv,
  table: ReadonlyMap<string, Leaf>,
): { overrides: EnvOverride[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const byPath = new Map<string, { variable: string; text: string; override: EnvOverride }>();
  const names = Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX))
    .sort();
  for (const variable of names) {
    const text = env[variable];
    if (
      text === undefined ||
      variable === CONFIG_FILE_VARIABLE ||
      CLIENT_VARIABLES.has(variable) ||
      variable.startsWith(TEST_PREFIX)
    )
      continue;
    const leaf = table.get(variable);
    if (leaf === undefined) {
      // Compared without the shared prefix, which would otherwise make every name look close.
      const known = [...table.keys()].map((name) => name.slice(ENV_PREFIX.length));
      const hint = closest(variable.slice(ENV_PREFIX.length), known);
      problems.push({
        path: variable,
        message: `unknown configuration variable${hint === undefined ? "" : ` (did you mean ${ENV_PREFIX}${hint}?)`}`,
      });
      continue;
    }
    const dotted = leaf.path.join(".");
    const coerced = coerceText(text, leaf.kind);
    if (!coerced.ok) {
      problems.push({ path: dotted, message: coerced.message, source: `env ${variable}` });
      continue;
    }
    const earlier = byPath.get(dotted);
    if (earlier !== undefined) {
      if (earlier.text !== text) {
        problems.push({
          path: dotted,
          message: `set by both ${earlier.variable} and ${variable} with different values`,
        });
      }
      continue;
    }
    byPath.set(dotted, { variable, text, override: { path: leaf.path, value: coerced.value, variable } });
  }
  return { overrides: [...byPath.values()].map((entry) => entry.override), problems };
}
