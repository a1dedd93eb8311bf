CREATE TABLE "http_rate_limits" (
	"key" text PRIMARY KEY NOT NULL,
	"n" integer DEFAULT 0 NOT NULL,
	"resets_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "login_throttle" (
	"key" text PRIMARY KEY NOT NULL,
	"failures" integer DEFAULT 0 NOT NULL,
	"last_failure_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "http_rate_limits_resets_idx" ON "http_rate_limits" USING btree ("resets_at");--> statement-breakpoint
CREATE INDEX "login_challenges_patient_idx" ON "login_challenges" USING btree ("patient_id");--> statement-breakpoint
ALTER TABLE "patients" DROP COLUMN "failed_logins";--> statement-breakpoint
ALTER TABLE "patients" DROP COLUMN "locked_until";