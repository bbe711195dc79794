/**
 * Tracks where a string body template stands in its JSON text, through the static text only
 * (values are never looked at: they are escaped or emitted as whole JSON values). This is
 * what lets registration refuse a `{{…}}` that could break out of a string literal, or a
 * `{{json …}}` whose output would merge with a neighbouring token (`1{{json n}}` → `15`).
 */
const OPENERS = ["", "[", "{", ",", ":"];
const CLOSERS = ["]", "}", ",", ":"];

export class JsonTextLexer {
  inString = false;
  /** A backslash inside a string is waiting for the character it escapes. */
  escape = false;
  /** Last non-whitespace character outside strings ("" at the start). */
  private lastSignificant = "";
  /** Right after a `{{json}}`: the next significant character must separate tokens. */
  private needSeparator = false;

  /** Consumes static text; returns a problem, or null. */
  feed(text: string): string | null {
    let problem: string | null = null;
    for (const ch of text) {
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (ch === "\\") this.escape = true;
        else if (ch === '"') this.inString = false;
        continue;
      }
      if (ch === " " || ch === "\t" || ch === "\n" || ch === "\r") continue;
      if (this.needSeparator && !CLOSERS.includes(ch)) problem = "{{json …}} must be followed by ] } , or :";
      this.needSeparator = false;
      this.lastSignificant = ch;
      if (ch === '"') this.inString = true;
    }
    return problem;
  }

  /** A `{{json …}}` outside strings: returns a problem, or null. */
  jsonValue(): string | null {
    const problem =
      this.needSeparator || !OPENERS.includes(this.lastSignificant)
        ? "{{json …}} must follow [ { , or : (it would merge with the text before it)"
        : null;
    this.needSeparator = true;
    return problem;
  }
}
