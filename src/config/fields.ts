import * as z from "zod";
import { parseCidr } from "./cidr.js";
import { DATABASE_URL_HINT, parseDatabaseUrl } from "./database-url.js";
import { parseDuration } from "./duration.js";
import { decodeMasterKey } from "./master-key.js";

/**
 * For cross-field checks: run them even when another field already failed (so every problem
 * is reported at once), but only once the value is at least an object.
 */
export const whenObject = {
  when: (payload: { value: unknown }) => typeof payload.value === "object" && payload.value !== null,
};

// Field schemas shared by several sections. Messages never include the input: some fields
// (master key, interpolated values, database URLs with passwords) are secrets.

export const TOKEN_ALGORITHMS = ["EdDSA", "Ed25519", "RS256", "ES256"] as const;

const MAX_TOKEN_TTL_SECONDS = 86_400;

function algorithmMessage(input: unknown): string {
  if (typeof input === "string" && input.toLowerCase() === "none") {
    return '"none" is never allowed: it accepts unsigned tokens';
  }
  if (typeof input === "string" && /^hs\d*$/i.test(input)) {
    return "HMAC algorithms (HS256/HS384/HS512) are never allowed: a public key would become the shared secret";
  }
  return `unsupported algorithm; allowed: ${TOKEN_ALGORITHMS.join(", ")}`;
}

export const TokenAlgorithmSchema = z.enum(TOKEN_ALGORITHMS, {
  error: (issue) => algorithmMessage(issue.input),
});

export const AlgorithmList = z
  .array(TokenAlgorithmSchema)
  .min(1, "at least one algorithm is required")
  .refine((list) => new Set(list).size === list.length, "algorithms must not repeat");

export const PositiveInt = z.int().positive();
export const NonNegativeInt = z.int().nonnegative();
export const NonEmptyString = z.string().min(1, "must not be empty");

/** A duration string (`15m`, `1h`, `24h`, `30s`) of at most 24 h, parsed to seconds. */
export const TokenTtl = z.string().transform((text, ctx) => {
  const seconds = parseDuration(text);
  if (seconds === null) {
    ctx.addIssue({ code: "custom", message: "must be a duration such as 30s, 15m, 1h or 24h" });
    return z.NEVER;
  }
  if (seconds > MAX_TOKEN_TTL_SECONDS) {
    ctx.addIssue({ code: "custom", message: "must be at most 24h" });
    return z.NEVER;
  }
  return seconds;
});

export const HttpUrl = z.string().refine((text) => {
  if (!URL.canParse(text)) return false;
  const { protocol } = new URL(text);
  return protocol === "https:" || protocol === "http:";
}, "must be an http:// or https:// URL");

export const CidrString = z
  .string()
  .refine((text) => parseCidr(text) !== null, "must be a CIDR such as 127.0.0.0/8 or ::1/128");

export const DatabaseUrl = z.string().refine((text) => parseDatabaseUrl(text) !== null, DATABASE_URL_HINT);

export const MasterKey = z
  .string()
  .refine(
    (text) => decodeMasterKey(text) !== null,
    "must be base64 of exactly 32 bytes (e.g. `openssl rand -base64 32`); the value is not shown",
  );

function publicKeyProblem(text: string): string | null {
  const trimmed = text.trim();
  if (trimmed.startsWith("-----BEGIN ")) {
    if (/PRIVATE KEY/.test(trimmed)) return "must be a public key, but a private key was given";
    return /^-----BEGIN (?:RSA )?PUBLIC KEY-----[\s\S]+-----END (?:RSA )?PUBLIC KEY-----$/.test(trimmed)
      ? null
      : "must be a PEM public key (-----BEGIN PUBLIC KEY-----) or a JWK JSON object";
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return "must be a PEM public key (-----BEGIN PUBLIC KEY-----) or a JWK JSON object";
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || !("kty" in parsed)) {
    return "must be a PEM public key or a JWK JSON object with a kty member";
  }
  // A JWK with "d" (or RSA "p"/"q") is a private key pasted where a public key belongs.
  if ("d" in parsed || "p" in parsed || "q" in parsed)
    return "must be a public key, but a private JWK was given";
  return null;
}

export const PublicKeyText = z.string().superRefine((text, ctx) => {
  const problem = publicKeyProblem(text);
  if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
});

/** A trusted external token issuer, verified by a JWKS URL or a pinned public key (exactly one). */
export const TrustedIssuer = z
  .strictObject({
    issuer: NonEmptyString,
    audience: NonEmptyString.optional(),
    jwks_url: HttpUrl.optional(),
    public_key: PublicKeyText.optional(),
    algorithms: AlgorithmList.optional(),
  })
  .superRefine((value, ctx) => {
    if (value.jwks_url === undefined && value.public_key === undefined) {
      ctx.addIssue({ code: "custom", path: ["jwks_url"], message: "set one of jwks_url or public_key" });
    } else if (value.jwks_url !== undefined && value.public_key !== undefined) {
      ctx.addIssue({ code: "custom", path: ["public_key"], message: "set jwks_url or public_key, not both" });
    }
  }, whenObject);
export type TrustedIssuer = z.infer<typeof TrustedIssuer>;
