/**
 * The local upstream as its own process, so that neither the gateway nor the load generator
 * shares an event loop with it: prints its URL on stdout, stops when stdin closes.
 */
import { startUpstream } from "../../test/support/upstream.js";

const up = await startUpstream();
process.stdout.write(`${up.url}\n`);
// The benchmark sends tens of thousands of requests; the recording is for tests only.
setInterval(() => {
  up.requests.length = 0;
}, 1000).unref();
process.stdin.resume();
process.stdin.on("end", () => {
  void up.close().then(() => process.exit(0));
});
