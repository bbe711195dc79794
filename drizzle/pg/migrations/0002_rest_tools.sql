CREATE TABLE "api_specs" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"name" text NOT NULL,
	"document" text NOT NULL,
	"hash" text NOT NULL,
	"base_url" text,
	"allowed_hosts" text NOT NULL,
	"credential_path" text,
	"source_url" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "workflows" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"name" text NOT NULL,
	"description" text NOT NULL,
	"api_spec_id" text NOT NULL,
	"document" text NOT NULL,
	"hash" text NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "workflows" ADD CONSTRAINT "workflows_api_spec_id_api_specs_id_fk" FOREIGN KEY ("api_spec_id") REFERENCES "public"."api_specs"("id") ON DELETE restrict ON UPDATE restrict;--> statement-breakpoint
CREATE UNIQUE INDEX "api_specs_tenant_name_uq" ON "api_specs" USING btree ("tenant_id","name");--> statement-breakpoint
CREATE UNIQUE INDEX "workflows_tenant_name_uq" ON "workflows" USING btree ("tenant_id","name");--> statement-breakpoint
CREATE INDEX "workflows_api_spec_idx" ON "workflows" USING btree ("api_spec_id");