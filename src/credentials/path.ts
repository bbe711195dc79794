import { z } from "zod";

/**
 * `credential_path` in the AEGIS externally-tagged form (DESIGN §4): an object with exactly
 * one key naming the variant. Unknown variants, extra fields and malformed names are refused
 * at registration, so a typo can never turn into an unauthenticated call.
 */

/** Secret key names: path-like, no traversal, no control characters. */
export const SECRET_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;

export function secretKeyProblem(key: string): string | null {
  if (key.length === 0 || key.length > 256) return "must be 1 to 256 characters";
  if (!SECRET_KEY.test(key)) return "must be segments of letters, digits, '.', '_' or '-' separated by '/'";
  if (key.split("/").some((seg) => seg === "." || seg === ".."))
    return "must not contain '.' or '..' segments";
  return null;
}

export const SecretKey = z.string().superRefine((key, ctx) => {
  const problem = secretKeyProblem(key);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const Name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/, "letters, digits, '.', '_', '-' and '/' (at most 128)");

/** A StaticRef's body — also what a UserBound binding names as its secret. */
export const StaticRefBody = z.strictObject({
  key: SecretKey,
  // Where to read it (else `secrets.static_backend`), and which field of an OpenBao entry.
  backend: z.enum(["builtin", "openbao"]).optional(),
  field: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,128}$/, "letters, digits, '.', '_' and '-' (at most 128)")
    .optional(),
});

export const CredentialPath = z.union([
  z.strictObject({ StaticRef: StaticRefBody }),
  z.strictObject({ SystemJit: z.strictObject({ openbao_engine_path: Name, role: Name }) }),
  z.strictObject({ HumanDelegated: z.strictObject({ target_service: Name }) }),
  z.strictObject({ UserBound: z.strictObject({ provider: Name }) }),
  z.strictObject({
    Auto: z.strictObject({
      system_jit_openbao_engine_path: Name,
      system_jit_role: Name,
      target_service: Name,
    }),
  }),
]);
export type CredentialPath = z.infer<typeof CredentialPath>;

export const CREDENTIAL_VARIANTS = ["StaticRef", "SystemJit", "HumanDelegated", "UserBound", "Auto"] as const;

export type ParsedCredentialPath =
  | { ok: true; path: CredentialPath }
  | { ok: false; problems: { path: string; message: string }[] };

/** Parses a credential path, with a clear message for the common mistakes. */
export function parseCredentialPath(input: unknown): ParsedCredentialPath {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return {
      ok: false,
      problems: [
        {
          path: "credential_path",
          message: `must be an object with one of ${CREDENTIAL_VARIANTS.join(", ")}`,
        },
      ],
    };
  }
  const keys = Object.keys(input);
  if (keys.length !== 1) {
    return {
      ok: false,
      problems: [{ path: "credential_path", message: "must have exactly one variant key" }],
    };
  }
  const variant = keys[0] as string;
  if (!(CREDENTIAL_VARIANTS as readonly string[]).includes(variant)) {
    return {
      ok: false,
      problems: [
        {
          path: "credential_path",
          message: `unknown variant ${JSON.stringify(variant.slice(0, 64))}; expected one of ${CREDENTIAL_VARIANTS.join(", ")}`,
        },
      ],
    };
  }
  const r = CredentialPath.safeParse(input);
  if (r.success) return { ok: true, path: r.data };
  // The union reports every branch; keep the issues of the branch that was named.
  const problems = r.error.issues.flatMap((issue) => {
    if (issue.code === "invalid_union") {
      return issue.errors
        .flat()
        .filter((i) => i.path[0] === variant)
        .map((i) => ({ path: ["credential_path", ...i.path.map(String)].join("."), message: i.message }));
    }
    return [{ path: ["credential_path", ...issue.path.map(String)].join("."), message: issue.message }];
  });
  return {
    ok: false,
    problems:
      problems.length > 0 ? problems : [{ path: `credential_path.${variant}`, message: "is malformed" }],
  };
}
