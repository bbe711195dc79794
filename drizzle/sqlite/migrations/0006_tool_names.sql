-- One tool name per tenant across tool kinds (workflows, CLI tools), held by the database:
-- a registration claims its name in tool_names before its row is inserted, and a name another
-- kind holds makes the insert do nothing (the store answers false, the verb 409), so two
-- registrations racing for one name in different kinds cannot both be stored. SQLite has one
-- writer, so the check and the claim cannot interleave with another registration.
CREATE TABLE `tool_names` (
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	PRIMARY KEY(`tenant_id`, `name`)
);
--> statement-breakpoint
INSERT OR IGNORE INTO `tool_names` (`tenant_id`, `name`, `kind`) SELECT `tenant_id`, `name`, 'workflow' FROM `workflows`;
--> statement-breakpoint
INSERT OR IGNORE INTO `tool_names` (`tenant_id`, `name`, `kind`) SELECT `tenant_id`, `name`, 'cli' FROM `cli_tools`;
--> statement-breakpoint
CREATE TRIGGER `workflows_name_skip` BEFORE INSERT ON `workflows`
WHEN EXISTS (SELECT 1 FROM `tool_names` WHERE `tenant_id` = NEW.`tenant_id` AND `name` = NEW.`name`)
BEGIN SELECT RAISE(IGNORE); END;
--> statement-breakpoint
CREATE TRIGGER `workflows_name_claim` AFTER INSERT ON `workflows`
BEGIN INSERT INTO `tool_names` (`tenant_id`, `name`, `kind`) VALUES (NEW.`tenant_id`, NEW.`name`, 'workflow'); END;
--> statement-breakpoint
CREATE TRIGGER `workflows_name_release` AFTER DELETE ON `workflows`
BEGIN DELETE FROM `tool_names` WHERE `tenant_id` = OLD.`tenant_id` AND `name` = OLD.`name` AND `kind` = 'workflow'; END;
--> statement-breakpoint
CREATE TRIGGER `cli_tools_name_skip` BEFORE INSERT ON `cli_tools`
WHEN EXISTS (SELECT 1 FROM `tool_names` WHERE `tenant_id` = NEW.`tenant_id` AND `name` = NEW.`name`)
BEGIN SELECT RAISE(IGNORE); END;
--> statement-breakpoint
CREATE TRIGGER `cli_tools_name_claim` AFTER INSERT ON `cli_tools`
BEGIN INSERT INTO `tool_names` (`tenant_id`, `name`, `kind`) VALUES (NEW.`tenant_id`, NEW.`name`, 'cli'); END;
--> statement-breakpoint
CREATE TRIGGER `cli_tools_name_release` AFTER DELETE ON `cli_tools`
BEGIN DELETE FROM `tool_names` WHERE `tenant_id` = OLD.`tenant_id` AND `name` = OLD.`name` AND `kind` = 'cli'; END;
