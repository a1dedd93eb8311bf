CREATE TABLE "activity_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"patient_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"actor" text NOT NULL,
	"detail" "bytea",
	"prev_hash" text,
	"hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "contacts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"patient_id" uuid NOT NULL,
	"address" text NOT NULL,
	"meta" "bytea" NOT NULL,
	"ended_at" timestamp with time zone,
	"last_message_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notification_state" (
	"patient_id" uuid PRIMARY KEY NOT NULL,
	"last_sent_at" timestamp with time zone,
	"pending_since" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "outbound_messages" (
	"id" uuid PRIMARY KEY NOT NULL,
	"patient_id" uuid,
	"kind" text NOT NULL,
	"envelope_from" text NOT NULL,
	"rcpt" text NOT NULL,
	"raw_blob_id" uuid NOT NULL,
	"message_id_header" text NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_response" text,
	"enqueued_at" timestamp with time zone,
	"done_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "professionals" (
	"address" text PRIMARY KEY NOT NULL,
	"rpps" text,
	"profession_code" text,
	"display_name" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "mailbox_messages" ADD COLUMN "kind" text DEFAULT 'message' NOT NULL;--> statement-breakpoint
ALTER TABLE "mailbox_messages" ADD COLUMN "contact_id" uuid;--> statement-breakpoint
ALTER TABLE "mailbox_messages" ADD COLUMN "message_id_header" text;--> statement-breakpoint
ALTER TABLE "mailbox_messages" ADD COLUMN "thread_key" text;--> statement-breakpoint
ALTER TABLE "mailbox_messages" ADD COLUMN "no_reply" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "mailbox_messages" ADD COLUMN "closed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "mailbox_messages" ADD COLUMN "mdn_to" text;--> statement-breakpoint
ALTER TABLE "mailbox_messages" ADD COLUMN "mdn_queued_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "mailbox_messages" ADD COLUMN "outbound_id" uuid;--> statement-breakpoint
ALTER TABLE "activity_events" ADD CONSTRAINT "activity_events_patient_id_patients_id_fk" FOREIGN KEY ("patient_id") REFERENCES "public"."patients"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contacts" ADD CONSTRAINT "contacts_patient_id_patients_id_fk" FOREIGN KEY ("patient_id") REFERENCES "public"."patients"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_state" ADD CONSTRAINT "notification_state_patient_id_patients_id_fk" FOREIGN KEY ("patient_id") REFERENCES "public"."patients"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "outbound_messages" ADD CONSTRAINT "outbound_messages_patient_id_patients_id_fk" FOREIGN KEY ("patient_id") REFERENCES "public"."patients"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "outbound_messages" ADD CONSTRAINT "outbound_messages_raw_blob_id_blobs_id_fk" FOREIGN KEY ("raw_blob_id") REFERENCES "public"."blobs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "activity_patient_idx" ON "activity_events" USING btree ("patient_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "contacts_patient_address_uq" ON "contacts" USING btree ("patient_id","address");--> statement-breakpoint
CREATE INDEX "outbound_status_idx" ON "outbound_messages" USING btree ("status","enqueued_at");--> statement-breakpoint
CREATE INDEX "outbound_msgid_idx" ON "outbound_messages" USING btree ("message_id_header");--> statement-breakpoint
ALTER TABLE "mailbox_messages" ADD CONSTRAINT "mailbox_messages_contact_id_contacts_id_fk" FOREIGN KEY ("contact_id") REFERENCES "public"."contacts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "mailbox_patient_msgid_idx" ON "mailbox_messages" USING btree ("patient_id","message_id_header");--> statement-breakpoint
CREATE INDEX "mailbox_contact_idx" ON "mailbox_messages" USING btree ("contact_id");