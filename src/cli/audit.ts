import { parseArgs } from "node:util";
import { exitCodeFor, verifyChain } from "../audit/verify.js";
import { configOrExit, UsageError, withCore } from "./common.js";

/** `audit verify`: 0 intact, 1 tampering or truncation, 3 intact with an unsealed tail, 4 could not verify. */
export async function auditCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== "verify") throw new UsageError("usage: seal-gateway audit verify [--config FILE]");
  const { values } = parseArgs({
    args: rest,
    options: { config: { type: "string" }, json: { type: "boolean" } },
  });
  const config = configOrExit(values.config);
  let report: Awaited<ReturnType<typeof verifyChain>>;
  try {
    report = await withCore(config, async ({ store, keyring }) => verifyChain(store, keyring.publicKeys()));
  } catch (err) {
    // Not being able to look is not the same finding as tampering: its own exit code.
    process.stderr.write(`seal-gateway: could not verify the audit chain: ${(err as Error).message}\n`);
    return 4;
  }
  process.stdout.write(`${JSON.stringify(report, null, values.json ? 0 : 2)}\n`);
  return exitCodeFor(report);
}
