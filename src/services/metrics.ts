import { GatewayError } from "../errors.js";
import { requireRole, type VerbCall } from "./context.js";

/**
 * GET /metrics: this instance's Prometheus text exposition. Any operator role reads it (DESIGN
 * §7); the figures are instance-wide (every tenant's calls counted together, no tenant label),
 * which is why they carry no names, agents or arguments.
 */
export async function readMetrics({ ctx }: VerbCall): Promise<{ contentType: string; body: string }> {
  requireRole(ctx, "viewer");
  const { metrics } = ctx.deps;
  if (!metrics) throw new GatewayError("NOT_FOUND", "metrics are disabled", { reason: "metrics_disabled" });
  return await metrics.render();
}
