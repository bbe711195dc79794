export type SealClientErrorCode = "invalid_input" | "bad_response";

/** A failure on the client side: bad arguments to the SDK, or a reply that is not SEAL. */
export class SealClientError extends Error {
  readonly code: SealClientErrorCode;

  constructor(code: SealClientErrorCode, message: string) {
    super(message);
    this.name = "SealClientError";
    this.code = code;
  }
}
