import type * as z from "zod";

/** One configuration problem. `path` is the dotted key path (or the variable or file at fault). */
export interface Problem {
  path: string;
  message: string;
  /** Where the offending value came from: `file.yaml:12` or `env SEAL_GATEWAY_PORT`. */
  source?: string;
}

/** One line per problem: `path: message`, with the value's origin when known. */
export function formatProblems(problems: readonly Problem[]): string {
  return problems
    .map((p) => `${p.path}: ${p.message}${p.source === undefined ? "" : ` (${p.source})`}`)
    .join("\n");
}

export function dottedPath(path: readonly PropertyKey[]): string {
  return path.map((segment) => String(segment)).join(".");
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The closest known name, when it is close enough to be a plausible typo. */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 4)) + 1;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** The keys a strict object at `path` accepts, for "did you mean" hints. */
export type KnownKeys = (path: readonly PropertyKey[]) => readonly string[];

/** Where the value at a key path came from, when known. */
export type SourceOf = (path: readonly PropertyKey[]) => string | undefined;

function problemAt(path: readonly PropertyKey[], message: string, sourceOf: SourceOf): Problem {
  const source = sourceOf(path);
  return source === undefined
    ? { path: dottedPath(path), message }
    : { path: dottedPath(path), message, source };
}

/** Zod issues as problems; an unknown-keys issue becomes one problem per key, at the key's path. */
export function issuesToProblems(
  issues: readonly z.core.$ZodIssue[],
  knownKeys: KnownKeys,
  sourceOf: SourceOf = () => undefined,
): Problem[] {
  const problems: Problem[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      const known = knownKeys(issue.path);
      for (const key of issue.keys) {
        const hint = closest(key, known);
        const message = hint === undefined ? "unknown key" : `unknown key (did you mean "${hint}"?)`;
        problems.push(problemAt([...issue.path, key], message, sourceOf));
      }
    } else {
      problems.push(problemAt(issue.path, issue.message, sourceOf));
    }
  }
  return problems;
}

/**
 * Defence in depth: no message below names a value, but should one ever do so, a secret
 * (the master key, anything read through `env:VAR`) is cut out before problems leave here.
 */
export function scrubSecrets(problems: readonly Problem[], secrets: readonly string[]): Problem[] {
  const needles = secrets.filter((s) => s.length >= 6);
  return problems.map((problem) => {
    let message = problem.message;
    for (const needle of needles) message = message.split(needle).join("[redacted]");
    return { ...problem, message };
  });
}
