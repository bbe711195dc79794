/**
 * Locates files shipped beside the code (migrations, web assets). The same module runs from
 * src/ (vitest, tsx) and from dist/src/ (after tsc), so paths are found by walking up to the
 * package root rather than by a fixed number of "../".
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE_NAME = "seal-gateway";

let cached: string | undefined;

function isOurPackage(dir: string): boolean {
  const file = join(dir, "package.json");
  if (!existsSync(file)) return false;
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
    return typeof parsed === "object" && parsed !== null && Reflect.get(parsed, "name") === PACKAGE_NAME;
  } catch {
    return false;
  }
}

/** The directory holding this package's package.json; throws if the install is broken. */
export function packageRoot(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (isOurPackage(dir)) {
      cached = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`package root of ${PACKAGE_NAME} not found above the running module`);
    dir = parent;
  }
}

/** drizzle/<dialect>/migrations under the package root. */
export function migrationsFolder(dialect: "sqlite" | "pg"): string {
  return join(packageRoot(), "drizzle", dialect, "migrations");
}

let version: string | undefined;

/** This package's version (package.json), read once. */
export function gatewayVersion(): string {
  if (version === undefined) {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as {
      version?: unknown;
    };
    version = typeof pkg.version === "string" ? pkg.version : "0.0.0";
  }
  return version;
}
