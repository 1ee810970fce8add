"""pg.py - throw-away PostgreSQL servers for tests: one primary, hot standbys

    import pg

    reason = pg.missing()          # None, or why no server can be started
    with pg.Cluster() as c:        # a primary with database "bootd"
        c.primary.psql("CREATE TABLE t (x int)")
        sb = c.add_standby()       # pg_basebackup -R, started, streaming
        c.primary.psql("INSERT INTO t VALUES (1)")
        c.wait_replayed(sb)
        sb.query("SELECT x FROM t")        # [("1",)]
        c.replication()                    # pg_stat_replication, as dicts
        c.primary.stop(); sb.promote()     # a failover
        c.uri(sb, c.primary, target_session_attrs="read-write")

For tests that need many inventories rather than a replication set
(tests/harness.py with BOOTD_TEST_ENGINE=postgresql), one cluster per
test process, started on first use and closed at exit, holds a fresh
database per inventory:

    uri = pg.new_database()        # CREATE DATABASE bootd_N; its URI
    pg.rows(uri, "SELECT 1, 'a', NULL")    # [(1, "a", None)]: JSON types

Everything lives in one temporary directory: per server a data directory
and a socket directory.  Servers listen on a unix socket in their socket
directory and, with Cluster(tcp=True), on 127.0.0.1 too; each has its own
free port (the socket's name carries it).  Authentication is "trust" for
the superuser "bootd", nothing else exists: the socket directory is the
servers' owner's alone, but over TCP any local user may connect, so use
tcp=True only where a test needs it.  fsync is off: a throw-away
server need not survive a power cut, only a crash of itself.

initdb refuses to run as root, so as root every server program (initdb,
pg_ctl, pg_basebackup, the postmaster) runs as nobody:nogroup through
setpriv(1) and the temporary directory belongs to that user; the test
itself stays root and connects through the socket.  As any other user,
everything runs as that user.

Cluster.close() (also on exceptions leaving the with block, at interpreter
exit and on SIGTERM) stops every server at once (pg_ctl stop -m immediate)
and removes the directory, unless BOOTD_KEEP_TMP=1.  Should the test be
killed outright, a watchdog process does the same within a second or two.

The binaries are PostgreSQL 15's, /usr/lib/postgresql/15/bin (Debian's
postgresql-15; $BOOTD_PG_BIN overrides).  Only the Python standard library
is used.  Also a program:

    python3 tests/pg.py exec [--standby] [--tcp] -- CMD [ARG...]

starts a primary (and a standby), runs CMD with BOOTD_TEST_PG set to the
primary's URI, BOOTD_TEST_PG_STANDBY to the standby's (with --standby) and
BOOTD_TEST_PG_RESTART to a shell command that restarts the primary, then
tears everything down and exits with CMD's status (77 with the reason when
PostgreSQL is missing).

    python3 tests/pg.py start DIR      (tools/up --postgresql)
    python3 tests/pg.py stop DIR

start: a server that outlives the command, kept in DIR/primary (made with
initdb and database "bootd" the first time; DIR must exist and, as root,
belong to nobody), listening on a unix socket in DIR/primary/sock on a
free port; prints its URI (also when it already ran).  stop: stops it
(pg_ctl stop -m fast).  Nothing watches it: stop it, or remove DIR after
`pg_ctl -D DIR/primary/data stop` (as nobody when root).
"""

import atexit
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

PG_BIN = os.environ.get("BOOTD_PG_BIN") or "/usr/lib/postgresql/15/bin"
PROGRAMS = ("initdb", "pg_ctl", "postgres", "pg_basebackup", "psql")
SUPERUSER = "bootd"
DBNAME = "bootd"
# As root, servers run as this user (it must exist: initdb looks it up).
RUN_AS = "nobody"

# Bounded polling: tries x pause, never an assertion on time.
TRIES = 600
PAUSE = 0.05
# pg_ctl's own bound for start, stop and promote, seconds.
PG_CTL_WAIT = "120"

SKIP = 77


class PgError(Exception):
    """A PostgreSQL program failed; the text holds its output."""


def missing():
    """None when servers can be started, else the reason why not."""
    for p in PROGRAMS:
        if not os.access(os.path.join(PG_BIN, p), os.X_OK):
            return ("PostgreSQL 15 is not installed (no %s in %s; Debian: "
                    "apt-get install postgresql)" % (p, PG_BIN))
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(RUN_AS)
        except KeyError:
            return "running as root and there is no user %s" % RUN_AS
        if shutil.which("setpriv") is None:
            return "running as root and setpriv(1) is missing"
    return None


def skip_unless_available():
    """Exit 77 (CTest: skipped) with the reason when servers cannot run."""
    reason = missing()
    if reason is not None:
        print("skipped: " + reason)
        sys.exit(SKIP)


def free_port():
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _owner():
    """(uid, gid) the servers run as, or None to stay who we are."""
    if os.geteuid() != 0:
        return None
    pw = pwd.getpwnam(RUN_AS)
    return pw.pw_uid, pw.pw_gid


def _as_owner(argv):
    """argv prefixed to run as the servers' owner (as root), else as is."""
    o = _owner()
    if o is None:
        return list(argv)
    return ["setpriv", "--reuid=%d" % o[0], "--regid=%d" % o[1],
            "--clear-groups", "--"] + list(argv)


def _env():
    # The servers' environment: nothing of ours (PG*, locale) leaks in.
    return {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "TZ": "UTC"}


def _run(argv, what, owner=True, check=True):
    if owner:
        argv = _as_owner(argv)
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, env=_env(), cwd="/")
    if check and r.returncode != 0:
        raise PgError("%s failed (exit %d): %s" % (
            what, r.returncode, (r.stderr or r.stdout).strip()))
    return r


def _bin(name):
    return os.path.join(PG_BIN, name)


class Server:
    """
    One PostgreSQL server: data directory, socket directory, port, log.
    Made by Cluster; its methods drive it with the PostgreSQL programs.
    """

    def __init__(self, base, name, tcp):
        self.name = name
        self.dir = os.path.join(base, name)
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        self.log = os.path.join(self.dir, "server.log")
        self.port = free_port()
        self.tcp = tcp
        self.running = False

    # -- lifecycle ----------------------------------------------------

    def _options(self):
        listen = "127.0.0.1" if self.tcp else ""
        return " ".join([
            "-p %d" % self.port,
            "-k %s" % shlex.quote(self.sock),
            "-c listen_addresses=%s" % shlex.quote(listen),
            "-c fsync=off",
            # A standby may fall behind a little; keep enough WAL.
            "-c wal_keep_size=64MB",
            # A standby whose upstream restarted retries soon, not in 5 s.
            "-c wal_retrieve_retry_interval=200ms",
            "-c log_line_prefix=%s" % shlex.quote("%m [%p] "),
        ])

    def pg_ctl(self, *args):
        return _run([_bin("pg_ctl"), "-D", self.data, "-l", self.log, "-w",
                     "-t", PG_CTL_WAIT] + list(args),
                    "pg_ctl %s (%s)" % (args[0] if args else "", self.name))

    def start(self):
        """Start the server and wait until it accepts connections."""
        self.pg_ctl("-o", self._options(), "start")
        self.running = True

    def stop(self, mode="fast"):
        """Stop: "fast" (clean shutdown) or "immediate" (as a crash)."""
        self.pg_ctl("-m", mode, "stop")
        self.running = False

    def restart(self):
        """Stop (fast) and start again with the same options and port."""
        self.pg_ctl("-m", "fast", "-o", self._options(), "restart")
        self.running = True

    def command(self, *args):
        """
        A shell command line running pg_ctl ARGS on this server as its
        owner, for a program that drives the server itself (a C test).
        """
        argv = _as_owner([_bin("pg_ctl"), "-D", self.data, "-l", self.log,
                          "-w", "-t", PG_CTL_WAIT] + list(args))
        return " ".join(shlex.quote(a) for a in argv) + " >/dev/null"

    def restart_command(self):
        """A shell command line that restarts this server."""
        return self.command("-m", "fast", "-o", self._options(), "restart")

    def promote(self):
        """Promote a standby to primary; waits until it takes writes."""
        self.pg_ctl("promote")
        ok = _poll(lambda: self.query("SELECT pg_is_in_recovery()"),
                   lambda r: r == [("f",)])
        if ok != [("f",)]:
            raise PgError("%s still in recovery after promote" % self.name)

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # -- talking to it ------------------------------------------------

    def psql(self, sql, db=DBNAME, check=True, user=SUPERUSER):
        """
        Run sql (one or more statements, stopping at the first error)
        with psql; return the completed process (stdout, stderr,
        returncode: 0, or 3 for an SQL error).  Errors carry their SQLSTATE
        ("ERROR:  23505: duplicate key ..."): see error_code().
        check=True raises PgError on failure instead.
        """
        r = subprocess.run(
            [_bin("psql"), "-X", "-q", "-A", "-t", "-F", "\x1f",
             "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose",
             "-h", self.sock, "-p", str(self.port), "-U", user, "-d", db],
            input=sql, capture_output=True, text=True,
            env=dict(_env(), PGCONNECT_TIMEOUT="10"))
        if check and r.returncode != 0:
            raise PgError("psql on %s: %s" % (self.name, r.stderr.strip()))
        return r

    def apply_schema(self, db=DBNAME):
        """
        bootd's schemas as bootctl init makes them, from the source tree:
        sql/postgresql/NNN-*.sql, then sql/postgresql/events/NNN-*.sql,
        each file in a transaction of its own.
        """
        top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                           "sql", "postgresql")
        for d in (top, os.path.join(top, "events")):
            for n in sorted(os.listdir(d)):
                if n[:3].isdigit() and n[3:4] == "-" and n.endswith(".sql"):
                    with open(os.path.join(d, n)) as f:
                        self.psql("BEGIN;\n" + f.read() + "\nCOMMIT;\n",
                                  db=db)

    def query(self, sql, db=DBNAME):
        """Rows of a query as tuples of text (NULL as "")."""
        out = self.psql(sql, db=db).stdout
        return [tuple(line.split("\x1f")) for line in out.splitlines()]

    def in_recovery(self):
        """Is this server a standby (in recovery)?"""
        return self.query("SELECT pg_is_in_recovery()") == [("t",)]

    def uri(self, db=DBNAME, **params):
        """This server's URI, e.g. for libpq or db_open()."""
        return make_uri([self], db, **params)

    def tcp_uri(self, db=DBNAME):
        """Its URI over TCP on 127.0.0.1 (a Cluster(tcp=True) only)."""
        if not self.tcp:
            raise PgError("%s does not listen on TCP" % self.name)
        return "postgresql://127.0.0.1:%d/%s?user=%s" % (self.port, db,
                                                        SUPERUSER)

    def conninfo(self, db=DBNAME):
        return "host=%s port=%d user=%s dbname=%s" % (
            self.sock, self.port, SUPERUSER, db)


def error_code(stderr):
    """The SQLSTATE of the first error psql reported in stderr, or None."""
    for line in stderr.splitlines():
        if line.startswith(("ERROR:", "FATAL:")):
            code = line.split(":", 1)[1].strip().split(":", 1)[0]
            if len(code) == 5 and code.isalnum():
                return code
    return None


def make_uri(servers, db=DBNAME, **params):
    """
    A libpq URI naming servers in order (multi-host when several), over
    their unix sockets: postgresql:///db?host=/s1,/s2&port=p1,p2&user=...
    plus any further parameters (target_session_attrs=...).
    """
    q = [("host", ",".join(s.sock for s in servers)),
         ("port", ",".join(str(s.port) for s in servers)),
         ("user", SUPERUSER)] + sorted(params.items())
    return "postgresql:///%s?%s" % (
        db, urllib.parse.urlencode(q, safe="/,"))


def _poll(fn, pred, tries=TRIES, pause=PAUSE):
    r = None
    for _ in range(tries):
        try:
            r = fn()
        except PgError:
            r = None
        if pred(r):
            return r
        time.sleep(pause)
    return r


# Stops what a killed test (SIGKILL, e.g. a CTest timeout) left running:
# waits while the test process lives and the directory exists, then stops
# every server in it immediately and removes it.  $1 test pid, $2 the
# directory, $3 pg_ctl, then the words that run it as the servers' owner.
WATCHDOG = r"""
pid=$1 base=$2 pg_ctl=$3
shift 3
while kill -0 "$pid" 2>/dev/null && [ -d "$base" ]; do sleep 1; done
[ -d "$base" ] || exit 0
for d in "$base"/*/data; do
    [ -f "$d/postmaster.pid" ] && "$@" "$pg_ctl" -D "$d" -m immediate -w stop
done
rm -rf "$base"
"""


def _watchdog(base):
    subprocess.Popen(
        ["sh", "-c", WATCHDOG, "bootd-pg-watchdog", str(os.getpid()), base,
         _bin("pg_ctl")] + _as_owner([]),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True, env=_env(),
        cwd="/")


_live = []


def _cleanup_all():
    for c in list(_live):
        c.close()


def _on_term(signum, frame):
    # Turn SIGTERM into an exit, so that with-blocks and atexit run.
    sys.exit(128 + signum)


atexit.register(_cleanup_all)
if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _on_term)


class Cluster:
    """
    A throw-away primary (database "bootd" created) and any standbys.
    tcp=True: servers also listen on 127.0.0.1 (each on its own port).
    """

    def __init__(self, tcp=False, start=True):
        reason = missing()
        if reason is not None:
            raise PgError(reason)
        self.tcp = tcp
        self.base = tempfile.mkdtemp(prefix="bootd-pg-")
        os.chmod(self.base, 0o700)
        o = _owner()
        if o is not None:
            os.chown(self.base, o[0], o[1])
        self.servers = []
        self.primary = None
        _live.append(self)
        _watchdog(self.base)
        if start:
            try:
                self.start()
            except BaseException:
                self.close()
                raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _server(self, name):
        s = Server(self.base, name, self.tcp)
        _run(["mkdir", "-m", "0700", s.dir, s.sock], "mkdir")
        self.servers.append(s)
        return s

    def start(self):
        """initdb and start the primary, create the database."""
        p = self._server("primary")
        _run([_bin("initdb"), "-D", p.data, "-U", SUPERUSER,
              "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"],
             "initdb")
        p.start()
        self.primary = p
        p.psql("CREATE DATABASE %s" % DBNAME, db="postgres")

    def add_standby(self, name=None, of=None):
        """
        A hot standby of `of` (default the primary): pg_basebackup -R
        into a new data directory, started on its own socket and port;
        returns it once it streams from its upstream.
        """
        up = of or self.primary
        name = name or "standby%d" % len(self.servers)
        s = self._server(name)
        _run([_bin("pg_basebackup"), "-h", up.sock, "-p", str(up.port),
              "-U", SUPERUSER, "-D", s.data, "-R", "-X", "stream",
              "-c", "fast", "--no-sync"], "pg_basebackup")
        s.start()
        got = _poll(lambda: self.replication(up),
                    lambda rows: any(r["state"] == "streaming"
                                     for r in rows or []))
        if not any(r["state"] == "streaming" for r in got or []):
            raise PgError("standby %s does not stream from %s: %s" % (
                name, up.name, s.log_text()[-2000:]))
        return s

    def replication(self, server=None):
        """pg_stat_replication of server (default primary) as dicts."""
        cols = ("application_name", "state", "sent_lsn", "replay_lsn",
                "sync_state")
        rows = (server or self.primary).query(
            "SELECT %s FROM pg_stat_replication ORDER BY pid" %
            ", ".join(cols))
        return [dict(zip(cols, r)) for r in rows]

    def wait_replayed(self, standby, upstream=None):
        """Wait (bounded) until standby has replayed upstream's WAL so far."""
        up = upstream or self.primary
        (lsn,), = up.query("SELECT pg_current_wal_lsn()")
        q = "SELECT pg_last_wal_replay_lsn() >= '%s'::pg_lsn" % lsn
        if _poll(lambda: standby.query(q), lambda r: r == [("t",)]) != \
                [("t",)]:
            raise PgError("%s did not replay up to %s" % (standby.name, lsn))

    def uri(self, *servers, db=DBNAME, **params):
        """URI naming servers (default: the primary), multi-host in order."""
        return make_uri(list(servers) or [self.primary], db, **params)

    def close(self):
        """Stop every server (immediately) and remove the directory."""
        if self not in _live:
            return
        _live.remove(self)
        for s in self.servers:
            if os.path.exists(os.path.join(s.data, "postmaster.pid")):
                _run([_bin("pg_ctl"), "-D", s.data, "-m", "immediate", "-w",
                      "-t", PG_CTL_WAIT, "stop"], "pg_ctl stop",
                     check=False)
        if os.environ.get("BOOTD_KEEP_TMP") == "1":
            print("pg: kept %s" % self.base, file=sys.stderr)
        else:
            shutil.rmtree(self.base, ignore_errors=True)


# The process-wide cluster of new_database(), and its databases so far.
_shared = None
_ndb = 0


def shared_cluster():
    """
    The throw-away cluster of this test process: started on first use
    (raises PgError when PostgreSQL is missing), closed at exit.
    """
    global _shared
    if _shared is None or _shared not in _live:
        _shared = Cluster()
    return _shared


def new_database(prefix="bootd"):
    """
    CREATE DATABASE on the shared cluster under a name not used before in
    this process (prefix_N); returns its URI over the unix socket.
    """
    global _ndb
    c = shared_cluster()
    _ndb += 1
    name = "%s_%d" % (prefix, _ndb)
    c.primary.psql('CREATE DATABASE "%s"' % name, db="postgres")
    return c.uri(db=name)


def server_of(uri):
    """(Server, database name) of a URI made by new_database()."""
    c = shared_cluster()
    parts = urllib.parse.urlsplit(uri)
    return c.primary, urllib.parse.unquote(parts.path.lstrip("/"))


def literal(v):
    """A Python value as an SQL literal (None, bool, int, float, str)."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, bytes):
        v = v.decode()
    if "\0" in v:
        raise PgError("a NUL in an SQL literal")
    return "'" + str(v).replace("'", "''") + "'"


def bind(sql, params=()):
    """
    sql with each ? outside quotes replaced by the next of params as a
    literal: psql (15) cannot bind parameters, and the tests' queries are
    written with SQLite's ? placeholders.
    """
    out, i, quote = [], 0, None
    for ch in sql:
        if quote is not None:
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
        elif ch == "?":
            if i >= len(params):
                raise PgError("too few parameters for %r" % sql)
            out.append(literal(params[i]))
            i += 1
            continue
        out.append(ch)
    if i != len(params):
        raise PgError("too many parameters for %r" % sql)
    return "".join(out)


def _search_path(search_path):
    return ("SET search_path = %s;\n" % search_path) if search_path else ""


def rows(uri, sql, params=(), search_path=None):
    """
    The rows of one query on the database of uri (from new_database()),
    as tuples of Python values: integers, text, None for NULL, as
    sqlite3 gives them (through JSON, so booleans are True/False).
    """
    import json
    server, db = server_of(uri)
    q = "SELECT row_to_json(bootd_q)::text FROM (%s) AS bootd_q" % (
        bind(sql, params).rstrip().rstrip(";"))
    out = server.psql(_search_path(search_path) + q, db=db).stdout
    return [tuple(v for _, v in json.loads(
        line, object_pairs_hook=lambda pairs: pairs))
        for line in out.splitlines() if line]


def execute(uri, sql, params=(), search_path=None):
    """Run statements (no rows wanted) on the database of uri."""
    server, db = server_of(uri)
    server.psql(_search_path(search_path) + bind(sql, params), db=db)


def dump(uri, schemas=("public", "events"), marker="schema_version"):
    """
    Every row of every table in schemas, as sorted text lines per table:
    equal dumps mean equal contents (the tests' "byte-identical database").
    None when schemas[0] has no table named marker (nothing made yet).
    One psql run: a test may dump hundreds of times.
    """
    server, db = server_of(uri)
    q = """
SELECT '0 ' || count(*) FROM information_schema.tables
 WHERE table_schema = %s AND table_name = %s
UNION ALL
SELECT '1 ' || t.table_schema || '.' || t.table_name || ': ' || x.c::text
  FROM information_schema.tables t,
       LATERAL unnest(xpath('/table/row/c/text()', query_to_xml(format(
           'SELECT row_to_json(r)::text AS c FROM %%I.%%I r',
           t.table_schema, t.table_name), false, false, ''))) AS x(c)
 WHERE t.table_schema IN (%s) AND t.table_type = 'BASE TABLE'
""" % (literal(schemas[0]), literal(marker),
       ", ".join(literal(s) for s in schemas))
    lines = server.psql(q, db=db).stdout.splitlines()
    if not lines or lines[0] == "0 0":
        return None
    return sorted(l[2:] for l in lines[1:])


def _exec(argv):
    standby = tcp = False
    while argv and argv[0] != "--":
        if argv[0] == "--standby":
            standby = True
        elif argv[0] == "--tcp":
            tcp = True
        else:
            print("pg.py: unknown option %s" % argv[0], file=sys.stderr)
            return 2
        argv = argv[1:]
    if len(argv) < 2:
        print("usage: pg.py exec [--standby] [--tcp] -- CMD [ARG...]",
              file=sys.stderr)
        return 2
    skip_unless_available()
    with Cluster(tcp=tcp) as c:
        env = dict(os.environ, BOOTD_TEST_PG=c.uri(),
                   BOOTD_TEST_PG_RESTART=c.primary.restart_command())
        if standby:
            env["BOOTD_TEST_PG_STANDBY"] = c.uri(c.add_standby())
        r = subprocess.run(argv[1:], env=env)
        if r.returncode != 0:
            for s in c.servers:
                print("--- %s log (tail)\n%s" % (s.name, s.log_text()[-3000:]),
                      file=sys.stderr)
        return r.returncode if r.returncode >= 0 else 128 - r.returncode


def _running_port(server):
    """The port of the server running on server.data, or None."""
    r = _run([_bin("pg_ctl"), "-D", server.data, "status"], "pg_ctl status",
             check=False)
    if r.returncode != 0:
        return None
    try:
        with open(os.path.join(server.data, "postmaster.pid")) as f:
            return int(f.read().splitlines()[3])
    except (OSError, IndexError, ValueError):
        return None


def _start_persistent(base):
    """pg.py start DIR: see the module's documentation."""
    s = Server(os.path.abspath(base), "primary", tcp=False)
    if not os.path.isdir(s.data):
        _run(["mkdir", "-p", "-m", "0700", s.dir, s.sock], "mkdir")
        _run([_bin("initdb"), "-D", s.data, "-U", SUPERUSER,
              "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"],
             "initdb")
    port = _running_port(s)
    if port is not None:
        s.port = port
    else:
        s.start()
    if not s.query("SELECT 1 FROM pg_database WHERE datname = '%s'" %
                   DBNAME, db="postgres"):
        s.psql("CREATE DATABASE %s" % DBNAME, db="postgres")
    print(s.uri())
    return 0


def _stop_persistent(base):
    """pg.py stop DIR: stop the server of pg.py start DIR, if it runs."""
    s = Server(os.path.abspath(base), "primary", tcp=False)
    if _running_port(s) is None:
        return 0
    s.stop()
    return 0


def _main(argv):
    if len(argv) >= 2 and argv[1] == "exec":
        return _exec(argv[2:])
    if len(argv) == 3 and argv[1] in ("start", "stop"):
        if missing() is not None:
            print("pg.py: " + missing(), file=sys.stderr)
            return 1
        try:
            return (_start_persistent if argv[1] == "start" else
                    _stop_persistent)(argv[2])
        except PgError as e:
            print("pg.py: %s" % e, file=sys.stderr)
            return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
