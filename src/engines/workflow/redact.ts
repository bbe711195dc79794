/**
 * Removes credential values from upstream data before anything else sees it: an API that
 * echoes the Authorization header (or a token in a URL it returns) must not hand the secret
 * to templates, state, the result, or the caller (DESIGN §4). One implementation for every
 * engine and the pipeline: src/credentials/redaction.ts.
 */

export { REDACTED, type Scrubber, secretScrubber } from "../../credentials/redaction.js";
