CREATE TABLE "agent_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"sub" text NOT NULL,
	"public_key_b64" text NOT NULL,
	"label" text,
	"status" text NOT NULL,
	"created_at" bigint NOT NULL,
	"revoked_at" bigint,
	CONSTRAINT "agent_keys_status_ck" CHECK ("agent_keys"."status" in ('active', 'revoked'))
);
--> statement-breakpoint
CREATE TABLE "audit_checkpoints" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"id" text NOT NULL,
	"tenant_id" text DEFAULT 'system' NOT NULL,
	"created_at" bigint NOT NULL,
	"last_chain_seq" bigint NOT NULL,
	"row_count" bigint NOT NULL,
	"head_hash" text NOT NULL,
	"kid" text NOT NULL,
	"signature" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "gateway_events" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"id" text NOT NULL,
	"created_at" bigint NOT NULL,
	"event_type" text NOT NULL,
	"tenant_id" text NOT NULL,
	"execution_id" text,
	"call_id" text,
	"agent_id" text,
	"tool_name" text,
	"decision" text,
	"stage" text,
	"code" integer,
	"request_id" text,
	"payload" text NOT NULL,
	"chain_seq" bigint,
	"prev_hash" text,
	"hash" text
);
--> statement-breakpoint
CREATE TABLE "replay_records" (
	"key" text PRIMARY KEY NOT NULL,
	"tenant_id" text DEFAULT 'system' NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "security_contexts" (
	"tenant_id" text NOT NULL,
	"name" text NOT NULL,
	"document" text NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "security_contexts_pk" PRIMARY KEY("tenant_id","name")
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"execution_id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"sub" text NOT NULL,
	"security_context" text NOT NULL,
	"public_key_b64" text NOT NULL,
	"allowed_tool_patterns" text NOT NULL,
	"token_jti" text NOT NULL,
	"status" text NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"revoked_at" bigint,
	CONSTRAINT "sessions_status_ck" CHECK ("sessions"."status" in ('Active', 'Revoked', 'Expired'))
);
--> statement-breakpoint
CREATE TABLE "signing_keys" (
	"kid" text PRIMARY KEY NOT NULL,
	"tenant_id" text DEFAULT 'system' NOT NULL,
	"generation" integer NOT NULL,
	"alg" text NOT NULL,
	"public_jwk" text NOT NULL,
	"private_sealed" text NOT NULL,
	"status" text NOT NULL,
	"created_at" bigint NOT NULL,
	"retired_at" bigint,
	CONSTRAINT "signing_keys_status_ck" CHECK ("signing_keys"."status" in ('active', 'retired'))
);
--> statement-breakpoint
CREATE INDEX "agent_keys_tenant_sub_idx" ON "agent_keys" USING btree ("tenant_id","sub");--> statement-breakpoint
CREATE UNIQUE INDEX "audit_checkpoints_id_uq" ON "audit_checkpoints" USING btree ("id");--> statement-breakpoint
CREATE UNIQUE INDEX "gateway_events_id_uq" ON "gateway_events" USING btree ("id");--> statement-breakpoint
CREATE UNIQUE INDEX "gateway_events_chain_seq_uq" ON "gateway_events" USING btree ("chain_seq");--> statement-breakpoint
CREATE INDEX "gateway_events_tenant_seq_idx" ON "gateway_events" USING btree ("tenant_id","seq");--> statement-breakpoint
CREATE INDEX "gateway_events_execution_seq_idx" ON "gateway_events" USING btree ("execution_id","seq");--> statement-breakpoint
CREATE INDEX "gateway_events_type_seq_idx" ON "gateway_events" USING btree ("event_type","seq");--> statement-breakpoint
CREATE INDEX "replay_records_expires_idx" ON "replay_records" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "sessions_tenant_status_idx" ON "sessions" USING btree ("tenant_id","status");--> statement-breakpoint
CREATE UNIQUE INDEX "signing_keys_generation_uq" ON "signing_keys" USING btree ("generation");