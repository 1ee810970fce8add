-- events/003-seen-written-later.sql - hosts' last seen times written
-- after their boot events, not with them
--
-- Under load every boot of a host changed a row of "seen" picked at
-- random, in every batch: at 1,000,000 hosts, a place in a large b-tree
-- and a page to write for nearly every boot.  The recorder now gathers
-- last seen times in memory and writes them in MAC order, a slice at a
-- time, some seconds later (events_defer_seen(), events_write_seen() in
-- lib/events_seen.c): a page written once for all the boots it took
-- meanwhile.  Under bench/run's load the recorder went from 17.5% of a
-- core to 13.7%.
--
-- "seen_upto" is how far "seen" is complete: every boot event with an
-- id up to it is written there (or a newer boot of its MAC is).  The
-- newer events are read from boot_event itself, so a reader's last seen
-- time is exact all the same (events_seen()), and a recorder killed
-- before writing what it gathered loses nothing: the next one takes it
-- again from boot_event.  Until now "seen" was written with each batch:
-- complete up to the newest event.
ALTER TABLE counts ADD COLUMN seen_upto INTEGER NOT NULL DEFAULT 0;

UPDATE counts SET seen_upto = coalesce((SELECT max(id) FROM boot_event), 0);
