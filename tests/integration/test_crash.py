"""
Crashes and faults in the middle of a write, with the real binaries and
real files:

- a schema migration killed with SIGKILL half-way (by gdb at fixed points:
  after the migrations ran but before their commit, and at the Nth write(2)
  of the database file, then on a timer across the migration of a large
  version-1 inventory): the next start finds the old schema or the new one,
  never a mix, and migrates it then;
- bootctl killed with SIGKILL in the middle of set-reinstall of many hosts
  (gdb at the Nth host, before the commit, at the Nth write, then on a
  timer): all of them change or none;
- the disk holding the inventory and the events database full (a small
  tmpfs, as root): boots keep getting their answers, events are counted
  as dropped, bootctl fails with a one-line error, done answers 503, and
  after space returns everything works and both databases pass
  PRAGMA integrity_check.

gdb and timers choose where the process dies; no assertion depends on
timing.  The fault-injection points need gdb (skipped without it); the
disk-full test needs root to mount a tmpfs (skipped otherwise).
"""

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import harness  # noqa: E402
from harness import eventually  # noqa: E402

HAVE_GDB = shutil.which("gdb") is not None
V1 = os.path.join(harness.SOURCE_DIR, "tests", "data", "inv-v1.sql")


def state(path):
    """
    What the next start finds in the database at path, read the way it
    reads it (a read-write open recovers a hot journal or WAL): the schema
    version, the schema itself, the integrity check.
    """
    con = sqlite3.connect(path, timeout=30)
    try:
        version = con.execute("PRAGMA user_version").fetchone()[0]
        schema = con.execute("SELECT type, name, tbl_name, sql FROM "
                             "sqlite_master ORDER BY type, name").fetchall()
        ok = con.execute("PRAGMA integrity_check").fetchall()
    finally:
        con.close()
    return version, schema, ok


def copy_db(src, dst):
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(dst + suffix):
            os.unlink(dst + suffix)
    shutil.copy(src, dst)


def gdb_kill(argv, breaks, env=None):
    """
    Run argv under gdb, SIGKILL it where breaks (gdb commands: "break X",
    "ignore 1 N"...) first stop it.  Returns (stopped there, gdb output).
    A program that ends before is not killed.
    """
    cmd = ["gdb", "-nx", "-batch", "-ex", "set breakpoint pending on",
           "-ex", "set confirm off"]
    for b in breaks:
        cmd += ["-ex", b]
    cmd += ["-ex", "run", "-ex", "kill", "-ex", "quit", "--args", *argv]
    r = subprocess.run(cmd, capture_output=True, text=True,
                       env=env or harness.run_env(),
                       stdin=subprocess.DEVNULL, timeout=600)
    out = r.stdout + r.stderr
    return re.search(r"^Breakpoint 1, ", out, re.M) is not None, out


def timer_kill(argv, delay, env=None):
    """Start argv, SIGKILL it after delay seconds (if still running)."""
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         env=env or harness.run_env())
    try:
        p.wait(delay)
        killed = False
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        p.wait()
        killed = True
    err = p.stderr.read().decode()
    p.stderr.close()
    return killed, p.returncode, err


class MigrationKilled(unittest.TestCase):
    HOSTS = 20000
    EVENTS = 60000

    @classmethod
    def setUpClass(cls):
        if not harness.have_binary("bootctl"):
            print("skipped: bootctl is not built")
            sys.exit(77)
        cls.srv = harness.BootServer(start=False)
        cls.tmp = tempfile.mkdtemp(prefix="bootd-migrate-")
        cls.fixture = os.path.join(cls.tmp, "v1.db")
        cls.make_v1(cls.fixture)
        cls.old = state(cls.fixture)
        # The schema a finished migration leaves.
        done = os.path.join(cls.tmp, "done.db")
        copy_db(cls.fixture, done)
        cls.run_init(done)
        cls.new = state(done)
        assert cls.old[0] == 1 and cls.new[0] > 1, (cls.old[0], cls.new[0])
        assert cls.old[2] == cls.new[2] == [("ok",)]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        cls.srv.close()

    @classmethod
    def make_v1(cls, path):
        """tests/data/inv-v1.sql, grown to HOSTS hosts and EVENTS events."""
        con = sqlite3.connect(path)
        with open(V1) as f:
            con.executescript(f.read())
        con.executemany(
            "INSERT INTO host (fqdn, env, action, dist, last_seen, "
            "last_served) VALUES (?, 'default', 'local', NULL, ?, 'local')",
            (("h%d.example.org" % i, 1700000000 + i)
             for i in range(cls.HOSTS)))
        con.execute(
            "INSERT INTO nic (mac, host) SELECT printf('52:55:%02x:%02x:"
            "%02x:%02x', (id >> 24) & 255, (id >> 16) & 255, (id >> 8) & 255,"
            " id & 255), id FROM host WHERE fqdn LIKE 'h%'")
        con.executemany(
            "INSERT INTO boot_event (time, mac, host, served, params) "
            "VALUES (?, ?, NULL, 'unknown', 'platform=efi buildarch=x86_64')",
            ((1700000000 + i, "52:56:00:%02x:%02x:%02x" % (
                (i >> 16) & 255, (i >> 8) & 255, i & 255))
             for i in range(cls.EVENTS)))
        con.commit()
        con.close()
        cls.hosts = cls.HOSTS + 2

    @classmethod
    def bootctl_argv(cls, db):
        return [harness.binary("bootctl"), "-c", cls.srv.conf_path, "--db",
                db, "init"]

    @classmethod
    def run_init(cls, db):
        r = subprocess.run(cls.bootctl_argv(db), capture_output=True,
                           text=True, env=harness.run_env(),
                           stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise harness.HarnessError("bootctl init: %s" % r.stderr)
        return r

    def prepare(self, name):
        db = os.path.join(self.srv.tmp, "db", name)
        copy_db(self.fixture, db)
        self.srv._hand_over()
        return db

    def check_then_finish(self, db, what):
        """Old or new, never a mix; then a start migrates it whole."""
        got = state(db)
        self.assertEqual(got[2], [("ok",)], what)
        self.assertIn(got[:2], (self.old[:2], self.new[:2]), what)
        self.run_init(db)
        self.assertEqual(state(db), self.new, what)
        con = sqlite3.connect(db)
        try:
            self.assertEqual(con.execute("SELECT count(*) FROM host")
                             .fetchone()[0], self.hosts, what)
        finally:
            con.close()
        return "old" if got[:2] == self.old[:2] else "new"

    @unittest.skipUnless(HAVE_GDB, "gdb is not installed")
    def test_killed_at_fixed_points(self):
        seen = []
        points = [["break fk_violations"]]
        for n in (1, 10, 100, 1000):
            points.append(["break pwrite64", "ignore 1 %d" % (n - 1)])
        points.append(["break fdatasync"])
        for i, breaks in enumerate(points):
            db = self.prepare("gdb%d.db" % i)
            hit, out = gdb_kill(self.bootctl_argv(db), breaks)
            if i == 0 and not hit:
                # A compiler that left no trace of the static function.
                self.assertIn("not defined", out)
                print("gdb cannot stop at fk_violations in this build",
                      file=sys.stderr)
            what = "%s (stopped: %s)" % (breaks, hit)
            seen.append((breaks[-1], hit, self.check_then_finish(db, what)))
        # Killed before its commit, the migration left the old schema.
        if seen[0][1]:
            self.assertEqual(seen[0][2], "old", seen)
        self.assertTrue(any(hit for _, hit, _ in seen[1:]), seen)
        print("migration killed by gdb: %s" % seen, file=sys.stderr)

    def test_killed_on_a_timer(self):
        # How long a whole migration takes here, then kills spread over it.
        db = self.prepare("timed.db")
        t0 = time.monotonic()
        self.run_init(db)
        whole = time.monotonic() - t0
        outcomes = []
        for i in range(10):
            db = self.prepare("timer%d.db" % i)
            killed, rc, err = timer_kill(self.bootctl_argv(db),
                                         whole * (i + 0.5) / 10)
            self.assertNotRegex(err, harness.SANITIZER_RE)
            outcomes.append((killed, self.check_then_finish(
                db, "killed after %.3f s" % (whole * (i + 0.5) / 10))))
        print("migration (%.2f s) killed on a timer: %s" % (whole, outcomes),
              file=sys.stderr)


class KilledMidWrite:
    """
    A bootctl change killed with SIGKILL, by gdb at fixed points (FIRST:
    the function called once per host, half-way through the hosts; then
    the commit, the WAL's writes and its sync) and on a timer across a
    whole run, must leave all of it or none of it.  A subclass gives
    argv(), clean (a copy of the inventory before), srv, HOSTS, WHAT and
    outcome(what), which returns "all" or "none" and fails on anything
    else.
    """

    def reset(self):
        copy_db(self.clean, self.srv.db)
        self.srv._hand_over()

    @unittest.skipUnless(HAVE_GDB, "gdb is not installed")
    def test_killed_at_fixed_points(self):
        seen = []
        for breaks in (["break " + self.FIRST,
                        "ignore 1 %d" % (self.HOSTS // 2)],
                       ["break inv_commit"],
                       ["break pwrite64", "ignore 1 5"],
                       ["break pwrite64", "ignore 1 50"],
                       ["break fdatasync"]):
            self.reset()
            hit, out = gdb_kill(self.argv(), breaks)
            seen.append((breaks[0], hit, self.outcome(str(breaks))))
        # Half-way through the hosts, and before the commit: none.
        self.assertEqual(seen[0][1:], (True, "none"), seen)
        self.assertEqual(seen[1][1:], (True, "none"), seen)
        print("%s of %d hosts killed by gdb: %s"
              % (self.WHAT, self.HOSTS, seen), file=sys.stderr)

    def test_killed_on_a_timer(self):
        self.reset()
        t0 = time.monotonic()
        r = subprocess.run(self.argv(), capture_output=True, text=True,
                           env=harness.run_env(), stdin=subprocess.DEVNULL)
        whole = time.monotonic() - t0
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.outcome("whole run"), "all")
        outcomes = []
        for i in range(10):
            self.reset()
            delay = whole * (i + 0.5) / 10
            killed, rc, err = timer_kill(self.argv(), delay)
            self.assertNotRegex(err, harness.SANITIZER_RE)
            outcomes.append((killed, self.outcome("killed after %.3f s"
                                                  % delay)))
        print("%s (%.2f s) killed on a timer: %s"
              % (self.WHAT, whole, outcomes), file=sys.stderr)


class BulkChangeKilled(KilledMidWrite, unittest.TestCase):
    """set-reinstall of HOSTS hosts named one by one."""
    HOSTS = 400
    WHAT = "set-reinstall"
    FIRST = "inv_set_reinstall_host"

    @classmethod
    def setUpClass(cls):
        if not harness.have_binary("bootctl"):
            print("skipped: bootctl is not built")
            sys.exit(77)
        cls.srv = harness.BootServer(start=False)
        cls.srv.add_dist("debian-12")
        con = sqlite3.connect(cls.srv.db)
        con.executemany("INSERT INTO host (fqdn, dist) VALUES (?, "
                        "'debian-12')", (("b%d.example.org" % i,)
                                          for i in range(cls.HOSTS)))
        con.execute("INSERT INTO nic (mac, host) SELECT printf('52:57:00:00:"
                    "%02x:%02x', (id >> 8) & 255, id & 255), id FROM host")
        con.commit()
        con.close()
        cls.srv._hand_over()
        cls.names = ["b%d.example.org" % i for i in range(cls.HOSTS)]
        cls.clean = os.path.join(tempfile.mkdtemp(prefix="bootd-bulk-"),
                                 "clean.db")
        shutil.copy(cls.srv.db, cls.clean)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(os.path.dirname(cls.clean), ignore_errors=True)
        cls.srv.close()

    def argv(self):
        return [harness.binary("bootctl"), "-c", self.srv.conf_path, "--db",
                self.srv.db, "set-reinstall", *self.names]

    def outcome(self, what):
        """"none" or "all" of the hosts changed; anything else fails."""
        con = sqlite3.connect(self.srv.db, timeout=30)
        try:
            self.assertEqual(con.execute("PRAGMA integrity_check")
                             .fetchall(), [("ok",)], what)
            install = con.execute("SELECT count(*) FROM host WHERE action = "
                                  "'install'").fetchone()[0]
            tokens = con.execute("SELECT count(*) FROM token WHERE used_at "
                                 "IS NULL AND revoked = 0").fetchone()[0]
            audit = con.execute("SELECT count(*) FROM audit WHERE op = "
                                "'set-reinstall'").fetchone()[0]
        finally:
            con.close()
        counts = (install, tokens, audit)
        self.assertIn(counts, ((0, 0, 0), (self.HOSTS,) * 3), what)
        return "none" if install == 0 else "all"


class ImportKilled(KilledMidWrite, unittest.TestCase):
    """
    bootctl import of a document adding HOSTS hosts (with attributes),
    killed half-way through and at the commit's writes: the inventory has
    all of them or none, with their audit rows.
    """
    HOSTS = 400
    WHAT = "import"
    FIRST = "inv_host_import"

    @classmethod
    def setUpClass(cls):
        if not harness.have_binary("bootctl"):
            print("skipped: bootctl is not built")
            sys.exit(77)
        cls.srv = harness.BootServer(start=False)
        cls.srv.add_dist("debian-12")
        cls.tmp = tempfile.mkdtemp(prefix="bootd-import-")
        cls.clean = os.path.join(cls.tmp, "clean.db")
        shutil.copy(cls.srv.db, cls.clean)
        cls.doc = os.path.join(cls.tmp, "inventory.json")
        with open(cls.doc, "w") as f:
            json.dump({"format": "bootd-inventory", "version": 1,
                       "hosts": [{"fqdn": "i%d.example.org" % i,
                                  "environment": "default",
                                  "action": "local",
                                  "distribution": "debian-12",
                                  "macs": ["52:58:00:00:%02x:%02x"
                                           % (i >> 8, i & 255)],
                                  "attributes": {"rack": "r%d" % (i % 7)}}
                                 for i in range(cls.HOSTS)]}, f)
        os.chmod(cls.tmp, 0o755)
        os.chmod(cls.doc, 0o644)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        cls.srv.close()

    def argv(self):
        return [harness.binary("bootctl"), "-c", self.srv.conf_path, "--db",
                self.srv.db, "import", self.doc]

    def outcome(self, what):
        """"none" or "all" of the document applied; anything else fails."""
        con = sqlite3.connect(self.srv.db, timeout=30)
        try:
            self.assertEqual(con.execute("PRAGMA integrity_check")
                             .fetchall(), [("ok",)], what)
            hosts = con.execute("SELECT count(*) FROM host WHERE fqdn LIKE "
                                "'i%.example.org'").fetchone()[0]
            nics = con.execute("SELECT count(*) FROM nic WHERE mac LIKE "
                               "'52:58:%'").fetchone()[0]
            attrs = con.execute("SELECT count(*) FROM host_attr WHERE key "
                                "= 'rack'").fetchone()[0]
            audit = con.execute("SELECT count(*) FROM audit WHERE object "
                                "LIKE 'i%.example.org'").fetchone()[0]
        finally:
            con.close()
        counts = (hosts, nics, attrs, min(audit, 1) * self.HOSTS)
        self.assertIn(counts, ((0, 0, 0, 0), (self.HOSTS,) * 4),
                      (what, hosts, nics, attrs, audit))
        return "none" if hosts == 0 else "all"


def cpu_ticks(pid):
    """utime + stime of pid (clock ticks), from /proc/PID/stat."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def seen_rows(events_db):
    """Rows of the events database's "seen" (hosts' last seen times)."""
    con = sqlite3.connect(events_db, timeout=30)
    try:
        return con.execute("SELECT count(*) FROM seen").fetchone()[0]
    finally:
        con.close()


class DiskFull(unittest.TestCase):
    """The inventory's filesystem full, under a running daemon."""

    INSTALL_MAC = "52:54:00:40:00:01"
    LOCAL_MAC = "52:54:00:40:00:02"

    def setUp(self):
        if not harness.have_binary("bootd"):
            self.skipTest("bootd is not built")
        if os.geteuid() != 0:
            self.skipTest("mounting a small tmpfs needs root")
        self.mnt = tempfile.mkdtemp(prefix="bootd-full-")
        os.chmod(self.mnt, 0o755)
        dbdir = os.path.join(self.mnt, "db")
        os.mkdir(dbdir)
        import grp
        import pwd
        r = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=8m,mode=0770,uid=%d,gid=%d"
             % (pwd.getpwnam("nobody").pw_uid,
                grp.getgrnam("nogroup").gr_gid), "bootd-full", dbdir],
            capture_output=True, text=True)
        if r.returncode != 0:
            shutil.rmtree(self.mnt, ignore_errors=True)
            self.skipTest("cannot mount a tmpfs here: %s" % r.stderr.strip())
        self.addCleanup(shutil.rmtree, self.mnt, True)
        self.addCleanup(subprocess.run, ["umount", "-l", dbdir])
        self.dbdir = dbdir
        self.srv = harness.BootServer(db=os.path.join(dbdir, "bootd.db"),
                                      start=False, config={
                                          "daemon": {"event_batch_ms": 10}})
        self.addCleanup(self.srv.close)
        self.srv.bootctl("init")
        self.srv.start()
        s = self.srv
        s.add_dist("debian-12")
        s.bootctl("host", "add", "full1.example.org", self.INSTALL_MAC,
                  "--dist", "debian-12")
        s.bootctl("host", "add", "full2.example.org", self.LOCAL_MAC,
                  "--dist", "debian-12")
        s.bootctl("set-reinstall", "full1.example.org")

    def record_one(self):
        """A boot recorded: the events database exists."""
        s = self.srv
        self.assertEqual(s.config_script(self.LOCAL_MAC)[0], 200)
        eventually(lambda: s.metric(s.metrics(),
                                    "bootd_events_recorded_total"),
                   lambda n: n >= 1)

    def fill(self):
        """Fill the filesystem to the last byte; returns the filler's path."""
        path = os.path.join(self.dbdir, "filler")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            for size in (65536, 4096, 1):
                while True:
                    try:
                        os.write(fd, b"\0" * size)
                    except OSError:
                        break
        finally:
            os.close(fd)
        return path

    def test_disk_full(self):
        self.record_one()
        self.full_then_space()

    def test_disk_full_last_seen_not_retried_in_a_loop(self):
        # The sweep of hosts' last seen times fails on the full disk.  An
        # idle recorder then waits SEEN_RETRY_MS between tries; before,
        # it tried again at once, for ever: a core at 100% (299 clock
        # ticks of 300 in 3 s).  The bound, a third of that, is no
        # speed: a loop takes all it gets, a wait next to none.
        s = self.srv
        self.record_one()               # a known MAC: its time held
        filler = self.fill()
        try:
            log = eventually(s.bootd_log, lambda t: "writing last seen "
                             "times" in t, tries=400)
            self.assertIn("writing last seen times", log)
            rec = s.recorder_pid()
            t0 = cpu_ticks(rec)
            time.sleep(3)
            spent = cpu_ticks(rec) - t0
            self.assertLess(spent, os.sysconf("SC_CLK_TCK"),
                            "the recorder spins on a failing sweep")
        finally:
            os.unlink(filler)
        # Space is back: the next try writes them.
        self.assertEqual(eventually(lambda: seen_rows(s.events_db),
                                    lambda n: n == 1), 1)

    def test_disk_full_at_start(self):
        # bootd starts on a full disk without its events database: the
        # recorder cannot even create it.
        s = self.srv
        s.stop_bootd()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(s.events_db + suffix):
                os.unlink(s.events_db + suffix)
        filler = self.fill()
        s.start_bootd()
        s.wait_ready()
        self.full_then_space(filler)

    def full_then_space(self, filler=None):
        s = self.srv
        token = s.token("full1.example.org")
        before = s.metrics()
        if filler is None:
            filler = self.fill()
        try:
            # Boots keep getting their answers.
            for i in range(60):
                st, body = s.config_script(self.INSTALL_MAC)
                self.assertEqual(st, 200)
                self.assertRegex(body, r"(?m)^choose .*--default install")
                st, body = s.config_script("52:54:00:41:%02x:%02x"
                                           % (i // 256, i % 256))
                self.assertEqual(st, 200)
                self.assertIn("menu unknown host", body)
            # Their events cannot be written: counted as dropped.
            m = eventually(s.metrics, lambda m: s.metric(
                m, "bootd_events_dropped_total") > s.metric(
                before, "bootd_events_dropped_total") and s.metric(
                m, "bootd_events_queued") == 0)
            dropped = s.metric(m, "bootd_events_dropped_total") - \
                s.metric(before, "bootd_events_dropped_total")
            self.assertGreater(dropped, 0)
            # bootctl fails cleanly: one line, exit 1, nothing changed.
            r = s.bootctl("set-reinstall", "full2.example.org", check=False)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1,
                             r.stderr)
            self.assertRegex(r.stderr, r"(?i)full|space")
            # done cannot be written either: 503, the installer retries.
            st, _, _ = s.post("/ipxe/v1/done", body="token=" + token)
            self.assertEqual(st, 503)
            self.assertEqual(s.host_field("full1.example.org", "action"),
                             "install")
            self.assertIsNone(s.bootd.poll())
        finally:
            os.unlink(filler)
        # Space is back: everything works, nothing is corrupt.
        r = s.bootctl("set-reinstall", "full2.example.org")
        self.assertEqual(s.host_field("full2.example.org", "action"),
                         "install")
        st, _, body = s.post("/ipxe/v1/done", body="token=" + token)
        self.assertEqual((st, body), (200, b"ok\n"))
        self.assertEqual(s.host_field("full1.example.org", "action"),
                         "local")
        recorded = s.metric(s.metrics(), "bootd_events_recorded_total")
        self.assertEqual(s.config_script(self.LOCAL_MAC)[0], 200)
        eventually(lambda: s.metric(s.metrics(),
                                    "bootd_events_recorded_total"),
                   lambda n: n > recorded)
        self.assertGreater(s.metric(s.metrics(),
                                    "bootd_events_recorded_total"), recorded)
        m = s.metrics()
        self.assertEqual(s.metric(m, "bootd_worker_restarts_total"), 0)
        self.assertEqual(s.metric(m, "bootd_recorder_restarts_total"), 0)
        for db in (s.db, s.events_db):
            con = sqlite3.connect(db, timeout=30)
            try:
                self.assertEqual(con.execute("PRAGMA integrity_check")
                                 .fetchall(), [("ok",)], db)
            finally:
                con.close()


if __name__ == "__main__":
    unittest.main()
