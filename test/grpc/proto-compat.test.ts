/**
 * proto/seal_gateway.proto stays wire-compatible with the public AEGIS definition
 * (100monkeys-ai/aegis-proto, proto/seal_gateway.proto at 6a05365): the services and methods,
 * and every message's field names, numbers, types and cardinality, as read from upstream.
 */
import { loadSync } from "@grpc/proto-loader";
import { describe, expect, it } from "vitest";
import { sealProtoPath } from "../../src/grpc/proto.js";

const UPSTREAM: Record<string, string> = {
  ToolWorkflowService: "CreateWorkflow GetWorkflow ListWorkflows UpdateWorkflow DeleteWorkflow",
  GatewayInvocationService: "InvokeWorkflow InvokeCli ExploreApi ListTools",
  WorkflowStep:
    "name=1:string operation_id=2:string body_template=3:string extractors=4:message[] on_error=5:string",
  Workflow:
    "id=1:string name=2:string description=3:string api_spec_id=4:string input_schema_json=5:string steps=6:message[]",
  WorkflowSummary: "id=1:string name=2:string description=3:string",
  CreateWorkflowRequest: "workflow=1:message",
  CreateWorkflowResponse: "workflow_id=1:string",
  GetWorkflowRequest: "workflow_id=1:string",
  GetWorkflowResponse: "workflow=1:message",
  ListWorkflowsRequest: "",
  ListWorkflowsResponse: "workflows=1:message[]",
  UpdateWorkflowRequest: "workflow=1:message",
  UpdateWorkflowResponse: "updated=1:bool",
  DeleteWorkflowRequest: "workflow_id=1:string",
  DeleteWorkflowResponse: "deleted=1:bool",
  InvokeWorkflowRequest:
    "execution_id=1:string workflow_name=2:string input_json=3:string zaru_user_token=4:string tenant_id=5:string",
  InvokeWorkflowResponse: "result_json=1:string",
  FsalMount: "volume_id=1:string mount_path=2:string read_only=3:bool remote_path=4:string",
  InvokeCliRequest:
    "execution_id=1:string tool_name=2:string subcommand=3:string args=4:string[] fsal_mounts=5:message[] tenant_id=6:string",
  InvokeCliResponse: "exit_code=1:int32 stdout=2:string stderr=3:string",
  ExploreApiRequest:
    "execution_id=1:string api_spec_id=2:string operation_id=3:string parameters_json=4:string fields=5:string[] include_hateoas_hints=6:bool tenant_id=7:string",
  ExploreApiResponse: "sliced_data_json=1:string hints_json=2:string operation_metadata_json=3:string",
  ListToolsRequest: "",
  ToolSummary:
    "name=1:string description=2:string kind=3:string input_schema_json=4:string tags=5:string[] category=6:string",
  ListToolsResponse: "tools=1:message[]",
};

interface Field {
  name: string;
  number: number;
  type: string;
  label: string;
}

describe("proto/seal_gateway.proto", () => {
  it("has AEGIS's services, methods, messages, field names and numbers", () => {
    const def = loadSync(sealProtoPath(), { keepCase: true }) as Record<string, unknown>;
    const ours: Record<string, string> = {};
    for (const [name, entry] of Object.entries(def)) {
      const e = entry as { format?: string; type?: { field: Field[] } };
      const short = name.replace("aegis.seal_gateway.v1.", "");
      ours[short] = e.format
        ? (e.type?.field ?? [])
            .map(
              (f) =>
                `${f.name}=${f.number}:${f.type.replace("TYPE_", "").toLowerCase()}${f.label === "LABEL_REPEATED" ? "[]" : ""}`,
            )
            .join(" ")
        : Object.keys(entry as object).join(" ");
    }
    expect(ours).toEqual(UPSTREAM);
  });
});
