import { describe, expect, it } from "vitest";
import { parseDuration } from "../../src/config/duration.js";

describe("parseDuration", () => {
  it.each([
    ["30s", 30],
    ["15m", 900],
    ["1h", 3600],
    ["24h", 86_400],
    ["1d", 86_400],
    ["1h30m", 5400],
    [" 2m ", 120],
  ])("parses %j as %i seconds", (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each([
    "",
    "0s",
    "0h0m",
    "3600",
    "1",
    "h",
    "1 h",
    "1H",
    "-1h",
    "1.5h",
    "1w",
    "1ms",
    "1h-",
    "1e3s",
    "9999999s",
  ])("refuses %j", (text) => {
    expect(parseDuration(text)).toBeNull();
  });

  it("does not cap the value itself (the schema caps token_ttl at 24h)", () => {
    expect(parseDuration("25h")).toBe(90_000);
  });
});
