CREATE TABLE "cert_connections" (
	"process_id" text NOT NULL,
	"fingerprint" text NOT NULL,
	"n" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "cert_connections_process_id_fingerprint_pk" PRIMARY KEY("process_id","fingerprint")
);
--> statement-breakpoint
CREATE TABLE "gateway_processes" (
	"id" text PRIMARY KEY NOT NULL,
	"roles" text NOT NULL,
	"host" text NOT NULL,
	"pid" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"heartbeat_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rate_counters" (
	"key" text NOT NULL,
	"bucket" bigint NOT NULL,
	"n" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "rate_counters_key_bucket_pk" PRIMARY KEY("key","bucket")
);
--> statement-breakpoint
ALTER TABLE "cert_connections" ADD CONSTRAINT "cert_connections_process_id_gateway_processes_id_fk" FOREIGN KEY ("process_id") REFERENCES "public"."gateway_processes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "cert_connections_fp_idx" ON "cert_connections" USING btree ("fingerprint");