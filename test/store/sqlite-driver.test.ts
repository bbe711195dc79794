import { describe, expect, it } from "vitest";
import { driverRisk, sqliteDriverName, sqliteDriverRisk } from "../../src/store/sqlite/driver.js";

/** Which better-sqlite3 is loaded, and the warning for Node 24 without the optional 13. */
describe("sqlite driver choice", () => {
  it("loads 13 where the runtime has Node-API 10, and 12 elsewhere; no warning either way", () => {
    const napi = Number(process.versions.napi);
    expect(sqliteDriverName).toBe(napi >= 10 ? "better-sqlite3-napi" : "better-sqlite3");
    expect(sqliteDriverRisk).toBeNull();
  });

  it("warns when 12 had to be loaded on a runtime that needs 13 (installed with --omit=optional)", () => {
    expect(driverRisk("better-sqlite3", 10)).toMatch(/better-sqlite3-napi.*not installed.*--omit=optional/);
    expect(driverRisk("better-sqlite3", 9)).toBeNull();
    expect(driverRisk("better-sqlite3-napi", 10)).toBeNull();
  });
});
