import type { IncomingMessage } from "node:http";

/**
 * Reads a request body with a hard byte limit: a declared Content-Length over the limit is
 * refused before reading, and a streamed body is cut off the moment it passes the limit.
 */
export async function readBodyLimited(
  req: Request,
  limit: number,
): Promise<{ body: Uint8Array | null; tooLarge: boolean }> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) {
    await req.body?.cancel().catch(() => undefined);
    return { body: null, tooLarge: true };
  }
  if (!req.body) return { body: new Uint8Array(0), tooLarge: false };
  const body = await readStreamLimited(req.body, limit);
  return { body, tooLarge: body === null };
}

/**
 * Reads a byte stream to its end, or cancels it the moment it passes `limit` bytes and answers
 * null: a peer sending without end costs at most `limit` bytes of memory.
 */
export async function readStreamLimited(
  stream: ReadableStream<Uint8Array>,
  limit: number,
): Promise<Uint8Array | null> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  if (chunks.length === 1 && chunks[0]) return chunks[0];
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

/**
 * The same limits, read straight from Node's request (the node adapter's `env.incoming`): no
 * Web `Request` or stream is built for the body, which the call path's profile showed at ~5 %
 * of busy time. A body over the limit stops being read at once (the answer closes the
 * connection); a request that ends or breaks early reads as what arrived, or as an error.
 */
export function readIncomingLimited(
  incoming: IncomingMessage,
  limit: number,
): Promise<{ body: Uint8Array | null; tooLarge: boolean }> {
  const declared = incoming.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) {
    incoming.pause();
    return Promise.resolve({ body: null, tooLarge: true });
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      incoming.off("data", onData);
      incoming.off("end", onEnd);
      incoming.off("error", onError);
      incoming.off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > limit) {
        done();
        incoming.pause();
        resolve({ body: null, tooLarge: true });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      done();
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      resolve({ body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength), tooLarge: false });
    };
    const onError = (err: Error) => {
      done();
      reject(err);
    };
    // A peer that goes away mid-body: never left waiting for an end that will not come.
    const onClose = () => {
      done();
      reject(new Error("the request closed before its body ended"));
    };
    if (incoming.readableEnded) {
      resolve({ body: new Uint8Array(0), tooLarge: false });
      return;
    }
    incoming.on("data", onData);
    incoming.on("end", onEnd);
    incoming.on("error", onError);
    incoming.on("close", onClose);
  });
}
