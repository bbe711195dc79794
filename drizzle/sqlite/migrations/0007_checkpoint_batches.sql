ALTER TABLE `audit_checkpoints` ADD `first_chain_seq` integer;--> statement-breakpoint
ALTER TABLE `audit_checkpoints` ADD `batch_root` text;