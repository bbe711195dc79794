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
