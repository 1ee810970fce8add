-- postgresql/003-initial.sql - the bootd inventory on PostgreSQL, schema
-- version 3, made from nothing
--
-- The same tables, columns, constraints and indexes as sql/001 + 002 +
-- 003 build for SQLite, so that "schema version N" means one thing on
-- either engine.  A PostgreSQL inventory never had versions 1 and 2: it
-- starts here.  Each file in sql/postgresql/ is named after the version it
-- brings the database to, as sql/NNN-*.sql are for SQLite (user_version);
-- a change to the SQLite schema gets its twin here, with the same number.
-- tests/integration/test_pg_schema.py compares the two: tables, columns,
-- indexes, the version, and what each refuses.  The files are compiled
-- in as pg_inv_migrations[] (lib/migrations.h); tests/test_db.c applies
-- them through the PostgreSQL driver.
--
-- Translation rules, the same everywhere below:
--  * GLOB checks become regular expressions (~, !~).  "NOT GLOB
--    '*[^set]*'" (no character outside set) is "!~ '[^set]'"; an exact
--    GLOB pattern is an anchored expression.  PostgreSQL's ^ and $ anchor
--    at the very ends of the string (no newline exception), and [^...]
--    matches a newline, as GLOB does.  Character ranges count by code
--    point in any locale.
--  * length() counts characters in both; values are ASCII anyway.
--  * INTEGER is bigint (SQLite's integers are 64 bits); times stay unix
--    seconds in bigint, not timestamptz, so that every query and every
--    bound value means the same on both engines.
--  * Flags stay integers 0/1 (token.revoked): the shared queries compare
--    them with 0 and bind integers; boolean would need a second dialect.
--  * INTEGER PRIMARY KEY and AUTOINCREMENT become GENERATED ALWAYS AS
--    IDENTITY: the database picks ids and never reuses one (SQLite's
--    plain rowid may reuse the highest id after a delete; nothing in
--    bootd depends on either).  Inserts return the id with RETURNING.
--  * WITHOUT ROWID has no equivalent and is dropped.
--  * Foreign keys are always enforced (SQLite needs PRAGMA foreign_keys).
--  * Text is COLLATE "C": compared and sorted by bytes, as SQLite's
--    BINARY does, whatever collation the database was created with.
--    bootd's listings sort by name, FQDN, key and MAC, and its completion
--    scans the FQDN index by byte range; a language's collation (en_US:
--    "web-2" before "web1") would change both.  The audit log's text is
--    only compared for equality (ordered by id) and keeps the database's
--    collation.
--
-- The legacy_* tables sql/003 leaves in an upgraded SQLite inventory for
-- events_import() are not here: a PostgreSQL inventory has no version-1
-- boot records to move.  Boot events live in the schema "events"
-- (sql/postgresql/events/).
--
-- The objects are created in the first schema of the search_path (public
-- unless the role says otherwise); bootd names them unqualified.

-- The schema version: what PRAGMA user_version is to SQLite.  Exactly one
-- row; set in the same transaction as the schema it describes (DDL is
-- transactional in PostgreSQL).
CREATE TABLE schema_version (
	one		integer NOT NULL PRIMARY KEY DEFAULT 1 CHECK (one = 1),
	version		integer NOT NULL CHECK (version >= 1)
);

-- Environments: a group of hosts and the unix group that may manage them
-- ('' = only the administrators).
CREATE TABLE env (
	name		text COLLATE "C" NOT NULL PRIMARY KEY
			CHECK (length(name) BETWEEN 1 AND 64
			    AND name !~ '[^A-Za-z0-9_.+-]'),
	unix_group	text COLLATE "C" NOT NULL DEFAULT ''
			CHECK (length(unix_group) <= 32
			    AND unix_group !~ '[^a-z0-9_-]')
);

INSERT INTO env (name, unix_group) VALUES ('default', '');

-- Distributions: kernel URL and command-line templates.
CREATE TABLE dist (
	name		text COLLATE "C" NOT NULL PRIMARY KEY
			CHECK (length(name) BETWEEN 1 AND 64
			    AND name !~ '[^A-Za-z0-9_.+-]'),
	kernel		text COLLATE "C" NOT NULL
			CHECK (length(kernel) BETWEEN 1 AND 1024
			    AND kernel !~ '[^!-~]'),
	cmdline		text COLLATE "C" NOT NULL DEFAULT ''
			CHECK (length(cmdline) <= 2048
			    AND cmdline !~ '[^ -~]')
);

-- The initrds of a distribution, in load order (pos 0, 1, ...).  That a
-- distribution has at least one is enforced by inv_dist_add/update.
CREATE TABLE dist_initrd (
	dist		text COLLATE "C" NOT NULL
			REFERENCES dist (name) ON DELETE CASCADE,
	pos		bigint NOT NULL CHECK (pos >= 0),
	url		text COLLATE "C" NOT NULL
			CHECK (length(url) BETWEEN 1 AND 1024
			    AND url !~ '[^!-~]'),
	PRIMARY KEY (dist, pos)
);

-- Hosts.  A host marked 'install' must name a distribution.
CREATE TABLE host (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	fqdn		text COLLATE "C" NOT NULL UNIQUE
			CHECK (length(fqdn) BETWEEN 1 AND 253
			    AND fqdn !~ '[^a-z0-9.-]'),
	env		text COLLATE "C" NOT NULL DEFAULT 'default'
			REFERENCES env (name) ON DELETE RESTRICT,
	action		text COLLATE "C" NOT NULL DEFAULT 'local'
			CHECK (action IN ('local', 'install')),
	dist		text COLLATE "C"
			REFERENCES dist (name) ON DELETE RESTRICT,
	CHECK (action = 'local' OR dist IS NOT NULL)
);

CREATE INDEX host_env ON host (env);
CREATE INDEX host_dist ON host (dist);
-- Short name (first label), for resolving "web1" to "web1.example.org".
-- SQLite's index is on substr(fqdn, 1, instr(fqdn || '.', '.') - 1): the
-- same value; the query that uses it is written per engine.
CREATE INDEX host_short ON host (split_part(fqdn, '.', 1));

-- NICs: the boot lookup is one read of this primary key, then host by id.
CREATE TABLE nic (
	mac		text COLLATE "C" NOT NULL PRIMARY KEY
			CHECK (length(mac) = 17
			    AND mac ~ '^[0-9a-f]{2}(:[0-9a-f]{2}){5}$'),
	host		bigint NOT NULL
			REFERENCES host (id) ON DELETE CASCADE
);

CREATE INDEX nic_host ON nic (host);

-- Free key/value attributes of a host, used by {{attr.KEY}}.
CREATE TABLE host_attr (
	host		bigint NOT NULL
			REFERENCES host (id) ON DELETE CASCADE,
	key		text COLLATE "C" NOT NULL
			CHECK (length(key) BETWEEN 1 AND 64
			    AND key !~ '[^a-z0-9_.-]'),
	value		text COLLATE "C" NOT NULL
			CHECK (length(value) <= 255
			    AND value !~ '[^!-~]'
			    AND strpos(value, '${') = 0),
	PRIMARY KEY (host, key)
);

-- Install tokens: single use.  A token is live while used_at IS NULL,
-- revoked = 0 and expires is in the future; a host has at most one
-- unused, unrevoked token.  fetched_from/fetched_at: sql/002.
CREATE TABLE token (
	token		text COLLATE "C" NOT NULL PRIMARY KEY
			CHECK (length(token) = 32
			    AND token !~ '[^0-9a-f]'),
	host		bigint NOT NULL
			REFERENCES host (id) ON DELETE CASCADE,
	created		bigint NOT NULL,
	expires		bigint NOT NULL,
	used_at		bigint,
	revoked		bigint NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
	fetched_from	text COLLATE "C"
			CHECK (fetched_from IS NULL OR
			    (length(fetched_from) BETWEEN 2 AND 45
			    AND fetched_from !~ '[^0-9a-f.:]'
			    AND fetched_from ~ '[.:]')),
	fetched_at	bigint
			CHECK ((fetched_at IS NULL) = (fetched_from IS NULL))
);

CREATE INDEX token_host ON token (host);
CREATE UNIQUE INDEX token_open ON token (host)
	WHERE used_at IS NULL AND revoked = 0;

-- Every change: who, when, what, old -> new.
CREATE TABLE audit (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	time		bigint NOT NULL,
	actor		text NOT NULL,
	op		text NOT NULL,
	object		text NOT NULL,
	old		text,
	new		text
);

CREATE INDEX audit_object ON audit (object, id);

INSERT INTO schema_version (version) VALUES (3);
