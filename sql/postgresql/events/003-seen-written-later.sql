-- postgresql/events/003-seen-written-later.sql - the version of
-- sql/events/003-seen-written-later.sql, with nothing to change
--
-- On SQLite the recorder now writes hosts' last seen times some seconds
-- after their boot events, and counts.seen_upto says how far "seen" is
-- complete.  Here it goes on writing them with each batch: the sites'
-- recorders share these tables, and one's mark could not say what
-- another still holds.  "seen" stays complete; the version follows
-- SQLite's.
UPDATE events.schema_version SET version = 3;
