/**
 * Built-in argument rules for the CLIs the gateway ships example tools for. They are data:
 * a registration names a profile and may add its own `deny_flags`. Each entry is here because
 * the flag lets a caller run another program, read or write files the tool was not meant to
 * touch, or send traffic somewhere else than the arguments say. The lists err toward refusal:
 * a flag that is harmless for one subcommand and dangerous for another is refused for all
 * (e.g. git's `-c` is "combined diff" for `log` but "set config" for `clone`).
 */

export interface ArgvRules {
  /** `--long` and `-x` flags, matched as `--long`, `--long=value` and inside `-abx` bundles. */
  denyFlags: readonly string[];
  /** The CLI accepts unique prefixes of long options (`--upload-p`), so prefixes are refused. */
  longAbbreviations: boolean;
  /** Values that make the CLI read a file: `@file`, `name=@file`, `<file` (curl). */
  denyFileReferences: boolean;
  /** When set, a `scheme://` URL anywhere in an argument must use one of these schemes. */
  urlSchemes: readonly string[] | null;
  /** Regular expressions (source text) an argument must not match. */
  denyPatterns: readonly string[];
}

export const ARGV_PROFILE_NAMES = ["git", "curl", "jq"] as const;
export type ArgvProfileName = (typeof ARGV_PROFILE_NAMES)[number];

const NONE: ArgvRules = {
  denyFlags: [],
  longAbbreviations: false,
  denyFileReferences: false,
  urlSchemes: null,
  denyPatterns: [],
};

export const ARGV_PROFILES: Readonly<Record<ArgvProfileName, ArgvRules>> = {
  git: {
    ...NONE,
    denyFlags: [
      "-c", // clone/init: set any config key (core.sshCommand, core.hooksPath → run programs)
      "--config",
      "-C", // change directory to anywhere the container can see
      "--git-dir",
      "--work-tree",
      "--upload-pack", // fetch/clone/ls-remote: the program run on the "remote" side
      "-u", // clone/ls-remote alias of --upload-pack
      "--receive-pack", // push: same, the other direction
      "--exec", // rebase/archive: run a command
      "-x", // rebase -x: alias of --exec
      "--output", // diff/log: write to a file
      "-o", // format-patch -o (directory to write), clone -o
      "--output-directory",
      "-O", // grep -O<cmd>: open matches in a pager program
      "--open-files-in-pager",
      "--template", // clone/init: copy hooks from a directory
      "--separate-git-dir",
    ],
    // git's option parser takes any unambiguous prefix of a long option.
    longAbbreviations: true,
    // The ext:: and fd:: transports run commands or use inherited descriptors.
    denyPatterns: ["^(ext|fd)::"],
  },
  curl: {
    ...NONE,
    denyFlags: [
      "-o", // write the response to a file
      "--output",
      "--output-dir",
      "-O",
      "--remote-name",
      "--remote-name-all",
      "-J",
      "--remote-header-name",
      "-D", // write headers to a file
      "--dump-header",
      "--stderr",
      "--trace",
      "--trace-ascii",
      "--libcurl",
      "--etag-save",
      "--etag-compare",
      "--hsts",
      "--alt-svc",
      "-K", // read more options from a file
      "--config",
      "-T", // upload a local file
      "--upload-file",
      "--proto", // widen the protocols beyond http(s)
      "--proto-redir",
      "--proto-default",
      "-x", // send the traffic elsewhere
      "--proxy",
      "--preproxy",
      "--socks4",
      "--socks4a",
      "--socks5",
      "--socks5-hostname",
      "--resolve", // connect to another address than the URL's host names
      "--connect-to",
      "--unix-socket",
      "--abstract-unix-socket",
      "-b", // a value without "=" is a cookie file to read
      "--cookie",
      "-c",
      "--cookie-jar",
      "-n", // read credentials from a netrc file
      "--netrc",
      "--netrc-file",
      "--netrc-optional",
      "--variable", // name@file reads a file
      "--data-urlencode", // name@file reads a file
    ],
    denyFileReferences: true,
    urlSchemes: ["http", "https"],
    // curl ≥ 8.3 writes output to a named file with -w '%output{file}'.
    denyPatterns: ["%output\\{"],
  },
  jq: {
    ...NONE,
    denyFlags: [
      "--rawfile", // read arbitrary files into variables
      "--slurpfile",
      "--argfile",
      "-f", // read the program from a file
      "--from-file",
      "-L", // module search path
      "--library-path",
    ],
    // Module directives inside the program read files from the search path (the keyword, not
    // a string or a field that happens to be called "include").
    denyPatterns: ['(^|[^"\\w$.])(import|include)\\s*"'],
  },
};

/** The profile's rules plus a registration's own `deny_flags`. */
export function argvRules(
  profile: ArgvProfileName | undefined,
  extraDenyFlags: readonly string[],
): ArgvRules {
  const base = profile ? ARGV_PROFILES[profile] : NONE;
  return { ...base, denyFlags: [...new Set([...base.denyFlags, ...extraDenyFlags])] };
}

/** Why a `deny_flags` entry is unusable, or null (`-x` or `--name`). */
export function denyFlagProblem(flag: string): string | null {
  if (/^-[A-Za-z0-9]$/.test(flag) || /^--[A-Za-z0-9][A-Za-z0-9-]*$/.test(flag)) return null;
  return "must be a short flag (-x) or a long flag (--name)";
}
