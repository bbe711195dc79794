import { hash } from "node:crypto";

/**
 * The Merkle tree hash of RFC 9162 §2.1 (Certificate Transparency v2) over one sealing batch's
 * row hashes. A checkpoint signs its batch's root, so one row is proven part of the signed
 * chain by its own content, its prev_hash and about log2(batch) sibling hashes — without
 * handing out any other row (another tenant's) the way walking the linear chain would.
 *
 * Leaves and nodes are domain-separated (0x00 / 0x01 prefixes), so a node can never be passed
 * off as a leaf. Hashes travel as lowercase hex.
 */

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);
const EMPTY = Buffer.alloc(0);

/** The leaf hash: SHA-256(0x00 || data). */
export function hashLeaf(data: Uint8Array): Buffer {
  return hash("sha256", Buffer.concat([LEAF, data]), "buffer");
}

function hashNode(left: Buffer, right: Buffer): Buffer {
  return hash("sha256", Buffer.concat([NODE, left, right]), "buffer");
}

/** The largest power of two smaller than n (n ≥ 2): RFC 9162's split point k. */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function mth(leaves: readonly Buffer[], lo: number, hi: number): Buffer {
  const n = hi - lo;
  if (n === 1) return leaves[lo] as Buffer;
  const k = split(n);
  return hashNode(mth(leaves, lo, lo + k), mth(leaves, lo + k, hi));
}

/** MTH(D[n]) from the leaf hashes; the empty tree's is SHA-256 of nothing. */
export function treeRoot(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return hash("sha256", EMPTY, "buffer");
  return mth(leaves, 0, leaves.length);
}

function pathOf(leaves: readonly Buffer[], m: number, lo: number, hi: number, out: Buffer[]): void {
  const n = hi - lo;
  if (n === 1) return;
  const k = split(n);
  if (m < k) {
    pathOf(leaves, m, lo, lo + k, out);
    out.push(mth(leaves, lo + k, hi));
  } else {
    pathOf(leaves, m - k, lo + k, hi, out);
    out.push(mth(leaves, lo, lo + k));
  }
}

/** PATH(m, D[n]) (RFC 9162 §2.1.3.1): the sibling hashes from leaf m up to the root. */
export function treePath(leaves: readonly Buffer[], index: number): Buffer[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length)
    throw new RangeError(`leaf ${index} is outside a tree of ${leaves.length}`);
  const out: Buffer[] = [];
  pathOf(leaves, index, 0, leaves.length, out);
  return out;
}

/** Verifies an inclusion proof (RFC 9162 §2.1.3.2): `leaf` is leaf `index` of `size` under `root`. */
export function verifyPath(
  leaf: Buffer,
  index: number,
  size: number,
  proof: readonly Buffer[],
  root: Buffer,
): boolean {
  if (!Number.isSafeInteger(size) || !Number.isSafeInteger(index) || index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = hashNode(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = hashNode(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}

// The audit chain's use: leaves are the rows' hashes (32 bytes, hex in the store).

const HEX64 = /^[0-9a-f]{64}$/;
const rowLeaves = (rowHashes: readonly string[]) => rowHashes.map((h) => hashLeaf(Buffer.from(h, "hex")));

/** The root a checkpoint signs over its batch's row hashes, in chain order. */
export function batchRoot(rowHashes: readonly string[]): string {
  if (rowHashes.length === 0) throw new RangeError("a sealing batch is never empty");
  return treeRoot(rowLeaves(rowHashes)).toString("hex");
}

/** The inclusion proof of the batch's `index`-th row. */
export function rowProof(rowHashes: readonly string[], index: number): string[] {
  return treePath(rowLeaves(rowHashes), index).map((b) => b.toString("hex"));
}

/** True when `rowHash` is row `index` of a batch of `size` rows whose root is `root`; malformed is false. */
export function rowInBatch(
  rowHash: unknown,
  index: unknown,
  size: unknown,
  proof: unknown,
  root: unknown,
): boolean {
  if (typeof rowHash !== "string" || !HEX64.test(rowHash)) return false;
  if (typeof root !== "string" || !HEX64.test(root)) return false;
  if (typeof index !== "number" || typeof size !== "number") return false;
  if (!Array.isArray(proof) || proof.length > 64) return false;
  if (!proof.every((p): p is string => typeof p === "string" && HEX64.test(p))) return false;
  return verifyPath(
    hashLeaf(Buffer.from(rowHash, "hex")),
    index,
    size,
    proof.map((p) => Buffer.from(p, "hex")),
    Buffer.from(root, "hex"),
  );
}
