ALTER TABLE "deliveries" ADD COLUMN "sender" text;--> statement-breakpoint
CREATE INDEX "deliveries_sender_queued_idx" ON "deliveries" USING btree ("sender") WHERE status = 'queued';