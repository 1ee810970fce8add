"""
The inventory and events schemas on SQLite (the real migrations, sql/ and
sql/events/) and on PostgreSQL (sql/postgresql/) are one schema: the same
tables, columns, indexes and version, and each engine accepts exactly the
same writes and refuses exactly the same ones, for the same reason (check,
unique, foreign key, not null).

One statement text serves both engines: it is written with PostgreSQL's
$n placeholders and run on SQLite as ?n (sqlite_sql() below, the rule of
lib/db.h), never as $n, which SQLite numbers by first appearance.  On
PostgreSQL each case is PREPAREd and EXECUTEd, so the server binds the
parameters as it will for bootd; on SQLite Python's sqlite3 binds them.
Every case runs in a transaction that is rolled back, on the same data.
"""

import os
import re
import sqlite3
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import pg  # noqa: E402

SOURCE_DIR = os.environ.get("BOOTD_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(HERE))
SQL = os.path.join(SOURCE_DIR, "sql")

MAC = "52:54:00:12:34:56"
LONG = "a" * 250 + ".eu"          # 253 characters: the longest FQDN
TOKEN = "0123456789abcdef0123456789abcdef"


def migrations(directory):
    """(version, path) of directory/NNN-*.sql in order."""
    out = []
    for name in sorted(os.listdir(directory)):
        m = re.match(r"^(\d{3})-.*\.sql$", name)
        if m:
            out.append((int(m.group(1)), os.path.join(directory, name)))
    return out


def read(path):
    with open(path) as f:
        return f.read()


def sqlite_sql(sql):
    """
    PostgreSQL's $n placeholders as SQLite's ?n, outside string literals,
    quoted identifiers and comments: what the SQLite driver does.
    """
    out, i, n = [], 0, len(sql)
    ident = re.compile(r"[A-Za-z0-9_$\x80-\uffff]+")
    while i < n:
        c = sql[i]
        m = ident.match(sql, i)
        if m and c != "$":
            # A name or number ($ and digits in it included: x$1).
            out.append(m.group(0))
            i = m.end()
        elif c in "'\"":
            j = sql.find(c, i + 1)
            j = n if j < 0 else j + 1
            out.append(sql[i:j])
            i = j
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            j = n if j < 0 else j
            out.append(sql[i:j])
            i = j
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(sql[i:j])
            i = j
        elif c == "$" and i + 1 < n and sql[i + 1].isdigit():
            j = i + 1
            while j < n and sql[j].isdigit():
                j += 1
            out.append("?" + sql[i + 1:j])
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def literal(v):
    """A Python value as a PostgreSQL literal for EXECUTE (...)."""
    if v is None:
        return "NULL"
    if isinstance(v, int):
        return str(v)
    return "'" + v.replace("'", "''") + "'"


# What a refusal is, by engine.
SQLITE_KIND = {
    "SQLITE_CONSTRAINT_CHECK": "check",
    "SQLITE_CONSTRAINT_FOREIGNKEY": "fk",
    "SQLITE_CONSTRAINT_UNIQUE": "unique",
    "SQLITE_CONSTRAINT_PRIMARYKEY": "unique",
    "SQLITE_CONSTRAINT_NOTNULL": "notnull",
}
PG_KIND = {"23514": "check", "23503": "fk", "23505": "unique",
           "23502": "notnull"}

# SQLSTATEs that mean the test's statement is wrong, not the data.
BROKEN = {"42601", "42P01", "42703", "42883", "42P02", "42P18", "42804"}

# The same data in both, inserted before the cases (by name, never by id).
FIXTURE = [
    "INSERT INTO env (name, unix_group) VALUES ('lab', 'labops')",
    "INSERT INTO dist (name, kernel, cmdline) VALUES ('debian-12', "
    "'http://10.0.0.1/images/vmlinuz', 'auto=true url={{base_url}}')",
    "INSERT INTO dist_initrd (dist, pos, url) VALUES "
    "('debian-12', 0, 'http://10.0.0.1/images/initrd.gz')",
    "INSERT INTO host (fqdn) VALUES ('web1.example.org')",
    "INSERT INTO host (fqdn, env, action, dist) VALUES "
    "('db1.example.org', 'lab', 'install', 'debian-12')",
    "INSERT INTO nic (mac, host) SELECT '%s', id FROM host "
    "WHERE fqdn = 'web1.example.org'" % MAC,
    "INSERT INTO host_attr (host, key, value) SELECT id, 'puppet_role', "
    "'webserver' FROM host WHERE fqdn = 'web1.example.org'",
    "INSERT INTO token (token, host, created, expires) SELECT '%s', id, "
    "1700000000, 1700003600 FROM host WHERE fqdn = 'db1.example.org'" % TOKEN,
]
EVENTS_FIXTURE = [
    "INSERT INTO boot_event (time, mac, host, served) VALUES "
    "(1700000000, '%s', 'web1.example.org', 'local')" % MAC,
    "INSERT INTO discovered (mac, first_seen, last_seen) VALUES "
    "('52:54:00:00:00:99', 1700000000, 1700000000)",
    "INSERT INTO seen (mac, host, last_seen, last_served) VALUES "
    "('%s', 'web1.example.org', 1700000000, 'local')" % MAC,
]

HOST = "(SELECT id FROM host WHERE fqdn = $1)"


def nic(mac):
    return ("INSERT INTO nic (mac, host) SELECT $2, id FROM host "
            "WHERE fqdn = $1", ("web1.example.org", mac))


def attr(key, value):
    return ("INSERT INTO host_attr (host, key, value) VALUES "
            "(%s, $2, $3)" % HOST, ("web1.example.org", key, value))


def host(fqdn, env="default", action="local", dist=None):
    return ("INSERT INTO host (fqdn, env, action, dist) "
            "VALUES ($1, $2, $3, $4)", (fqdn, env, action, dist))


def dist(name, kernel="http://x/vmlinuz", cmdline=""):
    return ("INSERT INTO dist (name, kernel, cmdline) VALUES ($1, $2, $3)",
            (name, kernel, cmdline))


def env(name, group=""):
    return ("INSERT INTO env (name, unix_group) VALUES ($1, $2)",
            (name, group))


def token(tok, fqdn="web1.example.org", revoked=0, fetched_from=None,
          fetched_at=None, created=1700000000):
    return ("INSERT INTO token (token, host, created, expires, revoked, "
            "fetched_from, fetched_at) VALUES ($2, %s, $3, $4, $5, $6, $7)"
            % HOST, (fqdn, tok, created, 1700003600, revoked, fetched_from,
                     fetched_at))


T2 = "fedcba9876543210fedcba9876543210"

# (name, (sql, params), expected): None = accepted, else the refusal.
CASES = [
    # MACs, every way wrong
    ("mac canonical", nic("52:54:00:ab:cd:ef"), None),
    ("mac uppercase", nic("52:54:00:AB:CD:EF"), "check"),
    ("mac dashes", nic("52-54-00-ab-cd-ef"), "check"),
    ("mac no separators", nic("525400abcdef"), "check"),
    ("mac five octets", nic("52:54:00:ab:cd"), "check"),
    ("mac seven octets", nic("52:54:00:ab:cd:ef:01"), "check"),
    ("mac not hex", nic("52:54:00:ab:cd:eg"), "check"),
    ("mac trailing newline in 17", nic("52:54:00:ab:cd:e\n"), "check"),
    ("mac trailing space in 17", nic("52:54:00:ab:cd:e "), "check"),
    ("mac dots", nic("52.54.00.ab.cd.ef"), "check"),
    ("mac empty", nic(""), "check"),
    ("mac null", nic(None), "notnull"),
    ("mac duplicate", nic(MAC), "unique"),
    ("nic of no host", ("INSERT INTO nic (mac, host) VALUES ($1, $2)",
                        ("52:54:00:ab:cd:ef", 999)), "fk"),
    ("nic host null", ("INSERT INTO nic (mac, host) VALUES ($1, $2)",
                       ("52:54:00:ab:cd:ef", None)), "notnull"),
    ("nic moved to bad mac", ("UPDATE nic SET mac = $1 WHERE mac = $2",
                              ("52:54:00:12:34:5G", MAC)), "check"),
    ("nic moved to no host", ("UPDATE nic SET host = $1 WHERE mac = $2",
                              (999, MAC)), "fk"),
    # hosts
    ("host plain", host("web2.example.org"), None),
    ("host longest fqdn", host(LONG), None),
    ("host fqdn too long", host("a" + LONG), "check"),
    ("host fqdn empty", host(""), "check"),
    ("host fqdn uppercase", host("Web2.example.org"), "check"),
    ("host fqdn underscore", host("web_2.example.org"), "check"),
    ("host fqdn not ascii", host("w\u00e9b2.example.org"), "check"),
    ("host fqdn duplicate", host("web1.example.org"), "unique"),
    ("host install with dist", host("web2.example.org", "lab", "install",
                                    "debian-12"), None),
    ("host install without dist", host("web2.example.org", "default",
                                       "install", None), "check"),
    ("host action unknown", host("web2.example.org", action="reboot"),
     "check"),
    ("host action uppercase", host("web2.example.org", action="LOCAL"),
     "check"),
    ("host action null", host("web2.example.org", action=None), "notnull"),
    ("host env unknown", host("web2.example.org", env="nope"), "fk"),
    ("host dist unknown", host("web2.example.org", "default", "install",
                               "nope"), "fk"),
    ("host set install without dist",
     ("UPDATE host SET action = 'install' WHERE fqdn = $1",
      ("web1.example.org",)), "check"),
    ("host set install with dist",
     ("UPDATE host SET action = 'install', dist = $2 WHERE fqdn = $1",
      ("web1.example.org", "debian-12")), None),
    ("host dist dropped while installing",
     ("UPDATE host SET dist = NULL WHERE fqdn = $1",
      ("db1.example.org",)), "check"),
    ("host moved to unknown env", ("UPDATE host SET env = $1 WHERE fqdn = $2",
                                   ("nope", "web1.example.org")), "fk"),
    ("host deleted with its nics, attrs, tokens",
     ("DELETE FROM host WHERE fqdn = $1", ("web1.example.org",)), None),
    ("host rename", ("UPDATE host SET fqdn = $1 WHERE fqdn = $2",
                     ("www1.example.org", "web1.example.org")), None),
    ("host rename onto another", ("UPDATE host SET fqdn = $1 WHERE fqdn = $2",
                                  ("db1.example.org", "web1.example.org")),
     "unique"),
    # environments
    ("env plain", env("prod", "ops"), None),
    ("env name space", env("pro d"), "check"),
    ("env name too long", env("e" * 65), "check"),
    ("env name longest", env("e" * 64), None),
    ("env group uppercase", env("prod", "Ops"), "check"),
    ("env group too long", env("prod", "g" * 33), "check"),
    ("env duplicate", env("lab"), "unique"),
    ("env in use deleted", ("DELETE FROM env WHERE name = $1", ("lab",)),
     "fk"),
    ("env default in use deleted", ("DELETE FROM env WHERE name = $1",
                            ("default",)), "fk"),
    # distributions and initrds
    ("dist plain", dist("rhel-9.4", cmdline="inst.ks={{base_url}}/ks"),
     None),
    ("dist kernel space", dist("rhel-9.4", kernel="http://x/vm linuz"),
     "check"),
    ("dist kernel empty", dist("rhel-9.4", kernel=""), "check"),
    ("dist cmdline newline", dist("rhel-9.4", cmdline="a=1\nchain x"),
     "check"),
    ("dist cmdline tab", dist("rhel-9.4", cmdline="a=1\tb=2"), "check"),
    ("dist name slash", dist("rhel/9"), "check"),
    ("dist duplicate", dist("debian-12"), "unique"),
    ("dist in use deleted", ("DELETE FROM dist WHERE name = $1",
                             ("debian-12",)), "fk"),
    ("initrd next", ("INSERT INTO dist_initrd (dist, pos, url) "
                     "VALUES ($1, $2, $3)", ("debian-12", 1, "http://x/i")),
     None),
    ("initrd negative pos", ("INSERT INTO dist_initrd (dist, pos, url) "
                             "VALUES ($1, $2, $3)",
                             ("debian-12", -1, "http://x/i")), "check"),
    ("initrd same pos", ("INSERT INTO dist_initrd (dist, pos, url) "
                         "VALUES ($1, $2, $3)",
                         ("debian-12", 0, "http://x/i")), "unique"),
    ("initrd of no dist", ("INSERT INTO dist_initrd (dist, pos, url) "
                           "VALUES ($1, $2, $3)", ("nope", 0, "http://x/i")),
     "fk"),
    ("initrd url space", ("INSERT INTO dist_initrd (dist, pos, url) "
                          "VALUES ($1, $2, $3)",
                          ("debian-12", 1, "http://x/ i")), "check"),
    # attributes
    ("attr plain", attr("rack", "r12"), None),
    ("attr key uppercase", attr("Rack", "r12"), "check"),
    ("attr key empty", attr("", "r12"), "check"),
    ("attr value space", attr("rack", "r 12"), "check"),
    ("attr value expansion", attr("rack", "${root}"), "check"),
    ("attr value dollar alone", attr("rack", "r$12"), None),
    ("attr value longest", attr("rack", "v" * 255), None),
    ("attr value too long", attr("rack", "v" * 256), "check"),
    ("attr value not ascii", attr("rack", "r\u00e9"), "check"),
    ("attr duplicate key", attr("puppet_role", "db"), "unique"),
    ("attr upsert", ("INSERT INTO host_attr (host, key, value) VALUES "
                     "(%s, $2, $3) ON CONFLICT (host, key) DO UPDATE SET "
                     "value = excluded.value" % HOST,
                     ("web1.example.org", "puppet_role", "db")), None),
    ("attr upsert bad value", ("INSERT INTO host_attr (host, key, value) "
                               "VALUES (%s, $2, $3) ON CONFLICT (host, key) "
                               "DO UPDATE SET value = excluded.value" % HOST,
                               ("web1.example.org", "puppet_role", "a b")),
     "check"),
    ("attr of no host", ("INSERT INTO host_attr (host, key, value) "
                         "VALUES ($1, $2, $3)", (999, "rack", "r1")), "fk"),
    # install tokens
    ("token open", token(T2), None),
    ("token second open", token(T2, "db1.example.org"), "unique"),
    ("token second revoked", token(T2, "db1.example.org", revoked=1), None),
    ("token old one used, new open",
     ("UPDATE token SET used_at = $1 WHERE token = $2",
      (1700000100, TOKEN)), None),
    ("token short", token(T2[:31]), "check"),
    ("token uppercase", token(T2.upper()), "check"),
    ("token duplicate", token(TOKEN), "unique"),
    ("token revoked 2", token(T2, revoked=2), "check"),
    ("token created null", token(T2, created=None), "notnull"),
    ("token fetched v4", token(T2, fetched_from="10.0.0.7",
                               fetched_at=1700000050), None),
    ("token fetched v6", token(T2, fetched_from="fe80::1",
                               fetched_at=1700000050), None),
    ("token fetched without time", token(T2, fetched_from="10.0.0.7"),
     "check"),
    ("token time without address", token(T2, fetched_at=1700000050),
     "check"),
    ("token fetched from a name", token(T2, fetched_from="abc",
                                        fetched_at=1), "check"),
    ("token fetched uppercase v6", token(T2, fetched_from="FE80::1",
                                         fetched_at=1), "check"),
    ("token of no host", ("INSERT INTO token (token, host, created, expires) "
                          "VALUES ($1, $2, $3, $4)", (T2, 999, 1, 2)), "fk"),
    # audit
    ("audit row", ("INSERT INTO audit (time, actor, op, object, old, new) "
                   "VALUES ($1, $2, $3, $4, $5, $6)",
                   (1700000000, "alice", "host add", "web2", None, "x")),
     None),
    ("audit without actor", ("INSERT INTO audit (time, actor, op, object) "
                             "VALUES ($1, $2, $3, $4)",
                             (1700000000, None, "host add", "web2")),
     "notnull"),
]

EVENT_CASES = [
    ("event plain", ("INSERT INTO boot_event (time, mac, host, served, "
                     "params, addr) VALUES ($1, $2, $3, $4, $5, $6)",
                     (1700000001, MAC, None, "unknown", "platform=efi",
                      "10.0.0.7")), None),
    ("event bad mac", ("INSERT INTO boot_event (time, mac, served) "
                       "VALUES ($1, $2, $3)",
                       (1, "52:54:00:12:34:5Z", "local")), "check"),
    ("event no time", ("INSERT INTO boot_event (time, mac, served) "
                       "VALUES ($1, $2, $3)", (None, MAC, "local")),
     "notnull"),
    ("discovered new", ("INSERT INTO discovered (mac, first_seen, "
                        "last_seen) VALUES ($1, $2, $2)",
                        ("52:54:00:00:00:98", 1)), None),
    ("discovered duplicate", ("INSERT INTO discovered (mac, first_seen, "
                              "last_seen) VALUES ($1, $2, $2)",
                              ("52:54:00:00:00:99", 1)), "unique"),
    ("discovered upsert", ("INSERT INTO discovered (mac, first_seen, "
                           "last_seen) VALUES ($1, $2, $2) ON CONFLICT (mac) "
                           "DO UPDATE SET last_seen = excluded.last_seen, "
                           "count = discovered.count + 1",
                           ("52:54:00:00:00:99", 5)), None),
    ("discovered count zero", ("INSERT INTO discovered (mac, first_seen, "
                               "last_seen, count) VALUES ($1, 1, 1, $2)",
                               ("52:54:00:00:00:98", 0)), "check"),
    ("discovered bad mac", ("INSERT INTO discovered (mac, first_seen, "
                            "last_seen) VALUES ($1, 1, 1)",
                            ("52:54:00:00:00",)), "check"),
    ("seen duplicate", ("INSERT INTO seen (mac, host, last_seen, "
                        "last_served) VALUES ($1, $2, $3, $4)",
                        (MAC, "web1.example.org", 2, "local")), "unique"),
    ("counts second row", ("INSERT INTO counts (one, events, discovered) "
                           "VALUES ($1, 0, 0)", (2,)), "check"),
]

# Where the engines differ on purpose or by nature, asserted as they are,
# so that a change to either shows up here.  (sqlite, postgresql).
DIFFERENCES = [
    # SQLite lets anyone pick a rowid; PostgreSQL's identity columns are
    # GENERATED ALWAYS: bootd never picks ids (it uses RETURNING).
    ("explicit host id",
     ("INSERT INTO host (id, fqdn) VALUES ($1, $2)",
      (77, "web2.example.org")), None, "428C9"),
    # SQLite's columns have affinity, not types (the tables are not
    # STRICT): text that is no number is stored as text.  PostgreSQL
    # refuses it.  bootd binds integers as integers.
    ("text in an integer column",
     ("INSERT INTO token (token, host, created, expires) VALUES "
      "($1, %s, $3, $4)" % HOST.replace("$1", "$2"),
      (T2, "web1.example.org", "soon", 1)), None, "22P02"),
]


class Engines(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        pg.skip_unless_available()
        cls.tmp = tempfile.TemporaryDirectory(prefix="bootd-schema-")
        cls.lite = cls.sqlite_db("inv.db", SQL, FIXTURE)
        cls.lite_events = cls.sqlite_db("events.db",
                                        os.path.join(SQL, "events"),
                                        EVENTS_FIXTURE)
        cls.cluster = pg.Cluster()
        p = cls.cluster.primary
        for d in (os.path.join(SQL, "postgresql"),
                  os.path.join(SQL, "postgresql", "events")):
            for _, path in migrations(d):
                p.psql("BEGIN;\n" + read(path) + "\nCOMMIT;\n")
        p.psql(";\n".join(FIXTURE) + ";\nSET search_path = events;\n" +
               ";\n".join(EVENTS_FIXTURE) + ";\n")

    @classmethod
    def tearDownClass(cls):
        cls.cluster.close()
        cls.lite.close()
        cls.lite_events.close()
        cls.tmp.cleanup()

    @classmethod
    def sqlite_db(cls, name, directory, fixture):
        """A fresh SQLite database migrated as inv.c/events.c do."""
        con = sqlite3.connect(os.path.join(cls.tmp.name, name),
                              isolation_level=None)
        for version, path in migrations(directory):
            con.executescript("BEGIN IMMEDIATE;\n%s;\n"
                              "PRAGMA user_version = %d;\nCOMMIT;" %
                              (read(path), version))
        con.execute("PRAGMA foreign_keys = ON")
        for sql in fixture:
            con.execute(sql)
        return con

    # -- running one statement on each engine -------------------------

    def on_sqlite(self, con, sql, params):
        """None when accepted, else (kind, message)."""
        con.execute("BEGIN")
        try:
            con.execute(sqlite_sql(sql), params)
            return None
        except sqlite3.IntegrityError as e:
            name = e.sqlite_errorname
            # ON DELETE RESTRICT fails as a trigger would, by its name.
            if name == "SQLITE_CONSTRAINT_TRIGGER" and \
                    str(e).startswith("FOREIGN KEY"):
                name = "SQLITE_CONSTRAINT_FOREIGNKEY"
            return SQLITE_KIND.get(name, name), str(e)
        except sqlite3.Error as e:
            return getattr(e, "sqlite_errorname", "error"), str(e)
        finally:
            con.execute("ROLLBACK")

    def on_pg(self, sql, params, events=False):
        """None when accepted, else (kind or SQLSTATE, message)."""
        script = "BEGIN;\n"
        if events:
            script += "SET LOCAL search_path = events;\n"
        script += "PREPARE c AS %s;\n" % sql
        if params:
            script += "EXECUTE c (%s);\n" % ", ".join(map(literal, params))
        else:
            script += "EXECUTE c;\n"
        script += "ROLLBACK;\n"
        r = self.cluster.primary.psql(script, check=False)
        if r.returncode == 0:
            return None
        code = pg.error_code(r.stderr)
        msg = r.stderr.strip().splitlines()[0] if r.stderr.strip() else ""
        if code is None or code in BROKEN:
            self.fail("PostgreSQL could not run %r: %s" % (sql, r.stderr))
        return PG_KIND.get(code, code), msg

    def run_cases(self, cases, con, events):
        for name, (sql, params), want in cases:
            with self.subTest(name):
                lite = self.on_sqlite(con, sql, params)
                post = self.on_pg(sql, params, events)
                self.assertEqual(lite and lite[0], want,
                                 "SQLite: %s" % (lite,))
                self.assertEqual(post and post[0], want,
                                 "PostgreSQL: %s" % (post,))

    # -- the tests ----------------------------------------------------

    def test_inventory_refusals_agree(self):
        self.assertGreaterEqual(len(CASES), 30)
        self.assertTrue([c for c in CASES if c[2] is None])
        self.run_cases(CASES, self.lite, events=False)

    def test_events_refusals_agree(self):
        self.run_cases(EVENT_CASES, self.lite_events, events=True)

    def test_known_differences(self):
        for name, (sql, params), lite_want, pg_want in DIFFERENCES:
            with self.subTest(name):
                lite = self.on_sqlite(self.lite, sql, params)
                post = self.on_pg(sql, params)
                self.assertEqual(lite and lite[0], lite_want, lite)
                self.assertEqual(post and post[0], pg_want, post)

    def test_deletes_cascade_alike(self):
        # Deleting a host takes its NICs, attributes and tokens along.
        q = ("SELECT (SELECT count(*) FROM nic), "
             "(SELECT count(*) FROM host_attr), (SELECT count(*) FROM token)")
        script = ("BEGIN; DELETE FROM host; %s; ROLLBACK;" % q)
        post = self.cluster.primary.query(script)
        self.lite.execute("BEGIN")
        try:
            self.lite.execute("DELETE FROM host")
            lite = self.lite.execute(q).fetchone()
        finally:
            self.lite.execute("ROLLBACK")
        self.assertEqual(lite, (0, 0, 0))
        self.assertEqual(post, [("0", "0", "0")])

    def test_counts_recounted_by_migration(self):
        # From version 2 lib/events.c keeps "counts" (once per batch);
        # the migration that dropped the version-1 triggers takes the
        # counts again from the tables, on both engines alike: an events
        # database at version 1 with rows, its counts made wrong, then
        # version 2 applied.
        rows = [
            "INSERT INTO boot_event (time, mac, served) VALUES "
            "(2, '52:54:00:00:00:01', 'local'), "
            "(3, '52:54:00:00:00:02', 'local'), "
            "(4, '52:54:00:00:00:03', 'local')",
            "INSERT INTO discovered (mac, first_seen, last_seen) VALUES "
            "('52:54:00:00:00:99', 9, 9), ('52:54:00:00:00:97', 9, 9)",
            "UPDATE counts SET events = 7, discovered = 0",
        ]
        q = ("SELECT events, discovered, (SELECT count(*) FROM boot_event), "
             "(SELECT count(*) FROM discovered) FROM counts")
        lite_dir = os.path.join(SQL, "events")
        pg_dir = os.path.join(SQL, "postgresql", "events")
        v1, v2 = migrations(lite_dir)[:2]
        self.assertEqual([v for v, _ in migrations(pg_dir)[:2]], [1, 2])

        con = sqlite3.connect(os.path.join(self.tmp.name, "v1.db"),
                              isolation_level=None)
        con.executescript("%s;\nPRAGMA user_version = 1;" % read(v1[1]))
        for sql in rows:
            con.execute(sql)
        con.executescript("BEGIN IMMEDIATE;\n%s;\nPRAGMA user_version = 2;"
                          "\nCOMMIT;" % read(v2[1]))
        lite = con.execute(q).fetchone()
        # No trigger is left to count a second time.
        triggers = con.execute("SELECT count(*) FROM sqlite_master WHERE "
                               "type = 'trigger'").fetchone()
        con.close()

        p = self.cluster.primary
        p.psql("CREATE DATABASE v1")
        p.psql("BEGIN;\n" + read(migrations(pg_dir)[0][1]) +
               "\nSET LOCAL search_path = events;\n" + ";\n".join(rows) +
               ";\nCOMMIT;\n", db="v1")
        p.psql("BEGIN;\n" + read(migrations(pg_dir)[1][1]) + "\nCOMMIT;\n",
               db="v1")
        post = p.query("SET search_path = events; " + q, db="v1")
        pg_triggers = p.query("SELECT count(*) FROM pg_trigger t JOIN "
                              "pg_class c ON c.oid = t.tgrelid JOIN "
                              "pg_namespace n ON n.oid = c.relnamespace "
                              "WHERE n.nspname = 'events' AND NOT "
                              "t.tgisinternal", db="v1")
        self.assertEqual(lite, (3, 2, 3, 2))
        self.assertEqual(triggers, (0,))
        self.assertEqual(post, [("3", "2", "3", "2")])
        self.assertEqual(pg_triggers, [("0",)])

    def test_same_tables_columns_indexes_version(self):
        for con, schema, directory in (
                (self.lite, "public", SQL),
                (self.lite_events, "events", os.path.join(SQL, "events"))):
            with self.subTest(schema):
                self.assertEqual(self.pg_shape(schema),
                                 self.sqlite_shape(con))
                (v,), = con.execute("PRAGMA user_version").fetchall()
                self.assertEqual(v, migrations(directory)[-1][0])
                self.assertEqual(self.cluster.primary.query(
                    "SELECT version FROM %s.schema_version" % schema),
                    [(str(v),)])

    @staticmethod
    def sqlite_shape(con):
        """{table: [(column, not null)]}, {explicit index names}."""
        tables = {}
        for (t,) in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND "
                "name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND "
                "name NOT LIKE 'legacy\\_%' ESCAPE '\\'"):
            cols = []
            for _, c, typ, notnull, _, pk in con.execute(
                    "PRAGMA table_info(%s)" % t):
                # INTEGER PRIMARY KEY is the rowid: never NULL.
                rowid = pk == 1 and typ.upper() == "INTEGER"
                cols.append((c, bool(notnull) or rowid))
            tables[t] = sorted(cols)
        indexes = {n for (n,) in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND "
            "sql IS NOT NULL")}
        return tables, indexes

    def pg_shape(self, schema):
        p = self.cluster.primary
        tables = {}
        for t, c, nullable in p.query(
                "SELECT table_name, column_name, is_nullable FROM "
                "information_schema.columns WHERE table_schema = '%s' AND "
                "table_name <> 'schema_version'" % schema):
            tables.setdefault(t, []).append((c, nullable == "NO"))
        # Indexes made by CREATE INDEX, not those behind constraints.
        indexes = {n for (n,) in p.query(
            "SELECT c.relname FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = '%s' AND NOT EXISTS (SELECT 1 FROM "
            "pg_constraint k WHERE k.conindid = i.indexrelid)" % schema)}
        return {t: sorted(c) for t, c in tables.items()}, indexes

    def test_placeholders_by_number(self):
        # The trap: SQLite reads $n as a name numbered by first
        # appearance.  Written ?n, both engines bind by number.
        sql = "SELECT $2, $1"
        lite_naive = self.lite.execute(sql, (10, 20)).fetchone()
        lite = self.lite.execute(sqlite_sql(sql), (10, 20)).fetchone()
        post = self.cluster.primary.query(
            "PREPARE p AS SELECT $2::int, $1::int; EXECUTE p (10, 20);")
        self.assertEqual(lite_naive, (10, 20))
        self.assertEqual(lite, (20, 10))
        self.assertEqual(post, [("20", "10")])
        self.assertEqual(sqlite_sql("SELECT '$1', \"$2\", $3 -- $4\n"),
                         "SELECT '$1', \"$2\", ?3 -- $4\n")
        self.assertEqual(sqlite_sql("SELECT x$1, 1+$1"),
                         "SELECT x$1, 1+?1")


if __name__ == "__main__":
    unittest.main(verbosity=2)
