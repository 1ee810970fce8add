-- postgresql/events/002-counts-per-batch.sql - row counts kept per batch
-- (the twin of sql/events/002-counts-per-batch.sql)
--
-- Schema version 1 kept events.counts exact with statement-level
-- triggers.  Now events_record(), events_prune() and events_import()
-- update the counts row once per transaction, from what their statements
-- inserted and deleted (lib/events.c), on both engines alike.  The
-- triggers and their function go, and the counts are taken again from
-- the tables.
DROP TRIGGER boot_event_added ON events.boot_event;
DROP TRIGGER boot_event_removed ON events.boot_event;
DROP TRIGGER discovered_added ON events.discovered;
DROP TRIGGER discovered_removed ON events.discovered;
DROP FUNCTION events.count_rows();

UPDATE events.counts SET events = (SELECT count(*) FROM events.boot_event),
    discovered = (SELECT count(*) FROM events.discovered);

UPDATE events.schema_version SET version = 2;
