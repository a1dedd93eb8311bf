CREATE TABLE "blocked_establishments" (
	"patient_id" uuid NOT NULL,
	"finess" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "blocked_establishments_patient_id_finess_pk" PRIMARY KEY("patient_id","finess")
);
--> statement-breakpoint
CREATE TABLE "organisation_deposits" (
	"organisation_id" text NOT NULL,
	"idempotency_key" text NOT NULL,
	"document_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "organisation_deposits_organisation_id_idempotency_key_pk" PRIMARY KEY("organisation_id","idempotency_key")
);
--> statement-breakpoint
ALTER TABLE "access_settings" ADD COLUMN "samu_regulator_allowed" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "access_settings" ADD COLUMN "break_glass_allowed" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "documents" ADD COLUMN "author_organisation" text;--> statement-breakpoint
ALTER TABLE "blocked_establishments" ADD CONSTRAINT "blocked_establishments_patient_id_patients_id_fk" FOREIGN KEY ("patient_id") REFERENCES "public"."patients"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "organisation_deposits" ADD CONSTRAINT "organisation_deposits_document_id_documents_id_fk" FOREIGN KEY ("document_id") REFERENCES "public"."documents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
-- The one emergency setting becomes two: a patient who refused emergency access refused both.
UPDATE "access_settings" SET "samu_regulator_allowed" = "emergency_allowed", "break_glass_allowed" = "emergency_allowed";--> statement-breakpoint
ALTER TABLE "access_settings" DROP COLUMN "emergency_allowed";