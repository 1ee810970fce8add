-- 004-discovered-forgotten.sql - discovered MACs an operator has dealt with
--
-- The discovered list lives in the events database, which bootd's
-- recorder alone writes (lib/events.c); bootctl opens it read-only.  So
-- `bootctl discovered forget` and `discovered adopt` record here, in the
-- inventory, that a MAC was dealt with, and the listing leaves out every
-- discovered MAC whose last request is not newer than forgotten_at: a
-- forgotten machine that asks again shows up again.  A row is written
-- with an audit row, by those two verbs only.
CREATE TABLE discovered_forgotten (
	mac		TEXT NOT NULL PRIMARY KEY
			CHECK (length(mac) = 17 AND mac GLOB
			    '[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]'),
	forgotten_at	INTEGER NOT NULL
) WITHOUT ROWID;
