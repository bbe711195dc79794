/**
 * `command_allowlist` / `subcommand_allowlist` entries: plain argv tokens compared by whole
 * token equality. No globbing, no prefixes, no splitting on spaces: `status` never admits
 * `status --exec=sh` or `statusx`. Tokens are restricted to a conservative ASCII set so an
 * entry cannot smuggle whitespace, quotes or glob characters that a reader would misjudge.
 */

export const TOKEN_MAX_LENGTH = 128;

const TOKEN = /^[A-Za-z0-9._+:@/=,-]+$/;

/** Why `token` is not a valid command or subcommand entry, or null when it is. */
export function commandTokenProblem(token: string): string | null {
  if (token.length === 0) return "must not be empty";
  if (token.length > TOKEN_MAX_LENGTH) return `must be at most ${TOKEN_MAX_LENGTH} characters`;
  if (!TOKEN.test(token)) {
    return "must be one plain argv token: letters, digits and . _ + : @ / = , - (no spaces, quotes or wildcards)";
  }
  return null;
}

/** Whole-token membership. */
export function tokenAllowed(allowlist: readonly string[], token: string): boolean {
  return allowlist.includes(token);
}
