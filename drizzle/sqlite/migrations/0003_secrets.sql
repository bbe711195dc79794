CREATE TABLE `secrets` (
	`tenant_id` text NOT NULL,
	`key` text NOT NULL,
	`version` integer NOT NULL,
	`value_sealed` text NOT NULL,
	`fingerprint` text NOT NULL,
	`created_at` integer NOT NULL,
	`rotated_at` integer,
	PRIMARY KEY(`tenant_id`, `key`),
	CONSTRAINT "secrets_version_ck" CHECK("secrets"."version" >= 1)
);
