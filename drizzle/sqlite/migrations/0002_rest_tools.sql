CREATE TABLE `api_specs` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`document` text NOT NULL,
	`hash` text NOT NULL,
	`base_url` text,
	`allowed_hosts` text NOT NULL,
	`credential_path` text,
	`source_url` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_specs_tenant_name_uq` ON `api_specs` (`tenant_id`,`name`);--> statement-breakpoint
CREATE TABLE `workflows` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`description` text NOT NULL,
	`api_spec_id` text NOT NULL,
	`document` text NOT NULL,
	`hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`api_spec_id`) REFERENCES `api_specs`(`id`) ON UPDATE restrict ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `workflows_tenant_name_uq` ON `workflows` (`tenant_id`,`name`);--> statement-breakpoint
CREATE INDEX `workflows_api_spec_idx` ON `workflows` (`api_spec_id`);