/** The manifest format's vocabulary (docs/manifests.md): kinds, documents, problems. */

/** In dependency order: what a later kind refers to is applied first (and pruned last). */
export const KINDS = ["Secret", "ApiSpec", "Workflow", "SecurityContext", "CliTool"] as const;
export type Kind = (typeof KINDS)[number];

/** The kinds `apply` writes and may prune; a Secret is only checked, never written. */
export type ManagedKind = Exclude<Kind, "Secret">;
export const MANAGED_KINDS: readonly ManagedKind[] = ["ApiSpec", "Workflow", "SecurityContext", "CliTool"];

/** Where a document came from: its file and its 1-based position among the file's objects. */
export interface Origin {
  file: string;
  index: number;
}

/** A document as read from a file, before its kind's checks. */
export interface RawDocument {
  origin: Origin;
  value: unknown;
}

/** One thing wrong, located as precisely as it can be (a file, a document, a field). */
export interface Problem {
  origin?: Origin;
  kind?: string;
  name?: string;
  /** Field path inside the document (`spec.steps[0].on_error`); empty for the document itself. */
  path?: string;
  message: string;
}

export function formatProblem(p: Problem): string {
  const parts: string[] = [];
  if (p.origin) parts.push(`${p.origin.file}#${p.origin.index}`);
  if (p.kind !== undefined || p.name !== undefined)
    parts.push(`(${[p.kind, p.name].filter((x) => x !== undefined).join(" ")})`);
  const where = parts.join(" ");
  const at = [where, p.path].filter((x) => x !== undefined && x !== "").join(" ");
  return at === "" ? p.message : `${at}: ${p.message}`;
}
