CREATE TABLE "cli_tools" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"name" text NOT NULL,
	"document" text NOT NULL,
	"hash" text NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "cli_tools_tenant_name_uq" ON "cli_tools" USING btree ("tenant_id","name");