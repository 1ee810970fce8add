-- postgresql/events/001-initial.sql - the bootd events on PostgreSQL,
-- schema version 1 (the twin of sql/events/001-initial.sql)
--
-- What the boot network tells bootd: every answered boot request, MACs
-- that no host has, when each host's MACs last booted.  Written by bootd
-- alone, capped in size (lib/events.c).  MACs are canonical; times are
-- unix seconds (bigint), as in the inventory (see ../003-initial.sql for
-- how SQLite's types and checks translate).
--
-- WHERE THESE LIVE.  On SQLite the events are a file of their own.  On
-- PostgreSQL they are a schema, "events", in the inventory's database:
--  * a PostgreSQL connection reaches one database only, so a separate
--    database would double the connections of every worker, recorder and
--    bootctl, and listings that show hosts with their last boot could not
--    join the two;
--  * SQLite's reasons for a second file do not carry over: under MVCC an
--    event commit neither invalidates nor blocks inventory readers, and a
--    recorder's batch never waits for bootctl's write lock (rows, not a
--    database, are locked);
--  * durability still splits: the recorder may commit its batches with
--    synchronous_commit = off (a crash loses the last batch, never an
--    inventory change), per transaction;
--  * one database is one replication stream, one backup and one URI for
--    the operator, and every standby has both;
--  * a schema of its own keeps SQLite's table names (the same statements
--    run with search_path = events), its own version marker, and its own
--    privileges: only bootd's role writes here, operators' roles read.
-- The tables are ordinary (logged), not UNLOGGED: unlogged tables do not
-- reach standbys and are emptied after a crash.
--
-- Caps without counting: "counts" holds the row counts of boot_event and
-- discovered, kept exact by triggers, as on SQLite.  Here they are
-- statement-level triggers over transition tables: one update of the
-- counts row per statement (a batch), not per row.  An INSERT ... ON
-- CONFLICT DO UPDATE counts only the rows it inserted.

CREATE SCHEMA events;

-- The events schema version: what PRAGMA user_version is to the SQLite
-- events file.  Exactly one row.
CREATE TABLE events.schema_version (
	one		integer NOT NULL PRIMARY KEY DEFAULT 1 CHECK (one = 1),
	version		integer NOT NULL CHECK (version >= 1)
);

-- Every boot request answered, oldest first by id.  The cap
-- (daemon.events_max) keeps the newest rows by id.
CREATE TABLE events.boot_event (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	time		bigint NOT NULL,
	mac		text NOT NULL
			CHECK (length(mac) = 17
			    AND mac ~ '^[0-9a-f]{2}(:[0-9a-f]{2}){5}$'),
	host		text,		-- FQDN; NULL for an unknown MAC
	served		text NOT NULL,
	params		text,		-- client parameters, "k=v k=v"
	addr		text		-- client address (REMOTE_ADDR)
);

CREATE INDEX boot_event_time ON events.boot_event (time);

-- MACs that asked but were in no host's NICs when they did.  The cap
-- (daemon.discovered_max) removes those last seen longest ago.
CREATE TABLE events.discovered (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	mac		text NOT NULL UNIQUE
			CHECK (length(mac) = 17
			    AND mac ~ '^[0-9a-f]{2}(:[0-9a-f]{2}){5}$'),
	first_seen	bigint NOT NULL,
	last_seen	bigint NOT NULL,
	count		bigint NOT NULL DEFAULT 1 CHECK (count >= 1),
	params		text,		-- of the last request
	addr		text		-- of the last request
);

CREATE INDEX discovered_last_seen ON events.discovered (last_seen);

-- The last boot of each MAC that belonged to a host: a host's "last
-- seen" is the newest of its MACs'.
CREATE TABLE events.seen (
	mac		text NOT NULL PRIMARY KEY,
	host		text NOT NULL,	-- FQDN at the time
	last_seen	bigint NOT NULL,
	last_served	text NOT NULL
);

-- Row counts, kept exact by the triggers below.
CREATE TABLE events.counts (
	one		bigint PRIMARY KEY CHECK (one = 1),
	events		bigint NOT NULL,
	discovered	bigint NOT NULL
);

INSERT INTO events.counts (one, events, discovered) VALUES (1, 0, 0);

-- TG_ARGV[0] names the column of counts; "changed" holds the rows the
-- statement inserted (or deleted).  Statements that change no row leave
-- counts alone (no row lock, no dead tuple).
CREATE FUNCTION events.count_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	SELECT count(*) INTO n FROM changed;
	IF n > 0 THEN
		IF TG_OP = 'DELETE' THEN
			n := -n;
		END IF;
		EXECUTE format('UPDATE events.counts SET %I = %I + $1',
		    TG_ARGV[0], TG_ARGV[0]) USING n;
	END IF;
	RETURN NULL;
END;
$$;

CREATE TRIGGER boot_event_added AFTER INSERT ON events.boot_event
	REFERENCING NEW TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION events.count_rows('events');
CREATE TRIGGER boot_event_removed AFTER DELETE ON events.boot_event
	REFERENCING OLD TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION events.count_rows('events');
CREATE TRIGGER discovered_added AFTER INSERT ON events.discovered
	REFERENCING NEW TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION events.count_rows('discovered');
CREATE TRIGGER discovered_removed AFTER DELETE ON events.discovered
	REFERENCING OLD TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION events.count_rows('discovered');

INSERT INTO events.schema_version (version) VALUES (1);
