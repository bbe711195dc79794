import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "../log/logger.js";
import type { PlainJson } from "../seal/json.js";
import type { RegisteredTool } from "../tools/registry.js";
import { dereferenceSchema } from "../tools/schema-deref.js";

/**
 * Registered tools as MCP `Tool`s: names as registered (registration keeps them within what
 * MCP clients accept, docs/mcp.md), input schemas without `$ref`, the effect hints the gateway
 * knows, and the output schema when the tool declares one.
 */

/** What MCP clients accept as a tool name (the 2025-11-25 rule, with the 64-character cap many clients apply). */
export const MCP_TOOL_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

type Obj = { [key: string]: PlainJson };

/** MCP requires `type: "object"` at the root of input and output schemas. */
function objectRooted(schema: PlainJson): Obj {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return { type: "object" };
  if (schema.type === "object") return schema;
  // Arguments are always an object (the envelope requires it): saying so narrows nothing.
  if (schema.type === undefined) return { ...schema, type: "object" };
  return { type: "object", allOf: [schema] };
}

// Inlining is pure in the definition: remembered per definition hash, as listings repeat.
const inlined = new Map<string, PlainJson | null>();

function inlinedInput(tool: RegisteredTool, log: Logger): PlainJson | null {
  const key = `${tool.definitionHash}\u0000${tool.name}`;
  const hit = inlined.get(key);
  if (hit !== undefined) return hit;
  const r = dereferenceSchema(tool.inputSchema);
  if (!r.ok)
    log.warn("a tool's input schema cannot be listed without $ref", { tool: tool.name, problem: r.message });
  const value = r.ok ? r.schema : null;
  if (inlined.size > 2000) inlined.clear();
  inlined.set(key, value);
  return value;
}

export async function toMcpTool(tool: RegisteredTool, log: Logger): Promise<Tool | null> {
  if (!MCP_TOOL_NAME.test(tool.name)) {
    log.warn("a tool name MCP clients cannot accept is left out of tools/list", {
      tool: tool.name.slice(0, 80),
    });
    return null;
  }
  const input = inlinedInput(tool, log);
  // Stored before registration refused recursive schemas: shown nowhere rather than wrongly.
  if (input === null) return null;
  const out: Tool = {
    name: tool.name,
    description: tool.description,
    inputSchema: objectRooted(input) as Tool["inputSchema"],
  };
  if (tool.outputSchema !== undefined) {
    const o = dereferenceSchema(tool.outputSchema);
    if (o.ok) out.outputSchema = objectRooted(o.schema) as Tool["outputSchema"];
  }
  // Hints are advice; a spec that cannot be read now leaves them out, not the tool.
  const hints = tool.hints ? await tool.hints().catch(() => ({})) : {};
  if (Object.keys(hints).length > 0) out.annotations = hints;
  return out;
}

export async function toMcpTools(tools: readonly RegisteredTool[], log: Logger): Promise<Tool[]> {
  const listed = await Promise.all(tools.map((t) => toMcpTool(t, log)));
  return listed.filter((t): t is Tool => t !== null);
}
