import { existsSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { isNode, LineCounter, parseDocument } from "yaml";
import { CONFIG_FILE_VARIABLE } from "./env-overrides.js";
import type { Problem } from "./problems.js";
import { isPlainRecord } from "./tree.js";

export const DEFAULT_CONFIG_FILE = "seal-gateway.yaml";
/** Path used for problems about the file as a whole rather than one key. */
export const FILE_PROBLEM_PATH = "(config file)";
// A configuration file is a few kilobytes; refusing huge ones keeps a wrong path cheap.
const MAX_FILE_BYTES = 1_048_576;

export interface ConfigFile {
  file: string;
  raw: Record<string, unknown>;
  /** `file:line` of the value at a key path, when the file contains it. */
  locate: (path: readonly PropertyKey[]) => string | undefined;
}

/** `--config`, else SEAL_GATEWAY_CONFIG, else ./seal-gateway.yaml if present, else none. */
export function resolveConfigFile(
  configPath: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd: string,
): { file: string; required: boolean } | null {
  const named = configPath ?? env[CONFIG_FILE_VARIABLE];
  if (named !== undefined && named !== "")
    return { file: isAbsolute(named) ? named : resolve(cwd, named), required: true };
  const fallback = resolve(cwd, DEFAULT_CONFIG_FILE);
  return existsSync(fallback) ? { file: fallback, required: false } : null;
}

function readText(file: string): { text: string } | { problem: Problem } {
  try {
    const stats = statSync(file);
    if (!stats.isFile()) return { problem: { path: FILE_PROBLEM_PATH, message: `${file} is not a file` } };
    if (stats.size > MAX_FILE_BYTES) {
      return {
        problem: { path: FILE_PROBLEM_PATH, message: `${file} is larger than ${MAX_FILE_BYTES} bytes` },
      };
    }
    return { text: readFileSync(file, "utf8") };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT" ? "file not found" : code === "EACCES" ? "permission denied" : "cannot be read";
    return { problem: { path: FILE_PROBLEM_PATH, message: `${file}: ${reason}` } };
  }
}

/** Reads and parses a YAML config file; syntax errors are problems with their line and column. */
export function readConfigFile(
  file: string,
): { ok: true; value: ConfigFile } | { ok: false; problems: Problem[] } {
  const read = readText(file);
  if ("problem" in read) return { ok: false, problems: [read.problem] };
  const lines = new LineCounter();
  // Aliases are capped so a small file cannot expand into a huge tree ("billion laughs").
  const doc = parseDocument(read.text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((error) => {
        const { line, col } = lines.linePos(error.pos[0]);
        // Only the parser's own message: a pretty excerpt of the line could show a secret.
        return {
          path: FILE_PROBLEM_PATH,
          message: `YAML syntax error at line ${line}, column ${col}: ${error.message}`,
          source: file,
        };
      }),
    };
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch {
    return {
      ok: false,
      problems: [{ path: FILE_PROBLEM_PATH, message: "YAML aliases expand too far", source: file }],
    };
  }
  if (raw === null || raw === undefined) raw = {};
  if (!isPlainRecord(raw)) {
    return {
      ok: false,
      problems: [
        { path: FILE_PROBLEM_PATH, message: "the top level must be a mapping of sections", source: file },
      ],
    };
  }
  // A missing key is located at its nearest enclosing value that the file does contain.
  const locate = (path: readonly PropertyKey[]): string | undefined => {
    for (let depth = path.length; depth > 0; depth--) {
      const node: unknown = doc.getIn(path.slice(0, depth), true);
      if (isNode(node) && node.range !== undefined && node.range !== null) {
        return `${file}:${lines.linePos(node.range[0]).line}`;
      }
    }
    return undefined;
  };
  return { ok: true, value: { file, raw, locate } };
}
