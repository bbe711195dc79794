/**
 * The in-process way into the admission path: the gateway's HTTP app (Hono's router, the
 * Request/Response objects, the body reader, then the invoke pipeline), without a socket.
 * Going through the app rather than constructing the pipeline keeps the benchmark measuring
 * exactly what `buildGateway` wires, whatever the pipeline's dependencies become.
 */
import type { Fixture } from "./fixture.js";
import type { Sender } from "./measure.js";

type Answer = { error?: { code?: number; details?: { reason?: string } } };

export function appSender(fx: Fixture): Sender {
  return async (body) => {
    const res = await fx.gw.app.request("/v1/invoke", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    const answer = (await res.json()) as Answer;
    return { status: res.status, code: answer.error?.code, reason: answer.error?.details?.reason };
  };
}
