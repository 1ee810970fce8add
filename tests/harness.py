"""harness.py - start a real bootd behind a real nginx on 127.0.0.1 for tests

    from harness import BootServer

    with BootServer() as srv:                      # bootctl init, start both
        srv.bootctl("host", "add", "web1.example.org", "52:54:00:12:34:56")
        status, headers, body = srv.get("/ipxe/v1/config?mac=525400123456")
        status, headers, body = srv.get("/ipxe/v1/health", https=True)

BootServer owns a temporary directory holding everything: bootd.json, the
SQLite inventory (unless one is given), the nginx configuration rendered from
nginx/test.conf.in, a throw-away CA and server certificate chain, logs and the
unix socket.  The directory is removed on close() unless BOOTD_KEEP_TMP=1.

Binaries come from $BOOTD_BINARY_DIR (default: build/ of the tree this file
lives in; set it to test another build, e.g. build-asan/), sources
(nginx/test.conf.in) from $BOOTD_SOURCE_DIR (default: this file's repository).

Run as root, bootd drops to nobody:nogroup and nginx's workers run as
www-data:www-data, as in production bootd runs as bootd and nginx as
www-data: the socket is root:www-data 0660, so bootd's own user cannot
speak FastCGI to it.  The directory itself stays root's (mode 0755); only the
database's directory, db/, belongs to nobody:nogroup, mode 0770 (bootctl run
as root becomes that user before it opens the database, see bootctl(8)).
Run as another user, nothing changes user and db/ is that user's, 0770.
Under a sanitizer build (BOOTD_SANITIZE=1 or not) errors make the process
exit non-zero and close() fails when bootd's or bootctl's output holds a
sanitizer report.

The engine: with BOOTD_TEST_ENGINE=postgresql, every inventory the harness
makes (BootServer without db=, new_inventory()) is a fresh database on a
throw-away PostgreSQL cluster, one per test process (tests/pg.py), and
bootd and bootctl get its URI; the events then live in its schema
"events".  inv_rows(), inv_dump() and events_rows() read either engine.
Importing this module with that engine where PostgreSQL cannot run exits
77 (CTest: skipped) with the reason; a test about SQLite files skips
itself on PostgreSQL with sqlite_only(reason).

Only the Python standard library is used.  Also usable as a program:
    python3 tests/harness.py certs DIR     make ca.pem, server.pem (leaf+CA),
                                           server.key in DIR
    python3 tests/harness.py fcgi SOCKET URI
                                           one FastCGI GET straight to bootd's
                                           socket, as the caller's user (e.g.
                                           under setpriv); prints the JSON of
                                           fcgi_get()'s result
"""

import http.client
import json
import os
import pwd
import grp
import re
import shutil
import signal
import socket
import ssl
import stat
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pg  # noqa: E402
SOURCE_DIR = os.environ.get("BOOTD_SOURCE_DIR") or os.path.dirname(HERE)
BINARY_DIR = (os.environ.get("BOOTD_BINARY_DIR") or
              os.path.join(os.path.dirname(HERE), "build"))

SANITIZER_RE = re.compile(
    r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|"
    r"SUMMARY: UndefinedBehaviorSanitizer")

# Sanitizers: stop at the first error and exit non-zero, so a test fails.
SANITIZER_ENV = {
    "ASAN_OPTIONS": "halt_on_error=1:abort_on_error=0:exitcode=86:"
                    "detect_leaks=1:strict_string_checks=1",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1:exitcode=86",
    "LSAN_OPTIONS": "exitcode=86",
}

# As root, nginx's workers run as this user and group, and bootd's socket
# belongs to the group (mode 0660): not nogroup, which bootd's user has.
NGINX_USER = "www-data"
NGINX_GROUP = "www-data"

# Bounded readiness polling: tries x pause, never an assertion on time.
READY_TRIES = 600
READY_PAUSE = 0.05


class HarnessError(Exception):
    """Something around the system under test did not work."""


# The inventory engine of this run: "sqlite" (files) or "postgresql".
ENGINE = os.environ.get("BOOTD_TEST_ENGINE") or "sqlite"
if ENGINE not in ("sqlite", "postgresql"):
    sys.stderr.write("harness: BOOTD_TEST_ENGINE=%s: sqlite or postgresql\n"
                     % ENGINE)
    sys.exit(2)
if ENGINE == "postgresql":
    pg.skip_unless_available()


def on_postgresql():
    """Does this run keep its inventories on PostgreSQL?"""
    return ENGINE == "postgresql"


def sqlite_only(reason):
    """A unittest decorator: skip on PostgreSQL, saying why."""
    import unittest
    return unittest.skipIf(on_postgresql(), "SQLite only: " + reason)


def new_inventory(directory, name="bootd.db"):
    """
    Where a new, empty inventory goes: directory/name on SQLite (nothing
    is created: bootctl init makes it), a fresh database's URI on
    PostgreSQL (created empty, without a schema).
    """
    if on_postgresql():
        return pg.new_database()
    return os.path.join(directory, name)


def is_uri(where):
    return where.startswith(("postgresql://", "postgres://"))


def inv_rows(where, sql, params=()):
    """
    Rows of a query (? placeholders) on the inventory at where, read-only,
    as tuples of Python values (integers, text, None).
    """
    if is_uri(where):
        return pg.rows(where, sql, params)
    import sqlite3
    con = sqlite3.connect("file:%s?mode=ro" % where, uri=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def inv_execute(where, sql, params=()):
    """Run one statement (? placeholders) on the inventory at where."""
    if is_uri(where):
        pg.execute(where, sql, params)
        return
    import sqlite3
    con = sqlite3.connect(where)
    try:
        con.execute(sql, params)
        con.commit()
    finally:
        con.close()


def inv_exists(where):
    """Does the inventory at where have a schema (bootctl init ran)?"""
    if is_uri(where):
        return bool(pg.rows(where, "SELECT 1 FROM information_schema.tables "
                            "WHERE table_schema = 'public' AND "
                            "table_name = 'schema_version'"))
    return os.path.exists(where)


def inv_dump(where):
    """
    The whole inventory as a comparable list of text lines (its events
    too on PostgreSQL), None when there is none: equal dumps, equal
    contents.
    """
    if is_uri(where):
        return pg.dump(where)
    if not os.path.exists(where):
        return None
    import sqlite3
    con = sqlite3.connect("file:%s?mode=ro" % where, uri=True)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def schema_version(where):
    """The inventory's schema version (0 when it has none)."""
    if is_uri(where):
        if not inv_exists(where):
            return 0
        return pg.rows(where, "SELECT version FROM schema_version")[0][0]
    return inv_rows(where, "PRAGMA user_version")[0][0]


def events_rows(where, sql, params=()):
    """
    Rows of a query on the events database at where (a path, or the URI
    whose schema "events" holds them); [] when there is none yet.
    """
    if is_uri(where):
        if not pg.rows(where, "SELECT 1 FROM information_schema.schemata "
                       "WHERE schema_name = 'events'"):
            return []
        return pg.rows(where, sql, params, search_path="events")
    if not os.path.exists(where):
        return []
    import sqlite3
    try:
        return inv_rows(where, sql, params)
    except sqlite3.OperationalError as e:
        # Made, its schema not yet committed by the recorder: none yet.
        if "no such table" not in str(e):
            raise
        return []


def events_execute(where, statements):
    """
    Run statements [(sql, params), ...] in the events database at where:
    on PostgreSQL in schema "events" (bootctl init made it); on SQLite the
    file is made first with sql/events/, as bootd would.
    """
    if is_uri(where):
        for sql, params in statements:
            pg.execute(where, sql, params, search_path="events")
        return
    import sqlite3
    con = sqlite3.connect(where)
    try:
        if con.execute("PRAGMA user_version").fetchone()[0] == 0:
            for i, sql in enumerate(events_schema(), 1):
                con.executescript(sql)
                con.execute("PRAGMA user_version = %d" % i)
        for sql, params in statements:
            con.execute(sql, params)
        con.commit()
    finally:
        con.close()


def with_postgresql():
    """Was the build configured with the PostgreSQL driver?"""
    try:
        with open(os.path.join(BINARY_DIR, "CMakeCache.txt")) as f:
            return "BOOTD_WITH_POSTGRESQL:BOOL=ON" in f.read()
    except OSError:
        return False


def binary(name):
    """Path of a built program, e.g. binary("bootctl")."""
    sub = {"bootd": "fcgi", "bootctl": "tools"}.get(name, "")
    return os.path.join(BINARY_DIR, sub, name)


def have_binary(name):
    return os.access(binary(name), os.X_OK)


def free_port():
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_busy(port):
    """Is something listening on 127.0.0.1:port (TIME_WAIT does not count)?"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


RECORDER_COMM = "bootd-recorder"


def is_recorder(pid):
    """Is pid bootd's recorder (it names itself so; workers do not)?"""
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip() == RECORDER_COMM
    except OSError:
        return False


def run_env():
    env = dict(os.environ)
    for k, v in SANITIZER_ENV.items():
        env.setdefault(k, v)
    return env


def traced_env():
    """run_env() for a program run under strace: LeakSanitizer cannot
    work under ptrace (the rest of the sanitizers can)."""
    env = run_env()
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    return env


def make_certs(directory, ip="127.0.0.1", name="localhost"):
    """
    Make a throw-away CA and a server certificate for ip/name in directory:
    ca.pem, ca.key, server.pem (leaf followed by the CA: the full chain iPXE
    needs), server.key, leaf.pem.  RSA 2048 keys (every iPXE with HTTPS
    verifies RSA; ECDSA only since late 2025), SHA-256, no OCSP/AIA.
    Returns a dict of the paths.
    """
    d = directory
    p = {k: os.path.join(d, f) for k, f in (
        ("ca", "ca.pem"), ("ca_key", "ca.key"), ("leaf", "leaf.pem"),
        ("chain", "server.pem"), ("key", "server.key"),
        ("csr", "server.csr"), ("ext", "server.ext"))}

    def ossl(*args):
        r = subprocess.run(["openssl", *args], capture_output=True, text=True)
        if r.returncode != 0:
            raise HarnessError("openssl %s: %s" % (args[0], r.stderr.strip()))

    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
         "-keyout", p["ca_key"], "-out", p["ca"], "-days", "3650",
         "-subj", "/CN=bootd test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign",
         "-addext", "subjectKeyIdentifier=hash")
    ossl("req", "-newkey", "rsa:2048",
         "-nodes", "-sha256", "-keyout", p["key"], "-out", p["csr"],
         "-subj", "/CN=%s" % ip)
    with open(p["ext"], "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=IP:%s,DNS:%s\n"
                "authorityKeyIdentifier=keyid\n" % (ip, name))
    ossl("x509", "-req", "-in", p["csr"], "-CA", p["ca"], "-CAkey",
         p["ca_key"], "-CAcreateserial", "-days", "825", "-sha256",
         "-extfile", p["ext"], "-out", p["leaf"])
    with open(p["chain"], "w") as out:
        for f in (p["leaf"], p["ca"]):
            with open(f) as inp:
                out.write(inp.read())
    os.chmod(p["key"], 0o600)
    os.chmod(p["ca_key"], 0o600)
    return p


def render(template, values):
    """Replace @NAME@ in template text; every placeholder must be known."""
    def sub(m):
        if m.group(1) not in values:
            raise HarnessError("no value for @%s@" % m.group(1))
        return str(values[m.group(1)])
    return re.sub(r"@([A-Z_]+)@", sub, template)


def deep_merge(base, over):
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def parse_metrics(text):
    """
    Prometheus text format -> {(name, (("label", "value"), ...)): float}.
    Labels are sorted.
    """
    out = {}
    line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)')
    label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = line_re.match(line)
        if not m:
            raise HarnessError("bad metrics line: %r" % line)
        labels = tuple(sorted(label_re.findall(m.group(3) or "")))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def running(pid):
    """Does pid exist, and not as a zombie?"""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def eventually(fn, pred=bool, tries=READY_TRIES, pause=READY_PAUSE):
    """
    Call fn() until pred(result) holds, a bounded number of times; return
    the last result either way (the caller asserts on it).  For effects
    that follow an answer (counters, boot records), never a timing check.
    """
    r = None
    for _ in range(tries):
        r = fn()
        if pred(r):
            return r
        time.sleep(pause)
    return r


def syscall_nr(pid):
    """The system call pid is blocked in, or None."""
    try:
        with open("/proc/%d/syscall" % pid) as f:
            word = f.read().split()[0]
    except (OSError, IndexError):
        return None
    return int(word) if word.lstrip("-").isdigit() else None


# x86-64 sleeping calls (SQLite's busy handler sleeps in one of them).
SLEEPS = {35, 230}     # nanosleep, clock_nanosleep


def sleeping(pid):
    """
    Is pid asleep in nanosleep(2) or clock_nanosleep(2)?  A worker is
    while SQLite's busy handler waits for a lock another process holds.
    """
    return syscall_nr(pid) in SLEEPS


def ipxe_lines(body):
    """The command lines of a script body (str), without blank lines."""
    return [l.strip() for l in body.splitlines() if l.strip()]


class BootServer:
    """
    A bootd + nginx pair on free 127.0.0.1 ports.

    config: overrides merged into the generated bootd.json (nested dicts).
    db: use this database file instead of making one with `bootctl init`.
    start: start both servers right away (else call start()).
    wrapper: a command to run bootd under (["valgrind", ...]).
    """

    def __init__(self, config=None, db=None, start=True, workers=2,
                 socket_activation=False, nginx_unlimited=None,
                 wrapper=None):
        self.tmp = tempfile.mkdtemp(prefix="bootd-test-")
        self.socket_activation = socket_activation
        # A command bootd runs under, e.g. ["valgrind", ...]: the master
        # is then its process (master_pid is the wrapper's pid, which
        # valgrind keeps).
        self.wrapper = list(wrapper or [])
        # Addresses nginx's request limits leave alone (a geo range), for
        # tests of bootd's own limits from several loopback addresses.
        self.nginx_unlimited = nginx_unlimited
        self.is_root = os.geteuid() == 0
        self.http_port = free_port()
        self.https_port = free_port()
        while self.https_port == self.http_port:
            self.https_port = free_port()
        self.socket = os.path.join(self.tmp, "bootd.sock")
        self.images = os.path.join(self.tmp, "images")
        self.prefix = os.path.join(self.tmp, "nginx")
        self.conf_path = os.path.join(self.tmp, "bootd.json")
        self.nginx_conf = os.path.join(self.prefix, "nginx.conf")
        self.bootd_log_path = os.path.join(self.tmp, "bootd.log")
        self.nginx_log_path = os.path.join(self.prefix, "nginx.stderr")
        self.db = db or new_inventory(os.path.join(self.tmp, "db"))
        # Boot events live beside the inventory (events_default_path()),
        # or in schema "events" of a PostgreSQL inventory.
        self.events_db = (self.db if is_uri(self.db) else
                          events_path(self.db))
        self.bootd = None
        self.nginx = None
        self.exit_codes = {}
        self.closed = False
        self.base_url = "http://127.0.0.1:%d" % self.http_port
        self.config = {
            "database": self.db,
            "token_ttl": 3600,
            "daemon": {
                "listen": "unix:" + self.socket,
                "socket_mode": "0660",
                "socket_owner": "",
                "socket_group": NGINX_GROUP if self.is_root else "",
                "user": "nobody" if self.is_root else "",
                "group": "nogroup" if self.is_root else "",
                "workers": workers,
                "max_requests": 0,
                "drain_timeout": 10,
                "event_wait_ms": 50,
                "log": "stderr",
                "log_level": "debug",
            },
            "menu": {
                "base_url": self.base_url,
                "timeout": 5,
                "shell": True,
                "memtest": True,
                "memtest_bios": "memtest86+x64.bin",
                "memtest_efi": "memtest86+x64.efi",
                "manual_dists": [],
                "unknown": "local",
            },
        }
        if not self.is_root:
            # No privilege drop happens; leave user/group at their defaults.
            # bootctl lets the admin group change everything: make that
            # this user's group.
            for k in ("user", "group"):
                del self.config["daemon"][k]
            self.config["admin_group"] = grp.getgrgid(os.getegid()).gr_name
        if config:
            self.config = deep_merge(self.config, config)
        try:
            self._prepare(own_db=db is None)
            if start:
                self.start()
        except BaseException:
            self.close(check=False)
            raise

    # -- setup ----------------------------------------------------------

    def _prepare(self, own_db):
        os.chmod(self.tmp, 0o755)       # bootd's and nginx's users enter
        os.makedirs(os.path.join(self.prefix, "tmp"))
        os.makedirs(self.images)
        self._make_db_dir(os.path.join(self.tmp, "db") if is_uri(self.db)
                          else os.path.dirname(self.db))
        self.certs = make_certs(self.tmp)
        with open(os.path.join(self.images, "hello.ipxe"), "w") as f:
            f.write("#!ipxe\necho hello from /images/\n")
        with open(os.path.join(self.images, "blob.efi"), "wb") as f:
            f.write(bytes(range(256)) * 64)
        self.write_config()
        template = os.path.join(SOURCE_DIR, "nginx", "test.conf.in")
        with open(template) as f:
            text = render(f.read(), {
                "PREFIX": self.prefix,
                "HTTP_PORT": self.http_port,
                "HTTPS_PORT": self.https_port,
                "SOCKET": self.socket,
                "IMAGES": self.images,
                "CERT": self.certs["chain"],
                "KEY": self.certs["key"],
                "FASTCGI_PARAMS": "/etc/nginx/fastcgi_params",
                "USER": ("user %s %s;" % (NGINX_USER, NGINX_GROUP)
                         if self.is_root else ""),
                "UNLIMITED": ("%s 1;" % self.nginx_unlimited
                              if self.nginx_unlimited else ""),
            })
        with open(self.nginx_conf, "w") as f:
            f.write(text)
        if own_db and have_binary("bootctl"):
            self.bootctl("init")
        self._hand_over()

    def _make_db_dir(self, dbdir):
        """
        The database's directory as production has it (bootd(8)): mode
        0770, owned by bootd's user (nobody:nogroup as root), inside
        directories only root (or this user) may write.
        """
        made = not os.path.isdir(dbdir)
        os.makedirs(dbdir, exist_ok=True)
        if made:
            if self.is_root:
                os.chown(dbdir, pwd.getpwnam("nobody").pw_uid,
                         grp.getgrnam("nogroup").gr_gid)
            os.chmod(dbdir, 0o770)

    def _hand_over(self):
        """
        As root: give the files in the database's directory that a test
        made as root (with Python's sqlite3, say: the inventory or any
        other database there) to nobody, as bootctl's would be.  Never
        follows a link.  bootctl and bootd need none of this.
        """
        os.chmod(self.tmp, 0o755)
        if not self.is_root or is_uri(self.db):
            return
        uid = pwd.getpwnam("nobody").pw_uid
        gid = grp.getgrnam("nogroup").gr_gid
        dbdir = os.path.dirname(self.db)
        for name in os.listdir(dbdir):
            path = os.path.join(dbdir, name)
            st = os.lstat(path)
            if st.st_uid == 0 and stat.S_ISREG(st.st_mode):
                os.chown(path, uid, gid, follow_symlinks=False)

    def write_config(self, **overrides):
        """(Re)write bootd.json, merging overrides (nested dicts)."""
        if overrides:
            self.config = deep_merge(self.config, overrides)
        with open(self.conf_path, "w") as f:
            json.dump(self.config, f, indent=2)
        os.chmod(self.conf_path, 0o644)

    # -- processes --------------------------------------------------------

    def start(self):
        self.start_bootd()
        self.start_nginx()
        self.wait_ready()

    def start_bootd(self):
        if not have_binary("bootd"):
            raise HarnessError("no bootd at %s" % binary("bootd"))
        log = open(self.bootd_log_path, "ab")
        cmd = self.wrapper + [binary("bootd"), "-c", self.conf_path]
        if self.socket_activation:
            # As bootd.socket does: the socket exists before bootd runs,
            # bootd gets it as fd 3 (LISTEN_FDS=1, LISTEN_PID = its pid).
            if os.path.exists(self.socket):
                os.unlink(self.socket)
            cmd = ["systemd-socket-activate", "-l", self.socket] + cmd
        self.bootd = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            env=run_env(), cwd=self.tmp)
        log.close()
        if self.socket_activation:
            for _ in range(READY_TRIES):
                if os.path.exists(self.socket):
                    break
                if self.bootd.poll() is not None:
                    raise HarnessError("systemd-socket-activate exited:\n"
                                       + self.bootd_log())
                time.sleep(READY_PAUSE)
            # SocketMode=0660, SocketGroup=the web server's group.
            os.chmod(self.socket, 0o660)
            if self.is_root:
                os.chown(self.socket, 0, grp.getgrnam(NGINX_GROUP).gr_gid)

    def start_nginx(self):
        log = open(self.nginx_log_path, "ab")
        self.nginx = subprocess.Popen(
            ["nginx", "-p", self.prefix + "/", "-c", self.nginx_conf,
             "-e", "stderr"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.tmp)
        log.close()

    def wait_ready(self, path="/ipxe/v1/health", want=(200, 503)):
        """
        Poll path through nginx until bootd answers it (a status in want),
        a bounded number of times; fail early if a process exits.
        """
        last = None
        for _ in range(READY_TRIES):
            for name, p in (("bootd", self.bootd), ("nginx", self.nginx)):
                if p is not None and p.poll() is not None:
                    raise HarnessError(
                        "%s exited with %d while starting:\n%s" % (
                            name, p.returncode,
                            self.bootd_log() if name == "bootd"
                            else self.nginx_log()))
            try:
                status, _, body = self.get(path, timeout=60)
                if status in want:
                    return status
                last = "%d %r" % (status, body[:200])
            except OSError as e:
                last = str(e)
            time.sleep(READY_PAUSE)
        raise HarnessError("bootd not ready through nginx: %s\n%s\n%s" % (
            last, self.bootd_log(), self.nginx_log()))

    @property
    def master_pid(self):
        return self.bootd.pid

    @property
    def nginx_pid(self):
        return self.nginx.pid

    def child_pids(self, pid=None):
        """Current children of bootd's master (or of pid)."""
        pid = pid or self.bootd.pid
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                return sorted(int(x) for x in f.read().split())
        except FileNotFoundError:
            return []

    def worker_pids(self, pid=None):
        """Current workers of bootd's master (or of pid): not the recorder."""
        return [p for p in self.child_pids(pid) if not is_recorder(p)]

    def recorder_pid(self):
        """The master's recorder process, or None."""
        pids = [p for p in self.child_pids() if is_recorder(p)]
        return pids[0] if len(pids) == 1 else None

    def wait_recorder(self, exclude=(), tries=READY_TRIES):
        """Wait (bounded) until one recorder runs, not one in exclude."""
        pid = None
        for _ in range(tries):
            pid = self.recorder_pid()
            if pid is not None and pid not in exclude:
                return pid
            time.sleep(READY_PAUSE)
        raise HarnessError("recorder %r, wanted one not in %r" % (
            pid, list(exclude)))

    def wait_workers(self, count, exclude=(), tries=READY_TRIES):
        """Wait (bounded) until count workers run, none of them in exclude."""
        pids = []
        for _ in range(tries):
            pids = self.worker_pids()
            if len(pids) == count and not set(pids) & set(exclude):
                return pids
            time.sleep(READY_PAUSE)
        raise HarnessError("workers %r, wanted %d not in %r" % (
            pids, count, list(exclude)))

    def reload(self):
        """SIGHUP to bootd: re-read bootd.json, replace the workers."""
        self.bootd.send_signal(signal.SIGHUP)

    def stop_bootd(self, timeout=60):
        """SIGTERM bootd, wait for it; returns its exit code."""
        if self.bootd is None:
            return None
        if self.bootd.poll() is None:
            self.bootd.send_signal(signal.SIGTERM)
            try:
                self.bootd.wait(timeout)
            except subprocess.TimeoutExpired:
                self.bootd.kill()
                self.bootd.wait()
                self.exit_codes["bootd"] = "killed after SIGTERM timeout"
                return None
        self.exit_codes["bootd"] = self.bootd.returncode
        return self.bootd.returncode

    def stop_nginx(self, timeout=30):
        if self.nginx is None:
            return None
        if self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGTERM)
            try:
                self.nginx.wait(timeout)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait()
        self.exit_codes["nginx"] = self.nginx.returncode
        return self.nginx.returncode

    def stop(self):
        """Stop both; returns {"bootd": code, "nginx": code}."""
        self.stop_bootd()
        self.stop_nginx()
        return dict(self.exit_codes)

    def restart_bootd(self):
        self.stop_bootd()
        self.start_bootd()
        self.wait_ready()

    def sanitizer_reports(self):
        """Sanitizer report lines found in bootd's log."""
        return [l for l in self.bootd_log().splitlines()
                if SANITIZER_RE.search(l)]

    def close(self, check=True):
        """Stop everything, remove the directory; check sanitizer output."""
        if self.closed:
            return
        self.closed = True
        try:
            self.stop()
        finally:
            reports = self.sanitizer_reports() if check else []
            log = self.bootd_log() if reports else ""
            if os.environ.get("BOOTD_KEEP_TMP") == "1" or reports:
                sys.stderr.write("harness: kept %s\n" % self.tmp)
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)
        if reports:
            raise HarnessError("sanitizer reports from bootd:\n" + log)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(check=True)
        return False

    # -- logs -------------------------------------------------------------

    def _read(self, path):
        try:
            with open(path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def bootd_log(self):
        return self._read(self.bootd_log_path)

    def nginx_log(self):
        return self._read(self.nginx_log_path) + self._read(
            os.path.join(self.prefix, "error.log"))

    def access_log(self):
        return self._read(os.path.join(self.prefix, "access.log"))

    # -- clients ----------------------------------------------------------

    def ssl_context(self, tls_max=None, tls_min=None):
        ctx = ssl.create_default_context(cafile=self.certs["ca"])
        if tls_max is not None:
            ctx.maximum_version = tls_max
        if tls_min is not None:
            ctx.minimum_version = tls_min
        return ctx

    def connection(self, https=False, timeout=30, source=None,
                   tls_max=None, tls_min=None):
        src = (source, 0) if source else None
        if https:
            return http.client.HTTPSConnection(
                "127.0.0.1", self.https_port, timeout=timeout,
                source_address=src,
                context=self.ssl_context(tls_max, tls_min))
        return http.client.HTTPConnection(
            "127.0.0.1", self.http_port, timeout=timeout,
            source_address=src)

    def request(self, method, path, body=None, headers=None, https=False,
                timeout=30, source=None, tls_max=None, tls_min=None,
                info=None):
        """
        One request; returns (status, headers as a dict with lower-case
        names, body bytes).  path is sent as given (no quoting).
        info, a dict, receives "tls_version" and "cipher" for HTTPS.
        """
        conn = self.connection(https, timeout, source, tls_max, tls_min)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            if info is not None and https:
                info["tls_version"] = conn.sock.version()
                info["cipher"] = conn.sock.cipher()
            return (resp.status,
                    {k.lower(): v for k, v in resp.getheaders()}, data)
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=b"", **kw):
        hdrs = kw.pop("headers", None) or {
            "Content-Type": "application/x-www-form-urlencoded"}
        return self.request("POST", path, body=body, headers=hdrs, **kw)

    def raw(self, data, timeout=30):
        """Send raw bytes to the HTTP port; return everything read back."""
        with socket.create_connection(("127.0.0.1", self.http_port),
                                      timeout=timeout) as s:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            chunks = []
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
        return b"".join(chunks)

    def config_script(self, mac, **kw):
        status, _, body = self.get("/ipxe/v1/config?mac=" + mac, **kw)
        return status, body.decode("utf-8", "replace")

    def metrics(self):
        status, _, body = self.get("/ipxe/v1/metrics")
        if status != 200:
            raise HarnessError("metrics: %d %r" % (status, body[:200]))
        return parse_metrics(body.decode())

    @staticmethod
    def metric(metrics, name, **labels):
        """Value of one series from metrics(), 0 when absent."""
        key = (name, tuple(sorted(labels.items())))
        return metrics.get(key, 0.0)

    # -- inventory ---------------------------------------------------------

    def add_dist(self, name="debian-12", cmdline=None):
        """A distribution whose files live under /images/NAME/."""
        base = self.base_url + "/images/" + name
        self.bootctl("dist", "add", name, "--kernel", base + "/vmlinuz",
                     "--initrd", base + "/initrd.img", "--cmdline",
                     cmdline or "auto=true hostname={{fqdn}} "
                     "bootd.token={{token}} console=ttyS0")

    def token(self, host):
        """The host's live install token (bootctl host show), or None."""
        out = self.bootctl("host", "show", host).stdout
        m = re.search(r"^token:\s*([0-9a-f]{32})\s*$", out, re.M)
        return m.group(1) if m else None

    def host_field(self, host, field):
        out = self.bootctl("host", "show", host).stdout
        m = re.search(r"^%s:\s*(.*?)\s*$" % re.escape(field), out, re.M)
        return m.group(1) if m else None

    def load_v1_fixture(self):
        """
        Replace the inventory by tests/data/inv-v1.sql, a version-1
        inventory with its boot events inside, as an old bootd left it
        (for a server made with start=False).  SQLite only.
        """
        import sqlite3
        if is_uri(self.db):
            raise HarnessError("load_v1_fixture: an SQLite inventory only")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.db + suffix):
                os.unlink(self.db + suffix)
        with open(os.path.join(SOURCE_DIR, "tests", "data",
                               "inv-v1.sql")) as f:
            fixture = f.read()
        con = sqlite3.connect(self.db)
        con.executescript(fixture)
        con.close()
        self._hand_over()

    def copy_db(self, dest):
        """A consistent copy of the inventory (SQLite backup API)."""
        import sqlite3
        if is_uri(self.db):
            raise HarnessError("copy_db: an SQLite inventory only")
        src = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True)
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        if self.is_root:
            os.chown(dest, pwd.getpwnam("nobody").pw_uid,
                     grp.getgrnam("nogroup").gr_gid)

    def create_events_db(self):
        """
        Create the events database with its schema, as bootd would (on
        PostgreSQL bootctl init made schema "events" already).
        """
        import sqlite3
        if is_uri(self.events_db):
            return
        con = sqlite3.connect(self.events_db)
        try:
            for i, sql in enumerate(events_schema(), 1):
                con.executescript(sql)
                con.execute("PRAGMA user_version = %d" % i)
            con.commit()
        finally:
            con.close()
        os.chmod(self.events_db, 0o660)
        self._hand_over()

    def events(self, sql, params=()):
        """Rows of a query on the events database ([] when missing)."""
        return events_rows(self.events_db, sql, params)

    def inv(self, sql, params=()):
        """Rows of a query on the inventory, on either engine."""
        return inv_rows(self.db, sql, params)

    # -- bootctl ----------------------------------------------------------

    def bootctl(self, *args, check=True, db=None):
        """Run bootctl --db DB ARGS; returns the CompletedProcess (text)."""
        if not have_binary("bootctl"):
            raise HarnessError("no bootctl at %s" % binary("bootctl"))
        r = subprocess.run([binary("bootctl"), "-c", self.conf_path,
                            "--db", db or self.db, *args],
                           capture_output=True, text=True,
                           env=run_env(), stdin=subprocess.DEVNULL)
        if SANITIZER_RE.search(r.stderr):
            raise HarnessError("sanitizer report from bootctl %s:\n%s" % (
                " ".join(args), r.stderr))
        if check and r.returncode != 0:
            raise HarnessError("bootctl %s: exit %d: %s%s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr))
        return r


def tail(path, n=2000):
    """The last n characters of a file, "" when it is missing."""
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:]
    except FileNotFoundError:
        return ""


def _fcgi_record(rtype, content, request_id=1):
    return struct.pack("!BBHHBx", 1, rtype, request_id, len(content),
                       0) + content


def _fcgi_pairs(params):
    out = b""
    for k, v in params.items():
        k, v = k.encode(), v.encode()
        for n in (len(k), len(v)):
            out += (struct.pack("!B", n) if n < 128
                    else struct.pack("!I", n | 0x80000000))
        out += k + v
    return out


def fcgi_get(sock_path, uri, timeout=30):
    """
    One FastCGI GET of uri ("/ipxe/v1/health?x=y") sent straight to a
    unix socket, as nginx would.  Returns a dict: "connected" (False with
    "error" when connect() failed), "answer" (every byte read until the
    peer closed, latin-1 text), "stdout" (the FCGI_STDOUT content).
    """
    path, _, query = uri.partition("?")
    params = {"REQUEST_METHOD": "GET", "DOCUMENT_URI": path,
              "QUERY_STRING": query, "REMOTE_ADDR": "127.0.0.1",
              "SERVER_PROTOCOL": "HTTP/1.1", "GATEWAY_INTERFACE": "CGI/1.1"}
    msg = (_fcgi_record(1, struct.pack("!HB5x", 1, 0)) +     # BEGIN, RESPONDER
           _fcgi_record(4, _fcgi_pairs(params)) + _fcgi_record(4, b"") +
           _fcgi_record(5, b""))                             # STDIN, empty
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
    except OSError as e:
        s.close()
        return {"connected": False, "error": str(e), "answer": "",
                "stdout": ""}
    data = b""
    try:
        try:
            s.sendall(msg)
        except OSError:
            pass                # closed on us: read what there is
        while True:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                break
            if not b:
                break
            data += b
    finally:
        s.close()
    stdout, i = b"", 0
    while i + 8 <= len(data):
        _, rtype, _, clen, plen = struct.unpack("!BBHHB", data[i:i + 7])
        if rtype == 6:          # FCGI_STDOUT
            stdout += data[i + 8:i + 8 + clen]
        i += 8 + clen + plen
    return {"connected": True, "answer": data.decode("latin-1"),
            "stdout": stdout.decode("latin-1")}


def fcgi_get_as(user, group, sock_path, uri, timeout=30):
    """
    fcgi_get() from a process running as user:group (no supplementary
    groups), through setpriv(1); needs root.
    """
    r = subprocess.run(
        ["setpriv", "--reuid", user, "--regid", group, "--clear-groups",
         sys.executable, os.path.abspath(__file__), "fcgi", sock_path, uri],
        capture_output=True, text=True, timeout=timeout + 30)
    if r.returncode != 0:
        raise HarnessError("fcgi as %s:%s: exit %d: %s" % (
            user, group, r.returncode, r.stderr))
    return json.loads(r.stdout)


def events_path(db):
    """The events database bootd uses beside inventory db by default."""
    return (db[:-3] if db.endswith(".db") and not db.endswith("/.db")
            else db) + "-events.db"


def events_schema():
    """The events database's migrations (sql/events/), in order."""
    d = os.path.join(SOURCE_DIR, "sql", "events")
    out = []
    for name in sorted(os.listdir(d)):
        if re.match(r"[0-9]{3}-.*\.sql$", name):
            with open(os.path.join(d, name)) as f:
                out.append(f.read())
    return out


def _main(argv):
    if len(argv) == 3 and argv[1] == "certs":
        os.makedirs(argv[2], exist_ok=True)
        for k, v in make_certs(argv[2]).items():
            print("%s %s" % (k, v))
        return 0
    if len(argv) == 4 and argv[1] == "fcgi":
        print(json.dumps(fcgi_get(argv[2], argv[3])))
        return 0
    sys.stderr.write("usage: harness.py certs DIR | fcgi SOCKET URI\n")
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
