import { describe, expect, it } from "vitest";
import { SecurityContext } from "../../src/policy/context-schema.js";
import { visibleTools } from "../../src/policy/evaluate.js";

const tools = ["fs.read", "fs.delete", "fsck", "billing.list", "billing.refund", "web.fetch", "explorer"];

describe("visibleTools", () => {
  it("defaults to the tools some capability's pattern matches, minus the deny list", () => {
    const ctx = SecurityContext.parse({
      name: "c",
      deny_list: ["fs.delete"],
      capabilities: [{ tool_pattern: "fs.*", path_allowlist: ["/nowhere"] }, { tool_pattern: "explorer" }],
    });
    expect(visibleTools(ctx, tools)).toEqual(["fs.read", "explorer"]);
  });

  it("uses visible_tools when set, which may show tools no capability allows", () => {
    const ctx = SecurityContext.parse({
      name: "c",
      deny_list: ["billing.refund"],
      capabilities: [{ tool_pattern: "billing.list" }],
      visible_tools: ["billing.*", "web.fetch"],
    });
    expect(visibleTools(ctx, tools)).toEqual(["billing.list", "web.fetch"]);
  });

  it("shows nothing for an empty visible_tools or an empty context", () => {
    expect(
      visibleTools(
        SecurityContext.parse({ name: "c", capabilities: [{ tool_pattern: "*" }], visible_tools: [] }),
        tools,
      ),
    ).toEqual([]);
    expect(visibleTools(SecurityContext.parse({ name: "c", capabilities: [] }), tools)).toEqual([]);
  });

  it("respects the session's allowed_tool_patterns", () => {
    const ctx = SecurityContext.parse({ name: "c", capabilities: [{ tool_pattern: "*" }] });
    expect(visibleTools(ctx, tools, { sessionToolPatterns: ["fs.*"] })).toEqual(["fs.read", "fs.delete"]);
    expect(visibleTools(ctx, tools, { sessionToolPatterns: ["*"] })).toEqual(tools);
  });
});
