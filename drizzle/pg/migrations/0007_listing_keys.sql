-- The keyset order of the session and agent-key listings (src/store/keyset.ts): a tenant's
-- next page is read from the index instead of sorting every row of the tenant.
CREATE INDEX "agent_keys_tenant_created_idx" ON "agent_keys" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE INDEX "sessions_tenant_created_idx" ON "sessions" USING btree ("tenant_id","created_at","execution_id");