ALTER TABLE "documents" ADD COLUMN "reveal_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "contacts_patient_recent_idx" ON "contacts" USING btree ("patient_id","last_message_at","id");--> statement-breakpoint
CREATE INDEX "documents_reveal_idx" ON "documents" USING btree ("reveal_at") WHERE reveal_at IS NOT NULL;