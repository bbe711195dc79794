import { describe, expect, it } from "vitest";
import { newId, newTimeOrderedId } from "../../src/ids.js";

describe("newId", () => {
  it("gives 128-bit base64url ids with the prefix, none repeated across pool refills", () => {
    const ids = Array.from({ length: 2000 }, () => newId("evt"));
    for (const id of ids) expect(id).toMatch(/^evt_[A-Za-z0-9_-]{22}$/);
    expect(new Set(ids).size).toBe(ids.length);
    const raw = ids.map((id) => Buffer.from(id.slice(4), "base64url"));
    for (const b of raw) expect(b).toHaveLength(16);
  });
});

describe("newTimeOrderedId", () => {
  const T = Date.UTC(2026, 11, 7, 12, 0, 0, 0);

  it("has newId's shape: the prefix and 22 characters of base64url's alphabet", () => {
    for (let i = 0; i < 500; i++) expect(newTimeOrderedId("evt", T + i)).toMatch(/^evt_[A-Za-z0-9_-]{22}$/);
  });

  it("sorts as strings (bytewise, as a SQL text index does) by the millisecond it was made in", () => {
    const times = [0, 1, 63, 64, 4095, 4096, 2 ** 32, 2 ** 40, T - 1, T, T + 1, T + 1000, 2 ** 48 - 1];
    const ids = times.map((t) => newTimeOrderedId("evt", t));
    const sorted = [...ids].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(sorted).toEqual(ids);
    // Adjacent milliseconds differ in the time digits, whatever the random part.
    expect(newTimeOrderedId("evt", T).slice(0, 12) < newTimeOrderedId("evt", T + 1).slice(0, 12)).toBe(true);
  });

  it("keeps ids of one millisecond unique, across pool refills", () => {
    const ids = Array.from({ length: 5000 }, () => newTimeOrderedId("evt", T));
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids.map((id) => id.slice(0, 12))).size).toBe(1);
    // The random part uses all 64 characters (6 random bits per character).
    const chars = new Set(ids.flatMap((id) => id.slice(12).split("")));
    expect(chars.size).toBe(64);
  });

  it("clamps a clock outside 48 bits instead of failing the write it is for", () => {
    expect(newTimeOrderedId("evt", -5).slice(0, 12)).toBe(newTimeOrderedId("evt", 0).slice(0, 12));
    expect(newTimeOrderedId("evt", Number.NaN).slice(0, 12)).toBe("evt_--------");
    expect(newTimeOrderedId("evt", 2 ** 60).slice(0, 12)).toBe("evt_zzzzzzzz");
    expect(newTimeOrderedId("evt", T + 0.7).slice(0, 12)).toBe(newTimeOrderedId("evt", T).slice(0, 12));
  });
});
