import { createPublicKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { evidenceExitCode, verifyEvidence } from "../audit/evidence.js";
import { exitCodeFor, verifyChain } from "../audit/verify.js";
import { configOrExit, UsageError, withCore } from "./common.js";

const USAGE =
  "usage: seal-gateway audit verify [--config FILE] | --evidence FILE [--keys JWKS_FILE | --config FILE]";

/**
 * `audit verify`: 0 intact, 1 tampering or truncation, 3 intact with an unsealed tail (or, for
 * an evidence pack, events not sealed yet), 4 could not verify. With `--evidence` it checks an
 * exported pack: offline against `--keys` (the JWKS of GET /v1/audit/keys), or against the
 * configured gateway's own keys.
 */
export async function auditCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== "verify") throw new UsageError(USAGE);
  const { values } = parseArgs({
    args: rest,
    options: {
      config: { type: "string" },
      json: { type: "boolean" },
      evidence: { type: "string" },
      keys: { type: "string" },
    },
  });
  if (values.keys !== undefined && values.evidence === undefined)
    throw new UsageError(`--keys checks an evidence pack: give --evidence FILE too\n${USAGE}`);
  const print = (report: unknown) =>
    process.stdout.write(`${JSON.stringify(report, null, values.json ? 0 : 2)}\n`);
  if (values.evidence !== undefined)
    return verifyPackFile(values.evidence, values.keys, values.config, print);

  const config = configOrExit(values.config);
  let report: Awaited<ReturnType<typeof verifyChain>>;
  try {
    report = await withCore(config, async ({ store, keyring }) => verifyChain(store, keyring.publicKeys()));
  } catch (err) {
    // Not being able to look is not the same finding as tampering: its own exit code.
    process.stderr.write(`seal-gateway: could not verify the audit chain: ${(err as Error).message}\n`);
    return 4;
  }
  print(report);
  return exitCodeFor(report);
}

async function verifyPackFile(
  file: string,
  keysFile: string | undefined,
  configFile: string | undefined,
  print: (report: unknown) => void,
): Promise<number> {
  let pack: unknown;
  let keys: Map<string, KeyObject>;
  try {
    pack = readJson(file, "evidence pack");
    if (keysFile !== undefined) keys = jwksKeys(readJson(keysFile, "key set"));
    else {
      const config = configOrExit(configFile);
      keys = await withCore(config, async ({ keyring }) => keyring.publicKeys());
    }
  } catch (err) {
    process.stderr.write(`seal-gateway: could not verify the evidence pack: ${(err as Error).message}\n`);
    return 4;
  }
  const report = verifyEvidence(pack, keys);
  print(report);
  return evidenceExitCode(report);
}

/** Files an auditor is handed: bounded, and JSON or a clear error. */
const MAX_FILE_BYTES = 256 * 1024 * 1024;

function readJson(file: string, what: string): unknown {
  const bytes = readFileSync(file);
  if (bytes.length > MAX_FILE_BYTES)
    throw new Error(`the ${what} ${file} is larger than ${MAX_FILE_BYTES} bytes`);
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new Error(`the ${what} ${file} is not JSON`);
  }
}

/** Ed25519 keys of a JWKS (`{keys:[{kty:"OKP",crv:"Ed25519",x,kid}]}`); anything else is refused. */
function jwksKeys(doc: unknown): Map<string, KeyObject> {
  const list = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list) || list.length === 0) throw new Error("the key set has no keys (expected a JWKS)");
  const keys = new Map<string, KeyObject>();
  for (const k of list as Record<string, unknown>[]) {
    if (k?.kty !== "OKP" || k.crv !== "Ed25519" || typeof k.x !== "string" || typeof k.kid !== "string")
      throw new Error("the key set holds a key that is not an Ed25519 JWK with a kid");
    try {
      keys.set(k.kid, createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: k.x }, format: "jwk" }));
    } catch {
      throw new Error(`key ${k.kid} of the key set is not a valid Ed25519 public key`);
    }
  }
  return keys;
}
