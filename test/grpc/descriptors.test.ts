/**
 * The file descriptors served by reflection are written as protoc writes them (map entries
 * `<Field>Entry`, absolute type names), so descriptor readers that follow protoc's rules
 * (grpcurl; test/grpc/grpcurl.test.ts) accept them; the server's own definition is untouched.
 */
import descriptor, {
  type IDescriptorProto,
  type IFileDescriptorProto,
} from "protobufjs/ext/descriptor/index.js";
import { describe, expect, it } from "vitest";
import { fixFileDescriptors, mapEntryName, reflectionDefinition } from "../../src/grpc/descriptors.js";
import { loadDefinition } from "../../src/grpc/proto.js";

const { FileDescriptorProto } = descriptor;

function filesOf(def: ReturnType<typeof loadDefinition>): Map<string, IFileDescriptorProto> {
  const files = new Map<string, IFileDescriptorProto>();
  for (const entry of Object.values(def))
    for (const bin of (entry as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos ?? []) {
      const f = FileDescriptorProto.toObject(FileDescriptorProto.decode(bin), {
        enums: String,
      }) as IFileDescriptorProto;
      files.set(f.name ?? "", f);
    }
  return files;
}

const message = (file: IFileDescriptorProto | undefined, name: string) =>
  file?.messageType?.find((m) => m.name === name) as IDescriptorProto;

function typeNames(files: Iterable<IFileDescriptorProto>): string[] {
  const out: string[] = [];
  const walk = (m: IDescriptorProto) => {
    for (const f of m.field ?? []) if (f.typeName) out.push(f.typeName);
    for (const n of m.nestedType ?? []) walk(n);
  };
  for (const file of files) {
    for (const m of file.messageType ?? []) walk(m);
    for (const s of file.service ?? [])
      for (const m of s.method ?? []) out.push(m.inputType ?? "", m.outputType ?? "");
  }
  return out;
}

describe("reflection descriptors", () => {
  it("names map entries as protoc does", () => {
    expect(mapEntryName("extractors")).toBe("ExtractorsEntry");
    expect(mapEntryName("statuses")).toBe("StatusesEntry");
    expect(mapEntryName("per_tenant_limits")).toBe("PerTenantLimitsEntry");
    expect(mapEntryName("a__b_c1")).toBe("ABC1Entry");
  });

  it("serves WorkflowStep.extractors and HealthListResponse.statuses with <Field>Entry and absolute names", () => {
    const def = loadDefinition();
    const before = filesOf(def);
    const files = filesOf(reflectionDefinition(def));
    expect([...files.keys()].sort()).toEqual([...before.keys()].sort());
    const seal = [...files.values()].find((f) => f.package === "aegis.seal_gateway.v1");
    const step = message(seal, "WorkflowStep");
    expect(step.nestedType?.map((n) => [n.name, n.options?.mapEntry])).toEqual([["ExtractorsEntry", true]]);
    expect(step.field?.find((f) => f.name === "extractors")).toMatchObject({
      label: "LABEL_REPEATED",
      type: "TYPE_MESSAGE",
      typeName: ".aegis.seal_gateway.v1.WorkflowStep.ExtractorsEntry",
    });
    const health = [...files.values()].find((f) => f.package === "grpc.health.v1");
    const list = message(health, "HealthListResponse");
    expect(list.nestedType?.[0]?.name).toBe("StatusesEntry");
    expect(list.field?.[0]?.typeName).toBe(".grpc.health.v1.HealthListResponse.StatusesEntry");
    expect(list.nestedType?.[0]?.field?.find((f) => f.name === "value")?.typeName).toBe(
      ".grpc.health.v1.HealthCheckResponse",
    );
    expect(message(seal, "Workflow").field?.find((f) => f.name === "steps")?.typeName).toBe(
      ".aegis.seal_gateway.v1.WorkflowStep",
    );
    for (const name of typeNames(files.values())) expect(name).toMatch(/^\.[a-z]/);
    // The definition the server decodes with is not changed.
    expect(message(filesOf(def).get(seal?.name ?? ""), "WorkflowStep").nestedType?.[0]?.name).toBe(
      "Extractors",
    );
  });

  it("resolves relative names innermost scope first, and refuses one that does not resolve", () => {
    const files: IFileDescriptorProto[] = [
      {
        name: "a.proto",
        package: "p.q",
        messageType: [
          {
            name: "Outer",
            field: [
              { name: "inner", typeName: "Inner" },
              { name: "other", typeName: "Other" },
            ],
            nestedType: [{ name: "Inner" }, { name: "Other" }],
          },
          { name: "Other", field: [{ name: "back", typeName: "Outer.Inner" }] },
        ],
      },
    ];
    fixFileDescriptors(files);
    const [outer, other] = files[0]?.messageType ?? [];
    expect(outer?.field?.map((f) => f.typeName)).toEqual([".p.q.Outer.Inner", ".p.q.Outer.Other"]);
    expect(other?.field?.[0]?.typeName).toBe(".p.q.Outer.Inner");
    expect(() =>
      fixFileDescriptors([
        {
          name: "b.proto",
          package: "p",
          messageType: [{ name: "M", field: [{ name: "x", typeName: "Nope" }] }],
        },
      ]),
    ).toThrow(/Nope/);
  });
});
