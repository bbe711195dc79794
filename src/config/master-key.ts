const STANDARD = /^[A-Za-z0-9+/]{43}=?$/;
const URL_SAFE = /^[A-Za-z0-9_-]{43}$/;

/** Length a master key must decode to: an AES-256 key. */
export const MASTER_KEY_BYTES = 32;

/**
 * Decodes a master key given as base64 (standard, padding optional) or base64url of exactly
 * 32 bytes. Returns null otherwise. Callers must never echo the input: it is a secret.
 */
export function decodeMasterKey(text: string): Uint8Array | null {
  const trimmed = text.trim();
  if (!STANDARD.test(trimmed) && !URL_SAFE.test(trimmed)) return null;
  const encoding = STANDARD.test(trimmed) ? "base64" : "base64url";
  const bytes = Buffer.from(trimmed, encoding);
  // Re-encoding must give the input back: stray low bits in the last character mean the key
  // was truncated or mangled in transit, and a silently different key would encrypt garbage.
  const canonical = encoding === "base64" && !trimmed.endsWith("=") ? `${trimmed}=` : trimmed;
  if (bytes.length !== MASTER_KEY_BYTES || bytes.toString(encoding) !== canonical) return null;
  return new Uint8Array(bytes);
}
