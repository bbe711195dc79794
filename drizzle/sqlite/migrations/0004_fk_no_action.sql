PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_workflows` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`description` text NOT NULL,
	`api_spec_id` text NOT NULL,
	`document` text NOT NULL,
	`hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`api_spec_id`) REFERENCES `api_specs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
INSERT INTO `__new_workflows`("id", "tenant_id", "name", "description", "api_spec_id", "document", "hash", "created_at", "updated_at") SELECT "id", "tenant_id", "name", "description", "api_spec_id", "document", "hash", "created_at", "updated_at" FROM `workflows`;--> statement-breakpoint
DROP TABLE `workflows`;--> statement-breakpoint
ALTER TABLE `__new_workflows` RENAME TO `workflows`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE UNIQUE INDEX `workflows_tenant_name_uq` ON `workflows` (`tenant_id`,`name`);--> statement-breakpoint
CREATE INDEX `workflows_api_spec_idx` ON `workflows` (`api_spec_id`);