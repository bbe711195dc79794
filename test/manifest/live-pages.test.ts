/** `apply` reads every page of a listing (docs/api.md "Pagination"), and still reads an older gateway. */
import { describe, expect, it } from "vitest";
import type { Answer, ControlClient } from "../../src/manifest/client.js";
import { readLiveState } from "../../src/manifest/live.js";
import { parseManifestText } from "../../src/manifest/parse.js";
import { validateDocuments } from "../../src/manifest/validate.js";

const CONTEXT_DOC = `kind: SecurityContext
name: ctx-0
spec: {capabilities: [{tool_pattern: "wf.*"}]}
`;

/**
 * A fake gateway holding `rowsPerListing` rows in every listing. Paged: pages of `pageSize` whose
 * cursor is the next offset (or, with `repeat`, always the same one); unpaged: all rows at once
 * and no next_cursor, as a gateway older than pagination answers.
 */
function pagedGateway(rowsPerListing: number, pageSize: number, opts: { paged: boolean; repeat?: boolean }) {
  const requests: string[] = [];
  const client: ControlClient = {
    async request(method: string, path: string): Promise<Answer> {
      requests.push(`${method} ${path}`);
      const url = new URL(path, "http://gw");
      const member = url.pathname.includes("sessions")
        ? "sessions"
        : (url.pathname.split("/").pop() ?? "").replace(/-/g, "_");
      const start = Number(url.searchParams.get("cursor") ?? "0");
      const end = opts.paged ? Math.min(start + pageSize, rowsPerListing) : rowsPerListing;
      const rows = Array.from({ length: end - start }, (_, i) => ({
        name: `ctx-${start + i}`,
        execution_id: `exe-${start + i}`,
        security_context_name: "ctx-0",
      }));
      const body: Record<string, unknown> = { [member]: rows };
      if (opts.paged) body.next_cursor = end < rowsPerListing ? String(opts.repeat ? pageSize : end) : null;
      return { status: 200, body };
    },
  };
  return { client, requests };
}

const parsed = validateDocuments(parseManifestText("m.yaml", CONTEXT_DOC).docs);

const { objects } = parsed;

describe("apply's live state", () => {
  it("reads a manifest with a security context (the prune path reads sessions)", () => {
    expect(parsed.problems.map((p) => p.message)).toEqual([]);
    expect(objects.map((o) => o.kind)).toEqual(["SecurityContext"]);
  });

  it("follows next_cursor through every page of every listing", async () => {
    const { client, requests } = pagedGateway(250, 100, { paged: true });
    const live = await readLiveState(client, objects, { prune: true });
    expect(live.objects.SecurityContext?.map((o) => o.name)).toEqual(
      Array.from({ length: 250 }, (_, i) => `ctx-${i}`),
    );
    expect(live.objects.ApiSpec).toHaveLength(250);
    expect(live.activeSessions).toHaveLength(250);
    expect(requests).toContain("GET /v1/security-contexts?cursor=200");
    expect(requests).toContain("GET /v1/seal/sessions?status=Active&cursor=100");
    // The first page carries no parameter an older gateway's strict query would refuse.
    expect(requests).toContain("GET /v1/specs");
  });

  it("reads a gateway without pagination in one request per listing", async () => {
    const { client, requests } = pagedGateway(3, 100, { paged: false });
    const live = await readLiveState(client, objects, { prune: false });
    expect(live.objects.SecurityContext).toHaveLength(3);
    expect(requests.filter((r) => r.includes("security-contexts"))).toEqual(["GET /v1/security-contexts"]);
  });

  it("stops when a gateway hands back a cursor it already gave", async () => {
    const { client, requests } = pagedGateway(500, 100, { paged: true, repeat: true });
    await readLiveState(client, objects, { prune: false });
    expect(requests.filter((r) => r.includes("security-contexts"))).toHaveLength(2);
  });
});
