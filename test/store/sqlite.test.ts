import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { openStore } from "../../src/store/open.js";
import { runStoreContract } from "./contract.js";
import { runMultiInstanceContract } from "./contract-multi.js";
import { uid } from "./fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "seal-store-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A file database in WAL mode: the embedded default, as deployed.
runStoreContract("sqlite (file, WAL)", () =>
  openStore({ url: `sqlite://${join(dir, uid("db"), "gateway.db")}`, durability: "normal" }),
);

runStoreContract("sqlite (:memory:, durability full)", () =>
  openStore({ url: "sqlite://:memory:", durability: "full" }),
);

runMultiInstanceContract("sqlite (one file, several connections)", async () => {
  const url = `sqlite://${join(dir, uid("shared"), "gateway.db")}`;
  return { open: () => openStore({ url, durability: "normal" }), drop: async () => {} };
});
