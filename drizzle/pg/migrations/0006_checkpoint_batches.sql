ALTER TABLE "audit_checkpoints" ADD COLUMN "first_chain_seq" bigint;--> statement-breakpoint
ALTER TABLE "audit_checkpoints" ADD COLUMN "batch_root" text;--> statement-breakpoint
CREATE INDEX "audit_checkpoints_last_chain_seq_idx" ON "audit_checkpoints" USING btree ("last_chain_seq");