/**
 * A bounded LRU of decoded public keys, keyed by canonical standard base64.
 *
 * Decoding a key runs a subgroup check (~0.5 ms) and builds an OpenSSL KeyObject; the hot path
 * sees the same few keys over and over. The bound matters because keys can come from request
 * data (a token's `cnf.jwk`): an unbounded map would let a caller grow gateway memory at will.
 * Only keys that passed every check are ever stored, so a hit needs no re-validation.
 */

import type { Ed25519PublicKey } from "./ed25519.js";

export const DEFAULT_KEY_CACHE_LIMIT = 10_000;

export class Ed25519KeyCache {
  readonly limit: number;
  readonly #entries = new Map<string, Ed25519PublicKey>();

  constructor(limit: number = DEFAULT_KEY_CACHE_LIMIT) {
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new RangeError("key cache limit must be a positive integer");
    }
    this.limit = limit;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(base64: string): Ed25519PublicKey | undefined {
    const key = this.#entries.get(base64);
    if (key !== undefined) {
      // Map preserves insertion order: re-inserting marks the entry most recently used.
      this.#entries.delete(base64);
      this.#entries.set(base64, key);
    }
    return key;
  }

  set(key: Ed25519PublicKey): void {
    this.#entries.delete(key.base64);
    this.#entries.set(key.base64, key);
    while (this.#entries.size > this.limit) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
  }

  clear(): void {
    this.#entries.clear();
  }
}
