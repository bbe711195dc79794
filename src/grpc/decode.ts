import type { ServiceDefinition } from "@grpc/grpc-js";
import type { PackageDefinition } from "@grpc/proto-loader";
import { GatewayError } from "../errors.js";
import { PACKAGE } from "./proto.js";
import { type Lookup, type MessageDescriptor, wireProblem } from "./wire.js";

/**
 * Requests are decoded by the gateway's own guard around proto-loader's decoder, so a message
 * that is too large or does not decode reaches the handler as an `Undecodable` instead of being
 * refused inside grpc-js: the handler authenticates the caller first, then refuses it with a
 * clear status and an audit row, and nothing runs. (grpc-js itself still refuses a message
 * larger than twice the limit before reading it: docs/grpc.md.)
 */

export class Undecodable {
  constructor(
    readonly reason: "message_too_large" | "malformed_message",
    readonly bytes: number,
    readonly problem?: string,
  ) {}

  error(limit: number): GatewayError {
    return this.reason === "message_too_large"
      ? new GatewayError("BODY_TOO_LARGE", `the request message is larger than ${limit} bytes`, {
          reason: this.reason,
          bytes: this.bytes,
        })
      : new GatewayError("BAD_REQUEST", "the request message does not decode as its proto type", {
          reason: this.reason,
          ...(this.problem ? { problems: [{ path: "", message: this.problem }] } : {}),
        });
  }
}

/** Message descriptors by name: nested in the scope first, then the package's. */
function lookupIn(def: PackageDefinition): Lookup {
  return (typeName, scope) => {
    const nested = scope.nestedType.find((t) => t.name === typeName);
    if (nested) return nested;
    const name = typeName.replace(/^\./, "");
    const entry = (def[name] ?? def[`${PACKAGE}.${name}`]) as { type?: MessageDescriptor } | undefined;
    return entry?.type;
  };
}

export function guardDecoding(
  service: ServiceDefinition,
  maxBytes: number,
  def: PackageDefinition,
): ServiceDefinition {
  const lookup = lookupIn(def);
  const out: Record<string, ServiceDefinition[string]> = {};
  for (const [name, method] of Object.entries(service)) {
    const decode = method.requestDeserialize;
    const type = (method as unknown as { requestType?: { type?: MessageDescriptor } }).requestType?.type;
    if (!type) throw new Error(`no request type for ${name}`);
    out[name] = {
      ...method,
      requestDeserialize: (buf: Buffer) => {
        if (buf.byteLength > maxBytes) return new Undecodable("message_too_large", buf.byteLength);
        const problem = wireProblem(buf, type, lookup);
        if (problem) return new Undecodable("malformed_message", buf.byteLength, problem);
        try {
          return decode(buf);
        } catch {
          return new Undecodable("malformed_message", buf.byteLength);
        }
      },
    };
  }
  return out as ServiceDefinition;
}
