import { describe, expect, it } from "vitest";
import { closest, scrubSecrets } from "../../src/config/problems.js";

describe("scrubSecrets", () => {
  it("cuts a secret out of any message that would contain it", () => {
    const scrubbed = scrubSecrets(
      [{ path: "a", message: "bad value s3cr3t-value here, s3cr3t-value again" }],
      ["s3cr3t-value"],
    );
    expect(scrubbed).toEqual([{ path: "a", message: "bad value [redacted] here, [redacted] again" }]);
  });

  it("leaves very short values alone so ordinary words are not mangled", () => {
    const problems = [{ path: "a", message: "expected true or false" }];
    expect(scrubSecrets(problems, ["true", "or"])).toEqual(problems);
  });
});

describe("closest", () => {
  it("suggests a near miss and nothing for unrelated names", () => {
    expect(closest("prot", ["host", "port"])).toBe("port");
    expect(closest("freshnes_seconds", ["freshness_seconds", "issuers"])).toBe("freshness_seconds");
    expect(closest("completely_different", ["port", "host"])).toBeUndefined();
  });
});
