ALTER TABLE "activity_events" ALTER COLUMN "hash" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "activity_events" ADD COLUMN "chain_seq" integer;--> statement-breakpoint
CREATE INDEX "activity_patient_chain_idx" ON "activity_events" USING btree ("patient_id","chain_seq");