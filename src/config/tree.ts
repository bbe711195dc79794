export type PlainRecord = Record<string, unknown>;

export function isPlainRecord(value: unknown): value is PlainRecord {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Assigns an own property even for a key such as `__proto__` (which YAML can produce):
 * plain assignment would change the object's prototype instead of storing the key, and
 * the strict schema would then never see it.
 */
export function defineKey(target: PlainRecord, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Sets `value` at `path`, creating missing objects. Returns false, leaving the tree as it is,
 * when an intermediate value is not an object: the schema then reports that value itself.
 */
export function setAtPath(root: PlainRecord, path: readonly string[], value: unknown): boolean {
  let node: PlainRecord = root;
  for (const [index, key] of path.entries()) {
    if (index === path.length - 1) {
      defineKey(node, key, value);
      return true;
    }
    const next = Object.hasOwn(node, key) ? node[key] : undefined;
    if (next === undefined) {
      const created: PlainRecord = {};
      defineKey(node, key, created);
      node = created;
    } else if (isPlainRecord(next)) {
      node = next;
    } else {
      return false;
    }
  }
  return false;
}
