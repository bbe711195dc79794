/**
 * Collects one output stream of a container up to a byte cap. Both streams are captured at
 * the same time (a process blocked on a full stderr pipe would otherwise stall its stdout —
 * the AEGIS defect of sequential reads). On overflow the owner is told once (it kills the
 * container) and the rest is drained and dropped, so the other stream keeps flowing.
 *
 * A little more than the cap is kept so that a credential straddling the cap is still seen
 * whole by the scrubber; the text is cut to the cap only after scrubbing.
 */
import type { Readable } from "node:stream";

// Longer than any credential worth the name; secrets longer than this could leak a prefix.
const SCRUB_SLACK_BYTES = 64 * 1024;

export interface Captured {
  bytes: Buffer;
  truncated: boolean;
}

export function captureStream(stream: Readable, maxBytes: number, onOverflow: () => void): Promise<Captured> {
  const keep = maxBytes + SCRUB_SLACK_BYTES;
  const chunks: Buffer[] = [];
  let kept = 0;
  let seen = 0;
  let overflowed = false;
  return new Promise((resolve, reject) => {
    stream.on("data", (chunk: Buffer) => {
      seen += chunk.length;
      if (kept < keep) {
        const part = chunk.subarray(0, keep - kept);
        chunks.push(part);
        kept += part.length;
      }
      if (seen > maxBytes && !overflowed) {
        overflowed = true;
        onOverflow();
      }
    });
    stream.once("end", () => resolve({ bytes: Buffer.concat(chunks), truncated: overflowed }));
    stream.once("error", reject);
  });
}

/** Decoded, scrubbed, and cut to `maxBytes` when the stream overflowed. */
export function capturedText(captured: Captured, maxBytes: number, scrub: (text: string) => string): string {
  const text = scrub(captured.bytes.toString("utf8"));
  if (!captured.truncated) return text;
  // A cut inside a multi-byte character decodes to U+FFFD; that is the truncation mark.
  return Buffer.from(text, "utf8").subarray(0, maxBytes).toString("utf8");
}
