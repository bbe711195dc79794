import { describe, expect, it } from "vitest";
import { parseSecurityContext } from "../../src/policy/context-schema.js";
import { evaluate } from "../../src/policy/evaluate.js";

// RFC seal-v1 §5.3.4, the context and the table verbatim.
const rfcContext = {
  name: "research-safe",
  capabilities: [
    {
      tool_pattern: "fs.*",
      path_allowlist: ["/workspace/shared/*"],
    },
  ],
  deny_list: ["fs.delete"],
};

const table: [
  tool: string,
  args: Record<string, unknown>,
  result: "allow" | "reject",
  code: string | null,
][] = [
  ["fs.read", { path: "/workspace/shared/data.csv" }, "allow", null],
  ["fs.write", { path: "/workspace/shared/output.txt" }, "allow", null],
  ["fs.delete", { path: "/workspace/shared/temp.txt" }, "reject", "TOOL_DENIED"],
  ["fs.read", { path: "/etc/passwd" }, "reject", "PATH_DENIED"],
  ["web.search", { query: "example" }, "reject", "CONTEXT_DENIED"],
];

describe("RFC §5.3.4 example evaluation", () => {
  const parsed = parseSecurityContext(rfcContext);

  it("parses the RFC's example context as written", () => {
    expect(parsed.ok).toBe(true);
  });

  it.each(table)("%s %j → %s (%s)", (tool, args, result, code) => {
    if (!parsed.ok) throw new Error("context did not parse");
    const decision = evaluate(parsed.context, { toolName: tool, arguments: args });
    expect(decision.decision).toBe(result);
    expect(decision.code).toBe(code);
  });

  it("names the rule behind each row", () => {
    if (!parsed.ok) throw new Error("context did not parse");
    const ctx = parsed.context;
    expect(evaluate(ctx, { toolName: "fs.read", arguments: table[0]?.[1] }).rule).toBe("capabilities[0]");
    expect(evaluate(ctx, { toolName: "fs.delete", arguments: table[2]?.[1] }).rule).toBe("deny_list[0]");
    expect(evaluate(ctx, { toolName: "fs.read", arguments: { path: "/etc/passwd" } }).rule).toBe(
      "capabilities[0]",
    );
    expect(evaluate(ctx, { toolName: "web.search", arguments: { query: "example" } }).rule).toBe("default");
  });
});
