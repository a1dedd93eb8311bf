CREATE TABLE "access_settings" (
	"patient_id" uuid PRIMARY KEY NOT NULL,
	"all_masked" boolean DEFAULT false NOT NULL,
	"emergency_allowed" boolean DEFAULT true NOT NULL,
	"administrator_rpps" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "blocked_professionals" (
	"patient_id" uuid NOT NULL,
	"rpps" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "blocked_professionals_patient_id_rpps_pk" PRIMARY KEY("patient_id","rpps")
);
--> statement-breakpoint
ALTER TABLE "activity_events" ADD COLUMN "actor_kind" text DEFAULT 'professional' NOT NULL;--> statement-breakpoint
ALTER TABLE "activity_events" ADD COLUMN "actor_rpps" text;--> statement-breakpoint
ALTER TABLE "activity_events" ADD COLUMN "document_id" uuid;--> statement-breakpoint
ALTER TABLE "documents" ADD COLUMN "author_rpps" text;--> statement-breakpoint
ALTER TABLE "documents" ADD COLUMN "masked" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "documents" ADD COLUMN "hidden_from_patient" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "documents" ADD COLUMN "previous_version_id" uuid;--> statement-breakpoint
ALTER TABLE "documents" ADD COLUMN "superseded_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "documents" ADD COLUMN "deleted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "access_settings" ADD CONSTRAINT "access_settings_patient_id_patients_id_fk" FOREIGN KEY ("patient_id") REFERENCES "public"."patients"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "blocked_professionals" ADD CONSTRAINT "blocked_professionals_patient_id_patients_id_fk" FOREIGN KEY ("patient_id") REFERENCES "public"."patients"("id") ON DELETE no action ON UPDATE no action;