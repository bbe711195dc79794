CREATE TABLE `credential_bindings` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`user_sub` text NOT NULL,
	`user_issuer` text,
	`provider` text NOT NULL,
	`secret_key` text NOT NULL,
	`secret_backend` text,
	`secret_field` text,
	`created_at` integer NOT NULL,
	`created_by` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `credential_bindings_user_provider_uq` ON `credential_bindings` (`tenant_id`,`user_sub`,`provider`);--> statement-breakpoint
CREATE INDEX `credential_bindings_tenant_created_idx` ON `credential_bindings` (`tenant_id`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `credential_grants` (
	`id` text PRIMARY KEY NOT NULL,
	`binding_id` text NOT NULL,
	`tool_pattern` text NOT NULL,
	`security_context` text,
	`position` integer NOT NULL,
	FOREIGN KEY (`binding_id`) REFERENCES `credential_bindings`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `credential_grants_binding_idx` ON `credential_grants` (`binding_id`,`position`);