import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  batchRoot,
  hashLeaf,
  rowInBatch,
  rowProof,
  treePath,
  treeRoot,
  verifyPath,
} from "../../src/audit/merkle.js";

// RFC 6962's reference inputs and tree heads (the Certificate Transparency test data).
const DATA = [
  "",
  "00",
  "10",
  "2021",
  "3031",
  "40414243",
  "5051525354555657",
  "606162636465666768696a6b6c6d6e6f",
];
const ROOTS = [
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];
const INCLUSION = [
  {
    index: 0,
    proof: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    index: 5,
    proof: [
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
];
const LEAVES = DATA.map((h) => hashLeaf(Buffer.from(h, "hex")));
const hex = (b: Buffer) => b.toString("hex");

describe("Merkle tree hash (RFC 9162 §2.1)", () => {
  it("gives the reference tree head for every size 0..8", () => {
    for (let n = 0; n <= 8; n++) expect(hex(treeRoot(LEAVES.slice(0, n))), `size ${n}`).toBe(ROOTS[n]);
  });

  it("gives the reference inclusion proofs, and they verify", () => {
    const root = treeRoot(LEAVES);
    for (const { index, proof } of INCLUSION) {
      expect(treePath(LEAVES, index).map(hex)).toEqual(proof);
      const leaf = LEAVES[index] as Buffer;
      expect(
        verifyPath(
          leaf,
          index,
          8,
          proof.map((p) => Buffer.from(p, "hex")),
          root,
        ),
      ).toBe(true);
    }
  });

  const rows = Array.from({ length: 37 }, (_, i) => createHash("sha256").update(`row-${i}`).digest("hex"));

  it("proves every row of every batch size, and nothing else", () => {
    for (let n = 1; n <= rows.length; n++) {
      const batch = rows.slice(0, n);
      const root = batchRoot(batch);
      for (let i = 0; i < n; i++) {
        const proof = rowProof(batch, i);
        expect(rowInBatch(batch[i], i, n, proof, root), `${i}/${n}`).toBe(true);
        // Another index, another size, another row, a changed sibling: no longer a proof.
        if (n > 1) {
          expect(rowInBatch(batch[i], (i + 1) % n, n, proof, root)).toBe(false);
          expect(rowInBatch(batch[(i + 1) % n], i, n, proof, root)).toBe(false);
          const bent = [...proof];
          bent[0] = rows[36] as string;
          expect(rowInBatch(batch[i], i, n, bent, root)).toBe(false);
        }
        // (The size is not bound by the root alone — a proof can also fit a larger tree whose
        // root it equals — so the verifier takes the size from the signed checkpoint.)
        expect(rowInBatch(batch[i], i, n, [...proof, rows[0]], root)).toBe(false);
      }
    }
  });

  it("refuses malformed proofs rather than throwing", () => {
    const batch = rows.slice(0, 5);
    const root = batchRoot(batch);
    const proof = rowProof(batch, 2);
    for (const [h, i, n, p, r] of [
      ["zz", 2, 5, proof, root],
      [batch[2], -1, 5, proof, root],
      [batch[2], 2.5, 5, proof, root],
      [batch[2], 5, 5, proof, root],
      [batch[2], 2, Number.MAX_VALUE, proof, root],
      [batch[2], "2", 5, proof, root],
      [batch[2], 2, 5, "not a list", root],
      [batch[2], 2, 5, [...proof.slice(0, -1), 7], root],
      [batch[2], 2, 5, Array(65).fill(proof[0]), root],
      [batch[2], 2, 5, proof, root.toUpperCase()],
      [batch[2], 2, 5, proof, null],
    ] as const)
      expect(rowInBatch(h, i, n, p, r)).toBe(false);
    expect(() => batchRoot([])).toThrow(RangeError);
  });
});
