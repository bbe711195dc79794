import { execFile } from "node:child_process";

/**
 * Where the bridge gets the agent's security token: fixed (`--token`, SEAL_TOKEN) or printed
 * by a command (`--token-command`), re-run shortly before the current token expires (its
 * `exp`, read without verifying: the gateway verifies; the bridge only schedules).
 */

export interface TokenSource {
  current(): Promise<string>;
}

/** `exp` of a JWT in Unix seconds, or null when it has none or is not a JWT. */
export function jwtExp(token: string): number | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const claims = JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as {
      exp?: unknown;
      iat?: unknown;
    };
    return typeof claims.exp === "number" && Number.isFinite(claims.exp) ? claims.exp : null;
  } catch {
    return null;
  }
}

export function fixedToken(token: string): TokenSource {
  return { current: async () => token };
}

function runCommand(command: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("/bin/sh", ["-c", command], { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout) => {
      // The command's own output may hold a token: never quoted in the error.
      if (err) return reject(new Error(`the token command failed (${err.code ?? err.signal ?? "error"})`));
      const line = String(stdout).trim().split("\n").at(-1)?.trim() ?? "";
      if (!line) return reject(new Error("the token command printed no token"));
      resolve(line);
    });
  });
}

export function commandToken(
  command: string,
  opts: { nowMs?: () => number; timeoutMs?: number } = {},
): TokenSource {
  const now = opts.nowMs ?? (() => Date.now());
  let cached: { token: string; renewAtMs: number } | null = null;
  let running: Promise<string> | null = null;
  const refresh = async () => {
    const token = await runCommand(command, opts.timeoutMs ?? 30_000);
    const exp = jwtExp(token);
    const startedMs = now();
    // Renew a minute before expiry, or at 80% of a shorter remaining lifetime; a token without
    // exp is re-fetched every minute rather than trusted forever.
    const leftMs = exp === null ? 60_000 : exp * 1000 - startedMs;
    cached = { token, renewAtMs: startedMs + Math.max(0, Math.min(leftMs - 60_000, leftMs * 0.8)) };
    return token;
  };
  return {
    async current() {
      if (cached && now() < cached.renewAtMs) return cached.token;
      running ??= refresh().finally(() => {
        running = null;
      });
      return await running;
    },
  };
}
