import type { PackageDefinition } from "@grpc/proto-loader";
import descriptor, {
  type IDescriptorProto,
  type IFileDescriptorProto,
} from "protobufjs/ext/descriptor/index.js";

/**
 * The file descriptors server reflection hands out, made as protoc would write them.
 *
 * proto-loader (protobufjs) describes a `map<K, V> name` field with a nested entry message
 * named after the field (`Extractors`) and refers to types by relative name (`Extractors`,
 * `WorkflowStep`). Descriptor readers that follow protoc's rules (grpcurl, protodesc in Go)
 * refuse such a file ("incorrect implicit map entry name"), so a client could list the services
 * but not call them. Here each map entry is renamed `<FieldInCamelCase>Entry` and every type
 * reference is made absolute (`.aegis.seal_gateway.v1.WorkflowStep.ExtractorsEntry`); nothing
 * else changes. Only the copy given to reflection is rewritten: the server's own decoding
 * still uses proto-loader's definition.
 */

const { FileDescriptorProto } = descriptor;

/** protoc's map entry name: the field name in CamelCase (underscores dropped) plus "Entry". */
export function mapEntryName(field: string): string {
  const camel = field.replace(/_+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase()).replace(/_/g, "");
  return `${camel.charAt(0).toUpperCase()}${camel.slice(1)}Entry`;
}

interface Scoped {
  /** The message's absolute name, e.g. `.aegis.seal_gateway.v1.WorkflowStep`. */
  fqn: string;
  message: IDescriptorProto;
}

function messagesOf(file: IFileDescriptorProto): Scoped[] {
  const out: Scoped[] = [];
  const walk = (m: IDescriptorProto, parent: string) => {
    const fqn = `${parent}.${m.name ?? ""}`;
    out.push({ fqn, message: m });
    for (const n of m.nestedType ?? []) walk(n, fqn);
  };
  const pkg = file.package ? `.${file.package}` : "";
  for (const m of file.messageType ?? []) walk(m, pkg);
  return out;
}

/** Every message and enum the files declare, by absolute name. */
function symbolsOf(files: IFileDescriptorProto[]): Set<string> {
  const symbols = new Set<string>();
  for (const file of files) {
    const pkg = file.package ? `.${file.package}` : "";
    for (const e of file.enumType ?? []) symbols.add(`${pkg}.${e.name}`);
    for (const { fqn, message } of messagesOf(file)) {
      symbols.add(fqn);
      for (const e of message.enumType ?? []) symbols.add(`${fqn}.${e.name}`);
    }
  }
  return symbols;
}

/** Resolves a type reference as protoc does: innermost scope first, then outwards. */
function resolve(ref: string, scope: string, symbols: Set<string>): string {
  if (ref.startsWith(".")) return ref;
  for (let s = scope; ; s = s.slice(0, s.lastIndexOf("."))) {
    const candidate = `${s}.${ref}`;
    if (symbols.has(candidate)) return candidate;
    if (s === "") break;
  }
  throw new Error(`reflection descriptors: type ${ref} (in ${scope || "the root"}) does not resolve`);
}

/** Rewrites decoded file descriptors in place (see the module comment). */
export function fixFileDescriptors(files: IFileDescriptorProto[]): void {
  const symbols = symbolsOf(files);
  const renamed = new Map<string, string>();
  const pending: Array<{ field: { typeName?: string }; absolute: string }> = [];
  for (const file of files) {
    for (const { fqn, message } of messagesOf(file)) {
      for (const field of message.field ?? []) {
        if (!field.typeName) continue;
        const absolute = resolve(field.typeName, fqn, symbols);
        pending.push({ field, absolute });
        const entry = (message.nestedType ?? []).find(
          (n) => n.options?.mapEntry === true && `${fqn}.${n.name}` === absolute,
        );
        if (entry && field.name) {
          const name = mapEntryName(field.name);
          renamed.set(absolute, `${fqn}.${name}`);
          entry.name = name;
        }
      }
    }
    const pkg = file.package ? `.${file.package}` : "";
    for (const service of file.service ?? []) {
      for (const method of service.method ?? []) {
        if (method.inputType) method.inputType = resolve(method.inputType, pkg, symbols);
        if (method.outputType) method.outputType = resolve(method.outputType, pkg, symbols);
      }
    }
  }
  for (const { field, absolute } of pending) field.typeName = renamed.get(absolute) ?? absolute;
}

/**
 * A copy of `def` whose `fileDescriptorProtos` are the fixed files, for `ReflectionService`.
 * Every type of a definition carries the same set of files, so they are fixed once together.
 */
export function reflectionDefinition(def: PackageDefinition): PackageDefinition {
  const protosOf = (entry: unknown) => (entry as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos;
  const byName = new Map<string, IFileDescriptorProto>();
  const nameOf = new Map<Buffer, string>();
  for (const entry of Object.values(def)) {
    for (const bin of protosOf(entry) ?? []) {
      const file = FileDescriptorProto.toObject(FileDescriptorProto.decode(bin), {
        enums: Number,
      }) as IFileDescriptorProto;
      const name = file.name ?? "";
      nameOf.set(bin, name);
      if (!byName.has(name)) byName.set(name, file);
    }
  }
  fixFileDescriptors([...byName.values()]);
  const encoded = new Map(
    [...byName].map(([name, f]) => [
      name,
      Buffer.from(FileDescriptorProto.encode(FileDescriptorProto.fromObject(f)).finish()),
    ]),
  );
  const out: PackageDefinition = {};
  for (const [key, entry] of Object.entries(def)) {
    const protos = protosOf(entry);
    out[key] = protos
      ? ({
          ...entry,
          fileDescriptorProtos: protos.map((b) => encoded.get(nameOf.get(b) ?? "") ?? b),
        } as typeof entry)
      : entry;
  }
  return out;
}
