import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { generateKeyPair } from "../sdk/keys.js";

/** `keygen [--out FILE]`: a new Ed25519 key pair; with --out, an owner-only file that must not exist. */
export async function keygenCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { out: { type: "string" } } });
  const pair = generateKeyPair();
  const json = JSON.stringify({ public_key_b64: pair.publicKeyB64, private_key_b64: pair.privateKeyB64 });
  if (values.out) {
    writeFileSync(values.out, `${json}\n`, { mode: 0o600, flag: "wx" });
    process.stdout.write(`${JSON.stringify({ public_key_b64: pair.publicKeyB64, key_file: values.out })}\n`);
  } else {
    process.stdout.write(`${json}\n`);
  }
  return 0;
}
