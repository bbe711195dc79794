ALTER TABLE "audit_checkpoints" ADD COLUMN "first_chain_seq" bigint;--> statement-breakpoint
ALTER TABLE "audit_checkpoints" ADD COLUMN "batch_root" text;