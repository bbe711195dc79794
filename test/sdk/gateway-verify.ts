/** The gateway's own verification path (src/seal parser + canonicalizer) with node:crypto Ed25519. */
import { createPublicKey, verify } from "node:crypto";
import { canonicalBytes } from "../../src/seal/canonical.js";
import { isJsonObject, JsonNumber, parseJson } from "../../src/seal/json.js";

const SPKI_ED25519 = Buffer.from("302a300506032b6570032100", "hex");

export function gatewayVerify(body: string, publicKeyB64: string): { ok: boolean; canonical: string } {
  const doc = parseJson(new TextEncoder().encode(body));
  if (!isJsonObject(doc) || typeof doc.security_token !== "string" || typeof doc.signature !== "string") {
    throw new Error("not an envelope");
  }
  const ts = doc.timestamp;
  const seconds = ts instanceof JsonNumber ? ts.value : Math.floor(Date.parse(String(ts)) / 1000);
  const bytes = canonicalBytes(doc.payload, doc.security_token, seconds);
  const key = createPublicKey({
    key: Buffer.concat([SPKI_ED25519, Buffer.from(publicKeyB64, "base64")]),
    format: "der",
    type: "spki",
  });
  const ok = verify(null, bytes, key, Buffer.from(doc.signature, "base64"));
  return { ok, canonical: new TextDecoder().decode(bytes) };
}
