-- inv-v1.sql - a populated bootd inventory at schema version 1, frozen.
--
-- test_inv_schema loads this file into a new database and opens it
-- read-write: whatever migrations come after version 1 must carry these
-- rows over.
-- The schema part must stay byte-identical in meaning to what
-- sql/001-initial.sql creates (test_inv_schema compares them): a released
-- migration never changes.
CREATE TABLE env (
	name		TEXT NOT NULL PRIMARY KEY
			CHECK (length(name) BETWEEN 1 AND 64
			    AND name NOT GLOB '*[^A-Za-z0-9_.+-]*'),
	unix_group	TEXT NOT NULL DEFAULT ''
			CHECK (length(unix_group) <= 32
			    AND unix_group NOT GLOB '*[^a-z0-9_-]*')
) WITHOUT ROWID;

INSERT INTO env (name, unix_group) VALUES ('default', '');

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

CREATE TABLE dist_initrd (
	dist		TEXT NOT NULL
			REFERENCES dist (name) ON DELETE CASCADE,
	pos		INTEGER NOT NULL CHECK (pos >= 0),
	url		TEXT NOT NULL
			CHECK (length(url) BETWEEN 1 AND 1024
			    AND url NOT GLOB '*[^!-~]*'),
	PRIMARY KEY (dist, pos)
) WITHOUT ROWID;

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
CREATE INDEX host_short ON host (substr(fqdn, 1, instr(fqdn || '.', '.') - 1));

CREATE TABLE nic (
	mac		TEXT NOT NULL PRIMARY KEY
			CHECK (length(mac) = 17 AND mac GLOB
			    '[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]'),
	host		INTEGER NOT NULL
			REFERENCES host (id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE INDEX nic_host ON nic (host);

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

CREATE TABLE discovered (
	mac		TEXT NOT NULL PRIMARY KEY
			CHECK (length(mac) = 17 AND mac GLOB
			    '[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]'),
	first_seen	INTEGER NOT NULL,
	last_seen	INTEGER NOT NULL,
	count		INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1),
	params		TEXT
) WITHOUT ROWID;

-- Data.
INSERT INTO env (name, unix_group) VALUES ('prod', 'ops');
INSERT INTO dist (name, kernel, cmdline) VALUES
	('debian-12', 'http://boot.example.org/images/debian-12/linux',
	 'auto=true url={{base_url}}/preseed/{{fqdn}}.cfg role={{attr.role}}');
INSERT INTO dist_initrd (dist, pos, url) VALUES
	('debian-12', 0, 'http://boot.example.org/images/debian-12/initrd.gz'),
	('debian-12', 1, 'http://boot.example.org/images/firmware.cpio.gz');
INSERT INTO host (id, fqdn, env, action, dist, last_seen, last_served) VALUES
	(1, 'web1.example.org', 'prod', 'install', 'debian-12', 1700000000,
	 'local'),
	(2, 'db1.example.org', 'default', 'local', NULL, 0, NULL);
INSERT INTO nic (mac, host) VALUES
	('52:54:00:00:00:01', 1),
	('52:54:00:00:00:11', 1),
	('52:54:00:00:00:02', 2);
INSERT INTO host_attr (host, key, value) VALUES
	(1, 'role', 'webserver'),
	(2, 'rack', 'b12');
INSERT INTO token (token, host, created, expires, used_at, revoked) VALUES
	('00000000000000000000000000000001', 1, 1699990000, 1699990060,
	 NULL, 1),
	('0123456789abcdef0123456789abcdef', 1, 1700000000, 4102444800,
	 NULL, 0);
INSERT INTO audit (time, actor, op, object, old, new) VALUES
	(1699999000, 'alice (uid 1000)', 'host-add', 'web1.example.org', NULL,
	 'env=default action=local dist=- macs=52:54:00:00:00:01'),
	(1700000000, 'alice (uid 1000)', 'set-reinstall', 'web1.example.org',
	 'action=local dist=-',
	 'action=install dist=debian-12 expires=4102444800');
INSERT INTO boot_event (time, mac, host, served, params) VALUES
	(1700000000, '52:54:00:00:00:01', 'web1.example.org', 'local', NULL),
	(1700000100, '52:54:00:00:00:99', NULL, 'unknown', 'platform=efi');
INSERT INTO discovered (mac, first_seen, last_seen, count, params) VALUES
	('52:54:00:00:00:99', 1700000100, 1700000100, 1, 'platform=efi');

PRAGMA user_version = 1;
