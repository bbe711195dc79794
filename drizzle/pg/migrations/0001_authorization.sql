CREATE TABLE "approvals" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"status" text NOT NULL,
	"sub" text NOT NULL,
	"execution_id" text NOT NULL,
	"security_context" text NOT NULL,
	"tool_name" text NOT NULL,
	"arguments_digest" text NOT NULL,
	"rule" text NOT NULL,
	"summary" text NOT NULL,
	"request_id" text,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"decided_at" bigint,
	"decided_by" text,
	"reason" text,
	"used_at" bigint,
	CONSTRAINT "approvals_status_ck" CHECK ("approvals"."status" in ('pending', 'approved', 'denied', 'used', 'expired'))
);
--> statement-breakpoint
CREATE TABLE "counters" (
	"key" text NOT NULL,
	"window_start" bigint NOT NULL,
	"tenant_id" text DEFAULT 'system' NOT NULL,
	"count" integer NOT NULL,
	"expires_at" bigint NOT NULL,
	CONSTRAINT "counters_pk" PRIMARY KEY("key","window_start")
);
--> statement-breakpoint
CREATE INDEX "approvals_tenant_created_idx" ON "approvals" USING btree ("tenant_id","created_at");--> statement-breakpoint
CREATE INDEX "approvals_status_created_idx" ON "approvals" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "counters_expires_idx" ON "counters" USING btree ("expires_at");