#!/usr/bin/env node
import { runCli } from "./cli/index.js";

// The `seal-gateway` command (bin/seal-gateway.js imports this file); see src/cli/index.ts.
await runCli(process.argv.slice(2));
