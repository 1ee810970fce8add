-- 001-initial.sql - the bootd inventory, schema version 1
--
-- Applied by inv_open() inside one transaction, which then sets
-- PRAGMA user_version = 1.  Keep the constraints here, not only in C: a
-- row that breaks them is refused by SQLite whatever wrote it.
--
-- MACs are stored in exactly one spelling, lowercase with colons, as iPXE
-- prints ${netX/mac}.  FQDNs are stored lowercase.  Times are unix seconds.

-- Environments: a group of hosts and the unix group that may manage them
-- ('' = only the administrators).
CREATE TABLE env (
	name		TEXT NOT NULL PRIMARY KEY
			CHECK (length(name) BETWEEN 1 AND 64
			    AND name NOT GLOB '*[^A-Za-z0-9_.+-]*'),
	unix_group	TEXT NOT NULL DEFAULT ''
			CHECK (length(unix_group) <= 32
			    AND unix_group NOT GLOB '*[^a-z0-9_-]*')
) WITHOUT ROWID;

INSERT INTO env (name, unix_group) VALUES ('default', '');

-- Distributions: kernel URL and command-line templates.
CREATE TABLE dist (
	name		TEXT NOT NULL PRIMARY KEY
			CHECK (length(name) BETWEEN 1 AND 64
			    AND name NOT GLOB '*[^A-Za-z0-9_.+-]*'),
	kernel		TEXT NOT NULL
			CHECK (length(kernel) BETWEEN 1 AND 1024
			    AND kernel NOT GLOB '*[^!-~]*'),
	cmdline		TEXT NOT NULL DEFAULT ''
			CHECK (length(cmdline) <= 2048
			    AND cmdline NOT GLOB '*[^ -~]*')
) WITHOUT ROWID;

-- The initrds of a distribution, in load order (pos 0, 1, ...).  That a
-- distribution has at least one is enforced by inv_dist_add/update.
CREATE TABLE dist_initrd (
	dist		TEXT NOT NULL
			REFERENCES dist (name) ON DELETE CASCADE,
	pos		INTEGER NOT NULL CHECK (pos >= 0),
	url		TEXT NOT NULL
			CHECK (length(url) BETWEEN 1 AND 1024
			    AND url NOT GLOB '*[^!-~]*'),
	PRIMARY KEY (dist, pos)
) WITHOUT ROWID;

-- Hosts.  A host marked 'install' must name a distribution.
CREATE TABLE host (
	id		INTEGER PRIMARY KEY,
	fqdn		TEXT NOT NULL UNIQUE
			CHECK (length(fqdn) BETWEEN 1 AND 253
			    AND fqdn NOT GLOB '*[^a-z0-9.-]*'),
	env		TEXT NOT NULL DEFAULT 'default'
			REFERENCES env (name) ON DELETE RESTRICT,
	action		TEXT NOT NULL DEFAULT 'local'
			CHECK (action IN ('local', 'install')),
	dist		TEXT
			REFERENCES dist (name) ON DELETE RESTRICT,
	last_seen	INTEGER NOT NULL DEFAULT 0,
	last_served	TEXT,
	CHECK (action = 'local' OR dist IS NOT NULL)
);

CREATE INDEX host_env ON host (env);
CREATE INDEX host_dist ON host (dist);
-- Short name (first label), for resolving "web1" to "web1.example.org".
CREATE INDEX host_short ON host (substr(fqdn, 1, instr(fqdn || '.', '.') - 1));

-- NICs: the boot lookup is one read of this primary key, then host by id.
CREATE TABLE nic (
	mac		TEXT NOT NULL PRIMARY KEY
			CHECK (length(mac) = 17 AND mac GLOB
			    '[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]'),
	host		INTEGER NOT NULL
			REFERENCES host (id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE INDEX nic_host ON nic (host);

-- Free key/value attributes of a host, used by {{attr.KEY}}.
CREATE TABLE host_attr (
	host		INTEGER NOT NULL
			REFERENCES host (id) ON DELETE CASCADE,
	key		TEXT NOT NULL
			CHECK (length(key) BETWEEN 1 AND 64
			    AND key NOT GLOB '*[^a-z0-9_.-]*'),
	value		TEXT NOT NULL
			CHECK (length(value) <= 255
			    AND value NOT GLOB '*[^!-~]*'
			    AND instr(value, '${') = 0),
	PRIMARY KEY (host, key)
) WITHOUT ROWID;

-- Install tokens: single use.  A token is live while used_at IS NULL,
-- revoked = 0 and expires is in the future; a host has at most one
-- unused, unrevoked token.
CREATE TABLE token (
	token		TEXT NOT NULL PRIMARY KEY
			CHECK (length(token) = 32
			    AND token NOT GLOB '*[^0-9a-f]*'),
	host		INTEGER NOT NULL
			REFERENCES host (id) ON DELETE CASCADE,
	created		INTEGER NOT NULL,
	expires		INTEGER NOT NULL,
	used_at		INTEGER,
	revoked		INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
) WITHOUT ROWID;

CREATE INDEX token_host ON token (host);
CREATE UNIQUE INDEX token_open ON token (host)
	WHERE used_at IS NULL AND revoked = 0;

-- Every change: who, when, what, old -> new.
CREATE TABLE audit (
	id		INTEGER PRIMARY KEY AUTOINCREMENT,
	time		INTEGER NOT NULL,
	actor		TEXT NOT NULL,
	op		TEXT NOT NULL,
	object		TEXT NOT NULL,
	old		TEXT,
	new		TEXT
);

CREATE INDEX audit_object ON audit (object, id);

-- Every boot request answered.
CREATE TABLE boot_event (
	id		INTEGER PRIMARY KEY,
	time		INTEGER NOT NULL,
	mac		TEXT NOT NULL
			CHECK (length(mac) = 17 AND mac GLOB
			    '[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]'),
	host		TEXT,
	served		TEXT NOT NULL,
	params		TEXT
);

CREATE INDEX boot_event_time ON boot_event (time);

-- MACs that asked but are in no host's NICs.
CREATE TABLE discovered (
	mac		TEXT NOT NULL PRIMARY KEY
			CHECK (length(mac) = 17 AND mac GLOB
			    '[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]'),
	first_seen	INTEGER NOT NULL,
	last_seen	INTEGER NOT NULL,
	count		INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1),
	params		TEXT
) WITHOUT ROWID;
