-- events/001-initial.sql - the bootd events database, schema version 1
--
-- Applied by events_open() inside one transaction, which then sets
-- PRAGMA user_version = 1.  This file is not the inventory: it holds what
-- the boot network tells bootd (every answered boot request, MACs that no
-- host has, when each host's MACs last booted), written by bootd alone and
-- capped in size (see lib/events.c).  MACs are canonical (lowercase with
-- colons); times are unix seconds.

-- Every boot request answered, oldest first by id.  The cap
-- (daemon.events_max) keeps the newest rows by id.
CREATE TABLE boot_event (
	id		INTEGER PRIMARY KEY,
	time		INTEGER NOT NULL,
	mac		TEXT NOT NULL
			CHECK (length(mac) = 17 AND mac GLOB
			    '[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]'),
	host		TEXT,		-- FQDN; NULL for an unknown MAC
	served		TEXT NOT NULL,
	params		TEXT,		-- client parameters, "k=v k=v"
	addr		TEXT		-- client address (REMOTE_ADDR)
);

CREATE INDEX boot_event_time ON boot_event (time);

-- MACs that asked but were in no host's NICs when they did.  The cap
-- (daemon.discovered_max) removes those last seen longest ago.
-- A rowid table, not WITHOUT ROWID: a row with long parameters then fits
-- in its page instead of spilling into a mostly empty overflow page.
CREATE TABLE discovered (
	id		INTEGER PRIMARY KEY,
	mac		TEXT NOT NULL UNIQUE
			CHECK (length(mac) = 17 AND mac GLOB
			    '[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]'),
	first_seen	INTEGER NOT NULL,
	last_seen	INTEGER NOT NULL,
	count		INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1),
	params		TEXT,		-- of the last request
	addr		TEXT		-- of the last request
);

CREATE INDEX discovered_last_seen ON discovered (last_seen);

-- The last boot of each MAC that belonged to a host: a host's "last
-- seen" is the newest of its MACs'.  Only MACs of the inventory get here,
-- so the boot network cannot grow this table.
CREATE TABLE seen (
	mac		TEXT NOT NULL PRIMARY KEY,
	host		TEXT NOT NULL,	-- FQDN at the time
	last_seen	INTEGER NOT NULL,
	last_served	TEXT NOT NULL
) WITHOUT ROWID;

-- Row counts, kept exact by the triggers below, so that enforcing a cap
-- never counts a table.
CREATE TABLE counts (
	one		INTEGER PRIMARY KEY CHECK (one = 1),
	events		INTEGER NOT NULL,
	discovered	INTEGER NOT NULL
);

INSERT INTO counts (one, events, discovered) VALUES (1, 0, 0);

CREATE TRIGGER boot_event_added AFTER INSERT ON boot_event BEGIN
	UPDATE counts SET events = events + 1;
END;
CREATE TRIGGER boot_event_removed AFTER DELETE ON boot_event BEGIN
	UPDATE counts SET events = events - 1;
END;
CREATE TRIGGER discovered_added AFTER INSERT ON discovered BEGIN
	UPDATE counts SET discovered = discovered + 1;
END;
CREATE TRIGGER discovered_removed AFTER DELETE ON discovered BEGIN
	UPDATE counts SET discovered = discovered - 1;
END;
