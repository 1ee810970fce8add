-- postgresql/events/003-seen-written-later.sql - the twin of
-- sql/events/003-seen-written-later.sql
--
-- On SQLite the recorder now writes hosts' last seen times some seconds
-- after their boot events, and counts.seen_upto says how far "seen" is
-- complete.  Here the recorders go on writing them with each batch: the
-- sites' recorders share these tables, and one's mark could not say what
-- another still holds.  "seen" stays complete and nothing reads the
-- column; it is here so that both engines keep the same tables
-- (tests/integration/test_pg_schema.py).
ALTER TABLE events.counts ADD COLUMN seen_upto bigint NOT NULL DEFAULT 0;

UPDATE events.counts
    SET seen_upto = coalesce((SELECT max(id) FROM events.boot_event), 0);

UPDATE events.schema_version SET version = 3;
