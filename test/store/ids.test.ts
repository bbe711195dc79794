import { describe, expect, it } from "vitest";
import { newId } from "../../src/ids.js";

describe("newId", () => {
  it("gives 128-bit base64url ids with the prefix, none repeated across pool refills", () => {
    const ids = Array.from({ length: 2000 }, () => newId("evt"));
    for (const id of ids) expect(id).toMatch(/^evt_[A-Za-z0-9_-]{22}$/);
    expect(new Set(ids).size).toBe(ids.length);
    const raw = ids.map((id) => Buffer.from(id.slice(4), "base64url"));
    for (const b of raw) expect(b).toHaveLength(16);
  });
});
