/**
 * Browser tests drive Debian's chromium through playwright-core. scripts/chromium.sh installs
 * it when missing; when it cannot, or the browser does not start, the helper throws — a
 * browser test fails, it never skips. The console is built into dist/web first when its
 * build is missing or older than its sources (what `npm run build` does).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type BrowserContext, chromium } from "playwright-core";
import { packageRoot } from "../../src/paths.js";

const run = promisify(execFile);
const root = packageRoot();

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

async function chromiumPath(): Promise<string> {
  try {
    const { stdout } = await run("bash", [join(root, "scripts", "chromium.sh")], {
      timeout: 10 * 60_000,
      maxBuffer: 16 << 20,
    });
    const path = stdout.trim().split("\n").at(-1)?.trim() ?? "";
    if (!existsSync(path)) throw new Error(`scripts/chromium.sh printed ${JSON.stringify(path)}`);
    return path;
  } catch (err) {
    throw new Error("the browser tests need chromium, and scripts/chromium.sh could not provide it", {
      cause: err,
    });
  }
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    const st = statSync(full);
    newest = Math.max(newest, st.isDirectory() ? newestMtime(full) : st.mtimeMs);
  }
  return newest;
}

/** Builds dist/web unless it is newer than every file under web/; one build at a time. */
export async function ensureConsoleBuilt(): Promise<void> {
  const index = join(root, "dist", "web", "index.html");
  const lock = join(root, "dist", ".web-build.lock");
  const fresh = () => existsSync(index) && statSync(index).mtimeMs >= newestMtime(join(root, "web"));
  if (fresh()) return;
  mkdirSync(join(root, "dist"), { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`stale lock ${lock}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    if (fresh()) return;
    await run("npm", ["run", "build:web"], { cwd: root, timeout: 5 * 60_000, maxBuffer: 16 << 20 });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A fresh browser profile (its own --user-data-dir) per call. */
export async function launchBrowser(): Promise<TestBrowser> {
  const executablePath = await chromiumPath();
  const profile = mkdtempSync(join(tmpdir(), "seal-chromium-"));
  let context: BrowserContext;
  try {
    // launchPersistentContext is how Playwright takes a user data dir (it refuses the flag in args).
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 860 },
      timeout: 60_000,
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw new Error("chromium did not start", { cause: err });
  }
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
