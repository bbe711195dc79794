CREATE TABLE "credential_bindings" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"user_sub" text NOT NULL,
	"user_issuer" text,
	"provider" text NOT NULL,
	"secret_key" text NOT NULL,
	"secret_backend" text,
	"secret_field" text,
	"created_at" bigint NOT NULL,
	"created_by" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "credential_grants" (
	"id" text PRIMARY KEY NOT NULL,
	"binding_id" text NOT NULL,
	"tool_pattern" text NOT NULL,
	"security_context" text,
	"position" integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE "credential_grants" ADD CONSTRAINT "credential_grants_binding_id_credential_bindings_id_fk" FOREIGN KEY ("binding_id") REFERENCES "public"."credential_bindings"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "credential_bindings_user_provider_uq" ON "credential_bindings" USING btree ("tenant_id","user_sub","provider");--> statement-breakpoint
CREATE INDEX "credential_bindings_tenant_created_idx" ON "credential_bindings" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE INDEX "credential_grants_binding_idx" ON "credential_grants" USING btree ("binding_id","position");