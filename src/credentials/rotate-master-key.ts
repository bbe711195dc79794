import { type MasterKey, open, rewrap, SealedBoxError } from "../crypto/sealed-box.js";
import type { SealedValueRef, SecretStore } from "../store/types.js";
import { secretAad } from "./builtin-store.js";

/**
 * Master-key rotation: every data key in the store (built-in secrets and the gateway's signing
 * keys) is re-wrapped under the new master key, in one transaction. Values themselves are not
 * re-encrypted. Nothing is written unless every value opens under the current key and, after
 * re-wrapping, under the new one — a half-rotated store would lock the gateway out.
 */

export interface RotationSummary {
  secrets: number;
  signingKeys: number;
  /** Already under the new key (a rotation that was run before). */
  alreadyRotated: number;
}

export class RotationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RotationError";
  }
}

const SEPARATOR = "\u0000";

function aadOf(ref: SealedValueRef): string {
  if (ref.kind === "signing_key") return `signing-key:${ref.id}`;
  const at = ref.id.indexOf(SEPARATOR);
  if (at < 0) throw new RotationError("the store returned a secret reference without a tenant");
  return secretAad(ref.id.slice(0, at), ref.id.slice(at + 1));
}

/** A printable name for a value that failed (key names and kids are not secret). */
function label(ref: SealedValueRef): string {
  return ref.kind === "signing_key"
    ? `signing key ${ref.id}`
    : `secret ${JSON.stringify(ref.id.replace(SEPARATOR, "/"))}`;
}

function masterIdOf(sealed: string): string | undefined {
  return sealed.split(".")[1];
}

export async function rotateMasterKey(
  store: Pick<SecretStore, "listSealedValues" | "replaceSealedValues">,
  from: MasterKey,
  to: MasterKey,
): Promise<RotationSummary> {
  if (from.id === to.id) throw new RotationError("the new master key is the current master key");
  const refs = await store.listSealedValues();
  const updates: Array<SealedValueRef & { previous: string }> = [];
  const unreadable: string[] = [];
  const summary: RotationSummary = { secrets: 0, signingKeys: 0, alreadyRotated: 0 };
  for (const ref of refs) {
    const aad = aadOf(ref);
    if (masterIdOf(ref.sealed) === to.id) {
      summary.alreadyRotated += 1;
      continue;
    }
    let sealed: string;
    try {
      sealed = rewrap(from, to, ref.sealed, aad);
      // Proves the whole chain (new wrap, untouched body, AAD) before anything is written.
      open(to, sealed, aad).fill(0);
    } catch (err) {
      if (!(err instanceof SealedBoxError)) throw err;
      unreadable.push(label(ref));
      continue;
    }
    updates.push({ ...ref, sealed, previous: ref.sealed });
    if (ref.kind === "secret") summary.secrets += 1;
    else summary.signingKeys += 1;
  }
  if (unreadable.length > 0) {
    const shown = unreadable.slice(0, 10).join(", ");
    throw new RotationError(
      `${unreadable.length} value(s) do not open under the current master key (${shown}${unreadable.length > 10 ? ", …" : ""}); nothing was changed`,
    );
  }
  if (updates.length > 0 && !(await store.replaceSealedValues(updates))) {
    throw new RotationError(
      "the store changed while rotating (a value was written concurrently); nothing was changed — run the command again",
    );
  }
  return summary;
}
