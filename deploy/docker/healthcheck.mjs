// The image's HEALTHCHECK: GET /ready on the port the gateway's own configuration names (the
// same file and SEAL_GATEWAY_* variables `start` reads). Exit 0 when it answers 200.
import { loadConfig } from "../../dist/src/config/load.js";

const loaded = loadConfig();
if (!loaded.ok) {
  console.error("healthcheck: the configuration does not load");
  process.exit(1);
}
const { host, port } = loaded.config.server;
const target = ["0.0.0.0", "::", "[::]"].includes(host) ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
try {
  const res = await fetch(`http://${target}:${port}/ready`, { signal: AbortSignal.timeout(4000) });
  if (res.status !== 200) {
    console.error(`healthcheck: /ready answered ${res.status}`);
    process.exit(1);
  }
} catch (err) {
  console.error(`healthcheck: /ready did not answer (${err instanceof Error ? err.message : String(err)})`);
  process.exit(1);
}
