/**
 * The argv policy: whole-token subcommands (2003 COMMAND_DENIED), generic limits, and the
 * injection vectors of each shipped profile, in every spelling a CLI accepts (`--flag`,
 * `--flag=value`, abbreviations where the CLI takes them, bundled short flags, attached values,
 * after `--`). Each refused case is paired with ordinary calls that must still pass.
 */
import { describe, expect, it } from "vitest";
import { ARGV_LIMITS, checkArgv } from "../../../src/engines/cli/argv-policy.js";
import { type ArgvProfileName, argvRules, denyFlagProblem } from "../../../src/engines/cli/argv-profiles.js";
import { isGatewayError } from "../../../src/errors.js";

function outcome(
  profile: ArgvProfileName | undefined,
  args: string[],
  subcommand = "run",
  extra: string[] = [],
) {
  try {
    checkArgv([subcommand, "run"], argvRules(profile, extra), { subcommand, args });
    return "ok";
  } catch (err) {
    if (!isGatewayError(err)) throw err;
    return `${err.code}:${err.details.reason}`;
  }
}

const REFUSED = "INVALID_ARGUMENTS:argument_refused";

describe("subcommands", () => {
  it("matches whole tokens only", () => {
    const run = (subcommand: string) => {
      try {
        return checkArgv(["status", "log"], argvRules("git", []), { subcommand, args: [] });
      } catch (err) {
        return isGatewayError(err) ? `${err.code}:${err.details.reason}` : "bug";
      }
    };
    expect(run("log")).toEqual(["log"]);
    for (const bad of ["push", "logx", "lo", "log ", " log", "log --exec=sh", "LOG", ""]) {
      expect(run(bad), bad).toBe("COMMAND_DENIED:subcommand_not_allowed");
    }
  });

  it("returns argv as subcommand then arguments, untouched", () => {
    expect(
      checkArgv(["log"], argvRules("git", []), { subcommand: "log", args: ["--oneline", "-n", "3"] }),
    ).toEqual(["log", "--oneline", "-n", "3"]);
  });
});

describe("generic rules (any tool)", () => {
  it("refuses NUL bytes and control characters, allows tab and newline", () => {
    expect(outcome(undefined, ["a\u0000b"])).toBe(REFUSED);
    for (const c of ["\u0001", "\u001b[2J", "\r", "\u007f", "\u0085", "\u009b"]) {
      expect(outcome(undefined, [`x${c}y`]), JSON.stringify(c)).toBe(REFUSED);
    }
    expect(outcome(undefined, [".a |\n\t.b"])).toBe("ok");
  });

  it("bounds each argument, the count and the total size", () => {
    expect(outcome(undefined, ["a".repeat(ARGV_LIMITS.maxArgBytes)])).toBe("ok");
    expect(outcome(undefined, ["a".repeat(ARGV_LIMITS.maxArgBytes + 1)])).toBe(REFUSED);
    // Bytes, not characters: 2,049 two-byte characters are over 4,096 bytes.
    expect(outcome(undefined, ["é".repeat(2049)])).toBe(REFUSED);
    expect(outcome(undefined, Array(ARGV_LIMITS.maxArgs).fill("a"))).toBe("ok");
    expect(outcome(undefined, Array(ARGV_LIMITS.maxArgs + 1).fill("a"))).toBe(REFUSED);
    expect(outcome(undefined, Array(17).fill("a".repeat(4000)))).toBe(REFUSED);
  });

  it("applies a registration's own deny_flags in every spelling", () => {
    const extra = ["--danger", "-z"];
    for (const args of [["--danger"], ["--danger=1"], ["-z"], ["-az"], ["-zfile"], ["--", "--danger"]]) {
      expect(outcome(undefined, args, "run", extra), args.join(" ")).toBe(REFUSED);
    }
    // No abbreviations without a profile saying the CLI takes them.
    expect(outcome(undefined, ["--dang", "-a", "--dangerous"], "run", extra)).toBe("ok");
  });

  it("validates deny_flags entries", () => {
    expect(denyFlagProblem("-x")).toBeNull();
    expect(denyFlagProblem("--upload-pack")).toBeNull();
    for (const bad of ["x", "-", "--", "-xy", "--a b", "---x", "--x="])
      expect(denyFlagProblem(bad), bad).not.toBeNull();
  });
});

describe("git profile", () => {
  const refused = [
    ["-c", "core.sshCommand=touch /tmp/pwned"],
    ["-ccore.pager=sh"],
    ["--config=core.hooksPath=/tmp"],
    ["-C", "/"],
    ["--git-dir=/etc"],
    ["--work-tree", "/"],
    ["--upload-pack=touch /tmp/x", "origin"],
    ["--upload-pack", "sh"],
    ["--upload-p=sh"], // git accepts unique prefixes of long options
    ["--receive-pack=sh"],
    ["--exec=sh -c id"],
    ["--exe", "id"],
    ["-x", "id"],
    ["--output=/tmp/out"],
    ["--outp=/tmp/out"],
    ["-o", "/tmp/dir"],
    ["-po"], // bundled short flags
    ["-O", "less"],
    ["-Ovim"],
    ["--open-files-in-pager=vim"],
    ["--template=/tmp/hooks"],
    ["ext::sh -c touch% /tmp/pwned"],
    ["fd::17"],
    ["--", "--upload-pack=sh"], // after "--" too
  ];
  for (const args of refused) {
    it(`refuses ${JSON.stringify(args)}`, () => expect(outcome("git", args, "log")).toBe(REFUSED));
  }

  it("passes ordinary log, status and diff arguments", () => {
    for (const args of [
      ["--oneline", "-n", "5"],
      ["--format=%H %s", "--since=2.weeks"],
      ["-p", "--stat", "HEAD~3..HEAD"],
      ["--", "src/main.ts"],
      ["--color=never", "--no-merges"],
      ["--grep=fix", "--author=ada@example.com"],
    ]) {
      expect(outcome("git", args, "log"), args.join(" ")).toBe("ok");
    }
  });
});

describe("curl profile", () => {
  const refused = [
    ["-o", "/tmp/x", "http://h/"],
    ["--output=/tmp/x", "http://h/"],
    ["-so/tmp/x", "http://h/"],
    ["-O", "http://h/f"],
    ["-K", "/tmp/cfg"],
    ["--config=/tmp/cfg"],
    ["-T", "/etc/passwd", "http://h/"],
    ["--upload-file=/etc/passwd", "http://h/"],
    ["--proto", "=all", "http://h/"],
    ["--proto-redir=all", "http://h/"],
    ["-x", "http://evil:8080", "http://h/"],
    ["--proxy=socks5://evil", "http://h/"],
    ["--socks5-hostname", "evil:1080", "http://h/"],
    ["--resolve", "h:80:10.0.0.1", "http://h/"],
    ["--connect-to=h:80:evil:80", "http://h/"],
    ["--unix-socket", "/var/run/docker.sock", "http://h/"],
    ["-d", "@/etc/passwd", "http://h/"],
    ["-d@/etc/passwd", "http://h/"],
    ["--data-binary=@/etc/passwd", "http://h/"],
    ["-F", "f=@/etc/passwd", "http://h/"],
    ["-F", "f=</etc/passwd", "http://h/"],
    ["-H", "@/tmp/headers", "http://h/"],
    ["--data-urlencode", "x@/etc/passwd", "http://h/"],
    ["-b", "/tmp/cookies", "http://h/"],
    ["-D", "/tmp/h", "http://h/"],
    ["--trace", "/tmp/t", "http://h/"],
    ["-w", "%output{/tmp/x}", "http://h/"],
    ["file:///etc/passwd"],
    ["gopher://127.0.0.1:6379/_FLUSHALL"],
    ["--url=dict://h:11211/stat"],
    ["http://h/", "--", "-o/tmp/x"],
  ];
  for (const args of refused) {
    it(`refuses ${JSON.stringify(args)}`, () => expect(outcome("curl", args, "-sS")).toBe(REFUSED));
  }

  it("passes ordinary requests", () => {
    for (const args of [
      ["https://api.example.com/v1/items?id=1"],
      ["-X", "POST", "-H", "Content-Type: application/json", "-d", '{"a":1}', "https://h/x"],
      ["--max-time", "5", "-fsSL", "http://user:pw@h/"],
      ["-I", "HTTPS://h/"],
    ]) {
      expect(outcome("curl", args, "-sS"), args.join(" ")).toBe("ok");
    }
  });
});

describe("jq profile", () => {
  const refused = [
    ["--rawfile", "x", "/etc/passwd", "."],
    ["--slurpfile", "x", "/etc/passwd", "."],
    ["--argfile", "x", "/etc/passwd", "."],
    ["-f", "/tmp/prog.jq"],
    ["--from-file=/tmp/prog.jq"],
    ["-rf", "/tmp/prog.jq"],
    ["-L", "/tmp", "."],
    ["-L/tmp", "."],
    ['import "x" as $x; .'],
    ['include "lib"; .'],
    ["--", "--rawfile", "x", "/etc/passwd"],
  ];
  for (const args of refused) {
    it(`refuses ${JSON.stringify(args)}`, () => expect(outcome("jq", args, "-r")).toBe(REFUSED));
  }

  it("passes ordinary filters", () => {
    for (const args of [
      [".items[] | .name"],
      ["--arg", "n", "ada", ".[] | select(.name == $n)"],
      ["-c", "--argjson", "x", "1", '{"include": .a, "import": 1}'],
      ["-n", "[limit(3; range(10))]"],
    ]) {
      expect(outcome("jq", args, "-r"), args.join(" ")).toBe("ok");
    }
  });
});
