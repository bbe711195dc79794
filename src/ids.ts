import { randomBytes } from "node:crypto";

/** Prefixed random ids (`evt_…`, `call_…`, `akey_…`): 128 bits, base64url. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(16).toString("base64url")}`;
}
