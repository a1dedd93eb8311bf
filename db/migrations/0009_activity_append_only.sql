-- The activity history is append-only (SPEC §6.5): an event, once written, is never deleted, and never changed
-- except (1) by the chainer, which fills chain_seq, prev_hash and hash of an event not yet sealed, and (2) by a
-- master-key rotation, which re-wraps the data key of `detail` and leaves its encrypted body (what the hash
-- covers) untouched. Anything else raises. Someone able to disable triggers is caught by the signed chain head
-- (activity_heads) instead.
CREATE OR REPLACE FUNCTION activity_sealed_body(v bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
  -- vault/envelope.ts packSealed: version, key id length, key id, wrapped key length (2 bytes), wrapped key, body
  SELECT CASE WHEN v IS NULL THEN NULL
              ELSE substring(v FROM 5 + get_byte(v, 1) + get_byte(v, 2 + get_byte(v, 1)) * 256 + get_byte(v, 3 + get_byte(v, 1))) END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION activity_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
    RAISE EXCEPTION 'activity_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.id IS DISTINCT FROM OLD.id OR NEW.patient_id IS DISTINCT FROM OLD.patient_id OR NEW.kind IS DISTINCT FROM OLD.kind
     OR NEW.actor IS DISTINCT FROM OLD.actor OR NEW.actor_kind IS DISTINCT FROM OLD.actor_kind
     OR NEW.actor_rpps IS DISTINCT FROM OLD.actor_rpps OR NEW.document_id IS DISTINCT FROM OLD.document_id
     OR NEW.created_at IS DISTINCT FROM OLD.created_at
     OR activity_sealed_body(NEW.detail) IS DISTINCT FROM activity_sealed_body(OLD.detail) THEN
    RAISE EXCEPTION 'activity_events is append-only: an event cannot be changed' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.hash IS NOT NULL AND (NEW.hash IS DISTINCT FROM OLD.hash OR NEW.prev_hash IS DISTINCT FROM OLD.prev_hash
                               OR NEW.chain_seq IS DISTINCT FROM OLD.chain_seq) THEN
    RAISE EXCEPTION 'activity_events is append-only: a sealed event keeps its place in the chain' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER activity_events_append_only BEFORE UPDATE OR DELETE ON activity_events
  FOR EACH ROW EXECUTE FUNCTION activity_events_append_only();
--> statement-breakpoint
CREATE TRIGGER activity_events_no_truncate BEFORE TRUNCATE ON activity_events
  FOR EACH STATEMENT EXECUTE FUNCTION activity_events_append_only();
