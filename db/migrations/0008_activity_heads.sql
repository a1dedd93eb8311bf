CREATE TABLE "activity_heads" (
	"patient_id" uuid PRIMARY KEY NOT NULL,
	"chain_seq" integer NOT NULL,
	"hash" text NOT NULL,
	"mac" text NOT NULL,
	"key_id" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "activity_heads" ADD CONSTRAINT "activity_heads_patient_id_patients_id_fk" FOREIGN KEY ("patient_id") REFERENCES "public"."patients"("id") ON DELETE no action ON UPDATE no action;