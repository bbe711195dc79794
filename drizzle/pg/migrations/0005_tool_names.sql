-- One tool name per tenant across tool kinds (workflows, CLI tools), held by the database:
-- the BEFORE INSERT trigger claims the name in tool_names (primary key) and skips the row when
-- the name is already held, so the insert affects no row (the store answers false, the verb
-- 409). Two transactions racing for one name wait on the primary key: exactly one claims it.
CREATE TABLE "tool_names" (
	"tenant_id" text NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	CONSTRAINT "tool_names_pk" PRIMARY KEY("tenant_id","name")
);
--> statement-breakpoint
INSERT INTO "tool_names" ("tenant_id", "name", "kind") SELECT "tenant_id", "name", 'workflow' FROM "workflows" ON CONFLICT DO NOTHING;
--> statement-breakpoint
INSERT INTO "tool_names" ("tenant_id", "name", "kind") SELECT "tenant_id", "name", 'cli' FROM "cli_tools" ON CONFLICT DO NOTHING;
--> statement-breakpoint
CREATE FUNCTION "seal_claim_tool_name"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "tool_names" ("tenant_id", "name", "kind") VALUES (NEW."tenant_id", NEW."name", TG_ARGV[0])
    ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE FUNCTION "seal_release_tool_name"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "tool_names" WHERE "tenant_id" = OLD."tenant_id" AND "name" = OLD."name" AND "kind" = TG_ARGV[0];
  RETURN OLD;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "workflows_name_claim" BEFORE INSERT ON "workflows" FOR EACH ROW EXECUTE FUNCTION "seal_claim_tool_name"('workflow');
--> statement-breakpoint
CREATE TRIGGER "workflows_name_release" AFTER DELETE ON "workflows" FOR EACH ROW EXECUTE FUNCTION "seal_release_tool_name"('workflow');
--> statement-breakpoint
CREATE TRIGGER "cli_tools_name_claim" BEFORE INSERT ON "cli_tools" FOR EACH ROW EXECUTE FUNCTION "seal_claim_tool_name"('cli');
--> statement-breakpoint
CREATE TRIGGER "cli_tools_name_release" AFTER DELETE ON "cli_tools" FOR EACH ROW EXECUTE FUNCTION "seal_release_tool_name"('cli');
