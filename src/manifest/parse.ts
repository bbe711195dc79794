import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { Problem, RawDocument } from "./types.js";

/**
 * Reads manifest files: a YAML stream of documents, or one document holding a list of them
 * (JSON files are read the same way, JSON being YAML). Strict on purpose: duplicate keys,
 * merge keys (`<<`), unresolved tags and alias expansion beyond a small count are refused,
 * because each lets a manifest mean something other than what it appears to say.
 */

export const MAX_FILE_BYTES = 4 * 1024 * 1024;
export const MAX_DOCUMENTS = 1000;
export const MAX_ALIASES = 16;
const EXTENSIONS = /\.(ya?ml|json)$/i;

/** The files named by `-f`: a file as given, a directory's *.yaml, *.yml, *.json (sorted). */
export function manifestFiles(paths: readonly string[]): { files: string[]; problems: Problem[] } {
  const files: string[] = [];
  const problems: Problem[] = [];
  for (const path of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      problems.push({ message: `${path}: no such file or directory` });
      continue;
    }
    if (!isDir) {
      files.push(path);
      continue;
    }
    const names = readdirSync(path, { withFileTypes: true })
      .filter((e) => e.isFile() && EXTENSIONS.test(e.name))
      .map((e) => e.name)
      .sort();
    if (names.length === 0) problems.push({ message: `${path}: no *.yaml, *.yml or *.json files` });
    files.push(...names.map((n) => join(path, n)));
  }
  return { files, problems };
}

/** A key that would be a merge or reach the prototype: refused wherever it appears. */
function badKeys(value: unknown, at: string, out: string[], depth = 0): void {
  if (typeof value !== "object" || value === null || depth > 128) return;
  for (const [key, v] of Object.entries(value)) {
    const path = Array.isArray(value) ? `${at}[${key}]` : at === "" ? key : `${at}.${key}`;
    if (key === "<<" || key === "__proto__") out.push(path);
    badKeys(v, path, out, depth + 1);
  }
}

/** Parses one file's text into raw documents (every problem of the file at once). */
export function parseManifestText(file: string, text: string): { docs: RawDocument[]; problems: Problem[] } {
  const docs: RawDocument[] = [];
  const problems: Problem[] = [];
  // An empty stream is an empty list (reported below as a file without documents).
  const stream = parseAllDocuments(text, { uniqueKeys: true, merge: false, schema: "core" });
  let index = 0;
  for (const doc of stream) {
    const issues = [...doc.errors, ...doc.warnings];
    if (issues.length > 0) {
      for (const e of issues) {
        const line = e.linePos?.[0];
        problems.push({
          message: `${file}${line ? `:${line.line}:${line.col}` : ""}: ${e.message.split("\n", 1)[0]}`,
        });
      }
      continue;
    }
    if (doc.contents === null) continue;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIASES });
    } catch (err) {
      problems.push({ message: `${file}: ${(err as Error).message}` });
      continue;
    }
    for (const item of Array.isArray(value) ? value : [value]) {
      index += 1;
      const origin = { file, index };
      const bad: string[] = [];
      badKeys(item, "", bad);
      if (bad.length > 0) {
        for (const path of bad)
          problems.push({ origin, path, message: "merge keys (<<) and __proto__ are not allowed" });
        continue;
      }
      docs.push({ origin, value: item });
    }
  }
  if (index === 0 && problems.length === 0)
    problems.push({ message: `${file}: the file holds no documents` });
  return { docs, problems };
}

/** Reads every file; sizes, encodings and the document count are checked before parsing. */
export function readManifests(paths: readonly string[]): { docs: RawDocument[]; problems: Problem[] } {
  const { files, problems } = manifestFiles(paths);
  const docs: RawDocument[] = [];
  for (const file of files) {
    const size = statSync(file).size;
    if (size > MAX_FILE_BYTES) {
      problems.push({
        message: `${file}: the file is ${size} bytes; a manifest file is at most ${MAX_FILE_BYTES}`,
      });
      continue;
    }
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(readFileSync(file));
    } catch {
      problems.push({ message: `${file}: not valid UTF-8 text` });
      continue;
    }
    const r = parseManifestText(file, text);
    docs.push(...r.docs);
    problems.push(...r.problems);
  }
  if (docs.length > MAX_DOCUMENTS)
    problems.push({ message: `${docs.length} documents; a manifest holds at most ${MAX_DOCUMENTS}` });
  return { docs, problems };
}
