ALTER TABLE `audit_checkpoints` ADD `first_chain_seq` integer;--> statement-breakpoint
ALTER TABLE `audit_checkpoints` ADD `batch_root` text;--> statement-breakpoint
CREATE INDEX `audit_checkpoints_last_chain_seq_idx` ON `audit_checkpoints` (`last_chain_seq`);