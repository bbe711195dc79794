import type { GatewayConfig } from "../config/schema.js";
import type { Logger } from "../log/logger.js";
import type { Tracing } from "./types.js";

/**
 * The tracing of `tracing.*`, or null when it is off. The SDK module is imported only here and
 * only when enabled, so a gateway without tracing never loads it.
 */
export async function startTracing(
  settings: GatewayConfig["tracing"],
  info: { version: string; log: Logger },
): Promise<Tracing | null> {
  if (!settings.enabled) return null;
  const { otelTracing } = await import("./otel.js");
  return otelTracing(settings, info);
}
