/**
 * Checks a CLI call's argv before anything runs: the subcommand against the tool's
 * allowlist (whole token, SEAL 2003), then every argument against generic limits and the
 * tool's argument rules (4000 `argument_refused`). The argv is never given to a shell, so
 * quoting is not the threat; flags that make the CLI itself run programs, touch files or
 * redirect traffic are. Every token is checked, including those after `--`: CLIs differ in
 * whether and where they honour `--` (and some pass what follows to another program), so a
 * rule that stopped at `--` could be walked around.
 */
import { GatewayError } from "../../errors.js";
import { shown } from "../../policy/constraints.js";
import type { ArgvRules } from "./argv-profiles.js";

export const ARGV_LIMITS = {
  maxArgs: 256,
  maxArgBytes: 4096,
  maxTotalBytes: 65_536,
} as const;

// C0 controls except TAB and LF (multi-line jq programs), DEL and C1 controls: they can
// rewrite what a terminal or log viewer shows and have no business in an argument.
function hasControl(token: string): boolean {
  for (const ch of token) {
    const c = ch.charCodeAt(0);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a) || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}
const URL_SCHEME = /([A-Za-z][A-Za-z0-9+.-]*):\/\//g;

function refuse(index: number, why: string): never {
  throw new GatewayError("INVALID_ARGUMENTS", `argument ${index} refused: ${why}`, {
    reason: "argument_refused",
    index,
  });
}

function genericProblem(token: string): string | null {
  if (token.includes("\u0000")) return "contains a NUL byte";
  if (hasControl(token)) return "contains a control character";
  if (Buffer.byteLength(token, "utf8") > ARGV_LIMITS.maxArgBytes) {
    return `longer than ${ARGV_LIMITS.maxArgBytes} bytes`;
  }
  return null;
}

function flagProblem(token: string, rules: ArgvRules): string | null {
  if (token.startsWith("--") && token.length > 2) {
    const name = token.split("=", 1)[0] ?? token;
    for (const flag of rules.denyFlags) {
      if (!flag.startsWith("--")) continue;
      if (name === flag) return `flag ${flag} is not allowed for this tool`;
      if (rules.longAbbreviations && name.length >= 3 && flag.startsWith(name)) {
        return `${shown(name)} abbreviates ${flag}, which is not allowed for this tool`;
      }
    }
    return null;
  }
  if (token.startsWith("-") && token.length > 1) {
    // A bundle (-xo) or a flag with its value attached (-ofile): any denied letter counts.
    for (const ch of token.slice(1)) {
      const flag = `-${ch}`;
      if (rules.denyFlags.includes(flag)) return `flag ${flag} is not allowed for this tool`;
    }
  }
  return null;
}

/** `@file`, `name=@file`, `-d@file`, `name=<file`: curl reads these from disk. */
function fileReferenceProblem(token: string): string | null {
  // userinfo in a URL (scheme://user@host) is the one ordinary use of "@".
  const withoutUserinfo = token.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/@\s]*@/, "");
  if (withoutUserinfo.includes("@")) return "an '@' value (reads a file) is not allowed for this tool";
  if (/(^|=)</.test(token) || /^-[A-Za-z]</.test(token)) {
    return "a '<' value (reads a file) is not allowed for this tool";
  }
  return null;
}

function schemeProblem(token: string, schemes: readonly string[]): string | null {
  for (const match of token.matchAll(URL_SCHEME)) {
    const scheme = (match[1] ?? "").toLowerCase();
    if (!schemes.includes(scheme)) return `URL scheme ${shown(scheme)} is not allowed for this tool`;
  }
  return null;
}

function ruleProblem(token: string, rules: ArgvRules, patterns: readonly RegExp[]): string | null {
  return (
    flagProblem(token, rules) ??
    (rules.denyFileReferences ? fileReferenceProblem(token) : null) ??
    (rules.urlSchemes ? schemeProblem(token, rules.urlSchemes) : null) ??
    (patterns.some((p) => p.test(token)) ? "matches a refused argument pattern of this tool" : null)
  );
}

export interface ArgvCall {
  subcommand: string;
  args: readonly string[];
}

/** Throws COMMAND_DENIED or INVALID_ARGUMENTS; returns the argv to run when the call passes. */
export function checkArgv(allowedSubcommands: readonly string[], rules: ArgvRules, call: ArgvCall): string[] {
  if (!allowedSubcommands.includes(call.subcommand)) {
    throw new GatewayError(
      "COMMAND_DENIED",
      `subcommand ${shown(call.subcommand)} is not allowed for this tool`,
      {
        reason: "subcommand_not_allowed",
      },
    );
  }
  if (call.args.length > ARGV_LIMITS.maxArgs)
    refuse(call.args.length - 1, `more than ${ARGV_LIMITS.maxArgs} arguments`);
  let total = 0;
  const patterns = rules.denyPatterns.map((source) => new RegExp(source, "u"));
  call.args.forEach((token, index) => {
    if (typeof token !== "string") refuse(index, "is not a string");
    const generic = genericProblem(token);
    if (generic) refuse(index, generic);
    total += Buffer.byteLength(token, "utf8");
    if (total > ARGV_LIMITS.maxTotalBytes)
      refuse(index, `arguments exceed ${ARGV_LIMITS.maxTotalBytes} bytes in total`);
    const problem = ruleProblem(token, rules, patterns);
    if (problem) refuse(index, problem);
  });
  return [call.subcommand, ...call.args];
}
