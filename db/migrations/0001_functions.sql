-- Hand-written: rules the database itself enforces, and partition upkeep for readings.

-- The case event log is the audit trail: append-only, enforced here and not only in code.
CREATE FUNCTION citygrid_forbid_event_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'case_events is append-only (% refused)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;--> statement-breakpoint
CREATE TRIGGER case_events_append_only
  BEFORE UPDATE OR DELETE ON case_events
  FOR EACH ROW EXECUTE FUNCTION citygrid_forbid_event_change();--> statement-breakpoint
CREATE TRIGGER case_events_no_truncate
  BEFORE TRUNCATE ON case_events
  FOR EACH STATEMENT EXECUTE FUNCTION citygrid_forbid_event_change();--> statement-breakpoint

-- Case numbers: a per-day running number, e.g. TR20261127000123.
CREATE SEQUENCE case_code_seq;--> statement-breakpoint

-- Creates the daily partitions of `readings` covering [p_from, p_to] (UTC days); returns how
-- many it created. Idempotent, so every ingester may call it for the days its batch touches.
CREATE FUNCTION citygrid_ensure_reading_partitions(p_from date, p_to date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  d date := p_from;
  created integer := 0;
  part text;
BEGIN
  WHILE d <= p_to LOOP
    part := 'readings_' || to_char(d, 'YYYYMMDD');
    IF to_regclass(part) IS NULL THEN
      EXECUTE format(
        'CREATE TABLE IF NOT EXISTS %I PARTITION OF readings FOR VALUES FROM (%L) TO (%L)',
        part, (d::timestamp AT TIME ZONE 'UTC'), ((d + 1)::timestamp AT TIME ZONE 'UTC'));
      created := created + 1;
    END IF;
    d := d + 1;
  END LOOP;
  RETURN created;
END;
$$;--> statement-breakpoint

-- Drops daily partitions whose whole day is older than p_before; returns how many it dropped.
CREATE FUNCTION citygrid_drop_reading_partitions(p_before date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  dropped integer := 0;
BEGIN
  FOR r IN
    SELECT c.relname
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_class p ON p.oid = i.inhparent
    WHERE p.relname = 'readings' AND c.relname ~ '^readings_[0-9]{8}$'
      AND to_date(substr(c.relname, 10), 'YYYYMMDD') < p_before
  LOOP
    EXECUTE format('DROP TABLE %I', r.relname);
    dropped := dropped + 1;
  END LOOP;
  RETURN dropped;
END;
$$;--> statement-breakpoint

-- Partitions from a week back to a week ahead, so a fresh database accepts readings at once.
SELECT citygrid_ensure_reading_partitions((now() AT TIME ZONE 'UTC')::date - 7, (now() AT TIME ZONE 'UTC')::date + 7);
