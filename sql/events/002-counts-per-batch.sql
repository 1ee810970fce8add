-- events/002-counts-per-batch.sql - row counts kept per batch, not per row
--
-- Schema version 1 kept "counts" exact with a trigger per row: every
-- boot event stored and every discovered MAC added or removed ran an
-- UPDATE of the counts row, one more write per row in the recorder's
-- batches.  Profiled (bench/profile, callgrind, batches of 128), an
-- event cost the recorder 44.6k instructions with them, 33.3k without.  Now
-- events_record(), events_prune() and events_import() add up what their
-- statements inserted and deleted and update the counts row once per
-- transaction (lib/events.c).  bootd is the only writer of this file;
-- whatever else writes rows here must keep "counts" right itself.
--
-- The triggers go, and the counts are taken again from the tables, so
-- that they are exact whatever happened before.
DROP TRIGGER boot_event_added;
DROP TRIGGER boot_event_removed;
DROP TRIGGER discovered_added;
DROP TRIGGER discovered_removed;

UPDATE counts SET events = (SELECT count(*) FROM boot_event),
    discovered = (SELECT count(*) FROM discovered);
