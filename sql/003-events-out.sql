-- 003-events-out.sql - boot events leave the inventory
--
-- Boot events, discovered MACs and last seen times now live in the events
-- database, a file of its own (lib/events.c says why).  The inventory
-- keeps what operators decide, nothing the boot network reports.
--
-- What version 1 recorded is set aside here in legacy_* tables; bootd
-- moves it into the events database the first time it opens that file
-- (events_import) and drops these tables in the same locked step.  Hosts'
-- last seen times become per-MAC rows, as the events database keeps them.
CREATE TABLE legacy_seen AS
	SELECT n.mac AS mac, h.fqdn AS host, h.last_seen AS last_seen,
	    h.last_served AS last_served
	FROM nic n JOIN host h ON h.id = n.host
	WHERE h.last_seen > 0;

DROP INDEX boot_event_time;
ALTER TABLE boot_event RENAME TO legacy_boot_event;
ALTER TABLE discovered RENAME TO legacy_discovered;

ALTER TABLE host DROP COLUMN last_seen;
ALTER TABLE host DROP COLUMN last_served;
