/**
 * The security context document (RFC §5.1 plus this gateway's `approval`, `visible_tools`
 * and `revoke_after_denials`, DESIGN §3). Strict: an unknown field is refused rather than
 * ignored, because a misspelt constraint that is silently dropped is a constraint that
 * does not exist. Optional constraints accept `null` (the RFC's "no constraint").
 *
 * Every list and number is bounded so a stored context cannot make evaluation slow.
 * Nothing is transformed: what is stored is exactly what was sent.
 */

import * as z from "zod";
import { commandTokenProblem } from "./commands.js";
import { domainPatternProblem } from "./domains.js";
import { pathGlobProblem } from "./glob.js";
import { toolPatternProblem } from "./tool-patterns.js";

export const CONTEXT_NAME_MAX_LENGTH = 64;
export const DESCRIPTION_MAX_LENGTH = 2048;
export const MAX_CAPABILITIES = 256;
export const MAX_LIST_ENTRIES = 1024;
export const MAX_RATE_CALLS = 1_000_000;
export const MAX_WINDOW_SECONDS = 30 * 24 * 3600;
export const MAX_RESPONSE_SIZE = 1024 * 1024 * 1024;
export const MAX_DENIAL_COUNT = 100_000;

function checked(problem: (value: string) => string | null) {
  return z.string().superRefine((value, ctx) => {
    const message = problem(value);
    if (message !== null) ctx.addIssue({ code: "custom", message });
  });
}

/** A bounded list; the length is checked before any entry is, so a huge list costs nothing. */
function list<T extends z.ZodType>(entry: T) {
  return z
    .array(z.unknown())
    .max(MAX_LIST_ENTRIES, `must have at most ${MAX_LIST_ENTRIES} entries`)
    .pipe(z.array(entry));
}

function count(max: number) {
  return z.int().min(1, "must be a positive integer").max(max, `must be at most ${max}`);
}

export const ToolPattern = checked(toolPatternProblem);
export const PathGlob = checked(pathGlobProblem);
export const DomainPattern = checked(domainPatternProblem);
export const CommandToken = checked(commandTokenProblem);

export const RateLimit = z.strictObject({
  calls: count(MAX_RATE_CALLS),
  per_seconds: count(MAX_WINDOW_SECONDS),
});
export type RateLimit = z.infer<typeof RateLimit>;

export const Capability = z.strictObject({
  tool_pattern: ToolPattern,
  path_allowlist: list(PathGlob).nullish(),
  domain_allowlist: list(DomainPattern).nullish(),
  command_allowlist: list(CommandToken).nullish(),
  subcommand_allowlist: list(CommandToken).nullish(),
  rate_limit: RateLimit.nullish(),
  max_response_size: count(MAX_RESPONSE_SIZE).nullish(),
  approval: z.enum(["required", "none"]).nullish(),
  // The end user's token (`params._meta["seal/user_token"]`) reaches the tool's credential
  // backend only under a capability that says so (DESIGN §4, HumanDelegated).
  delegated_credentials: z.boolean().nullish(),
});
export type Capability = z.infer<typeof Capability>;

export const SecurityContext = z.strictObject({
  name: z
    .string()
    .max(CONTEXT_NAME_MAX_LENGTH, `must be at most ${CONTEXT_NAME_MAX_LENGTH} characters`)
    .regex(/^[a-z][a-z0-9-]*$/, "must start with a-z and contain only a-z, 0-9 and '-'"),
  // The RFC marks it required but its own §5.3.4 example omits it; accepting its absence
  // keeps that example valid and costs no safety.
  description: z.string().max(DESCRIPTION_MAX_LENGTH).optional(),
  deny_list: list(ToolPattern).nullish(),
  capabilities: z
    .array(z.unknown())
    .max(MAX_CAPABILITIES, `must have at most ${MAX_CAPABILITIES} capabilities`)
    .pipe(z.array(Capability)),
  visible_tools: list(ToolPattern).nullish(),
  revoke_after_denials: z
    .strictObject({ count: count(MAX_DENIAL_COUNT), per_seconds: count(MAX_WINDOW_SECONDS) })
    .nullish(),
});
export type SecurityContext = z.infer<typeof SecurityContext>;

export interface ContextProblem {
  /** Where, as `capabilities[0].path_allowlist[2]` (empty for the document itself). */
  path: string;
  message: string;
}

export type ParsedContext =
  | { ok: true; context: SecurityContext }
  | { ok: false; problems: ContextProblem[] };

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** Parses a context, reporting every problem with its location (unknown keys one by one). */
export function parseSecurityContext(input: unknown): ParsedContext {
  const result = SecurityContext.safeParse(input);
  if (result.success) return { ok: true, context: result.data };
  const problems: ContextProblem[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys)
        problems.push({ path: formatPath([...issue.path, key]), message: "unknown field" });
    } else {
      problems.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return { ok: false, problems };
}
