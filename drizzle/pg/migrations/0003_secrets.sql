CREATE TABLE "secrets" (
	"tenant_id" text NOT NULL,
	"key" text NOT NULL,
	"version" integer NOT NULL,
	"value_sealed" text NOT NULL,
	"fingerprint" text NOT NULL,
	"created_at" bigint NOT NULL,
	"rotated_at" bigint,
	CONSTRAINT "secrets_pk" PRIMARY KEY("tenant_id","key"),
	CONSTRAINT "secrets_version_ck" CHECK ("secrets"."version" >= 1)
);
