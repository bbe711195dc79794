import type * as z from "zod";
import type { Problem } from "../../config/problems.js";
import type { BuiltinSecrets } from "../builtin-store.js";
import { builtinBackend } from "./builtin.js";
import type { CredentialBackend } from "./types.js";

/**
 * The external backends this gateway can build, each with the schema of its
 * `secrets.backends.<name>` entry. The table is where a new backend (OpenBao, Keycloak) is
 * registered; until one is, any entry under `secrets.backends` is refused at start — a setting
 * nothing reads must not look like it took effect.
 */
export type BackendTable = Readonly<
  Record<string, { settings: z.ZodType; build(settings: unknown): CredentialBackend }>
>;

const EXTERNAL: BackendTable = {};

/** Every problem with `secrets.backends`, as configuration problems (empty: accepted). */
export function backendSettingsProblems(
  settings: Readonly<Record<string, unknown>>,
  table: BackendTable = EXTERNAL,
): Problem[] {
  const known = Object.keys(table);
  const problems: Problem[] = [];
  for (const [name, value] of Object.entries(settings)) {
    const entry = table[name];
    if (!entry) {
      problems.push({
        path: `secrets.backends.${name}`,
        message: `no credential backend named ${JSON.stringify(name.slice(0, 64))} is built into this gateway (available: ${known.length ? known.join(", ") : "none yet; the built-in store needs no entry"})`,
      });
      continue;
    }
    const parsed = entry.settings.safeParse(value);
    if (!parsed.success)
      for (const issue of parsed.error.issues)
        problems.push({
          path: ["secrets", "backends", name, ...issue.path.map(String)].join("."),
          message: issue.message,
        });
  }
  return problems;
}

/** The backends of one gateway: the built-in store, then each configured external backend. */
export function credentialBackends(
  secrets: BuiltinSecrets,
  settings: Readonly<Record<string, unknown>>,
  table: BackendTable = EXTERNAL,
): CredentialBackend[] {
  const problems = backendSettingsProblems(settings, table);
  if (problems.length > 0)
    throw new Error(`secrets.backends refused: ${problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`);
  const external = Object.entries(settings).map(([name, value]) => {
    const entry = table[name] as BackendTable[string];
    return entry.build(entry.settings.parse(value));
  });
  return [builtinBackend(secrets), ...external];
}
