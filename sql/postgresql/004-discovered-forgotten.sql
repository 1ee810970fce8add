-- 004-discovered-forgotten.sql - discovered MACs an operator has dealt with
--
-- The twin of sql/004-discovered-forgotten.sql (the reasons are there):
-- `bootctl discovered forget` and `discovered adopt` record here that a
-- MAC was dealt with; the listing leaves out every discovered MAC whose
-- last request is not newer than forgotten_at.
CREATE TABLE discovered_forgotten (
	mac		text COLLATE "C" NOT NULL PRIMARY KEY
			CHECK (length(mac) = 17
			    AND mac ~ '^[0-9a-f]{2}(:[0-9a-f]{2}){5}$'),
	forgotten_at	bigint NOT NULL
);

UPDATE schema_version SET version = 4;
