"""
Another process holds a database's write lock and does not let go (an
operator's bootctl stopped with SIGSTOP inside its transaction, a
sqlite3 shell left in BEGIN): bootd(8) "HELD WRITE LOCK".

- The inventory held: boots are answered from the read path the whole
  time, also while a done waits on the lock; done answers 503 after its
  bounded wait (5 s) and the token stays good; an install script's fetch
  is answered at once.  Released: the same done succeeds.
- The same with a real bootctl: stopped by SIGSTOP in the middle of its
  commit (strace delivers the signal right after its first write to the
  inventory's WAL), continued with SIGCONT, it finishes its change.
- The events database held: boots are answered, each batch waits
  daemon.event_wait_ms and is dropped and counted; released, events are
  recorded again.
- An upgraded inventory whose legacy boot events the recorder must move
  (tests/data/inv-v1.sql), held: the recorder waits no longer than
  daemon.event_wait_ms for it, records the boots meanwhile, and moves the
  legacy events once the lock is gone.

Lock holders are real processes on the real files (Python's sqlite3 with
BEGIN IMMEDIATE, or bootctl), run as bootd's user when the test is root.
No timing is asserted: the waits are printed for the record.
"""

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import harness  # noqa: E402
from harness import eventually  # noqa: E402

IS_ROOT = os.geteuid() == 0
AS_BOOTD = (["setpriv", "--reuid", "nobody", "--regid", "nogroup",
             "--clear-groups"] if IS_ROOT else [])
INSTALL = ("inst.example.org", "52:54:00:00:51:01")
LOCAL = ("local.example.org", "52:54:00:00:51:02")
OTHERS = [("c%d.example.org" % i, "52:54:00:00:52:%02x" % i)
          for i in range(2)]
UNKNOWN = "52:54:00:00:5f:01"
BOOTS = 12              # boots asked while a lock is held

HOLDER = r"""
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
c.execute("ROLLBACK")
c.close()
"""


class Holder:
    """A process holding path's write lock (BEGIN IMMEDIATE) until release."""

    def __init__(self, path):
        self.p = subprocess.Popen(AS_BOOTD + [sys.executable, "-c", HOLDER,
                                              path],
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline().strip()
        if line != "locked":
            self.p.kill()
            raise harness.HarnessError("lock holder: %r" % line)

    def release(self):
        if self.p.poll() is None:
            self.p.stdin.close()
            self.p.wait(60)
        self.p.stdout.close()


def write_locked(path):
    """Does another process hold path's write lock right now?"""
    con = sqlite3.connect("file:%s?mode=rw" % path, uri=True, timeout=0,
                          isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as e:
        if "locked" not in str(e):
            raise
        return True
    finally:
        con.close()


def default_entry(body):
    """The menu entry a script boots by default ("install", "local")."""
    m = re.search(r"(?m)^choose --default (\S+)", body)
    return m.group(1) if m else None


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def stopped(pid):
    """pid is stopped (T, t) on 5 reads 50 ms apart."""
    for i in range(5):
        if i > 0:
            time.sleep(0.05)
        if proc_state(pid) not in ("T", "t"):
            return False
    return True


def proc_state(pid):
    """The state letter of /proc/PID/stat (T, t: stopped), "" when gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


@unittest.skipUnless(harness.have_binary("bootd") and
                     harness.have_binary("bootctl"), "bootd not built")
@unittest.skipUnless(shutil.which("nginx"), "needs nginx")
class HeldLock(unittest.TestCase):

    def setUp(self):
        self.srv = harness.BootServer(workers=2)
        self.addCleanup(self.srv.close)
        s = self.srv
        s.add_dist("debian-12")
        for fqdn, mac in [INSTALL, LOCAL] + OTHERS:
            s.bootctl("host", "add", fqdn, mac, "--dist", "debian-12")
        s.bootctl("set-reinstall", INSTALL[0])
        self.token = s.token(INSTALL[0])
        self.assertIsNotNone(self.token)
        s.wait_ready()

    # -- helpers ------------------------------------------------------------

    def done(self, token):
        t0 = time.monotonic()
        st, hdrs, body = self.srv.post("/ipxe/v1/done",
                                       body=("token=" + token).encode())
        return st, hdrs, body, time.monotonic() - t0

    def assert_boots_answered(self, n=BOOTS):
        """
        The read path: every kind of boot gets its own script.  The
        install script once: after answering it the worker records the
        address that fetched it, a write that waits on a held lock.
        """
        st, body = self.srv.config_script(INSTALL[1])
        self.assertEqual(st, 200, body)
        self.assertEqual(default_entry(body), "install", body)
        for i in range(n):
            st, body = self.srv.config_script(LOCAL[1])
            self.assertEqual(st, 200, body)
            self.assertIn("sanboot --no-describe --drive 0x80", body)
            st, body = self.srv.config_script(UNKNOWN)
            self.assertEqual(st, 200, body)

    def metric(self, name, **labels):
        return self.srv.metric(self.srv.metrics(), name, **labels)

    def check_done_refused_then_served(self, locked):
        """done under the held lock: 503, boots answered meanwhile."""
        result = {}
        t = threading.Thread(
            target=lambda: result.update(r=self.done(self.token)))
        t.start()
        # While that done waits on the lock in one worker, the other
        # answers boots (and so does the first, once done gave up).
        self.assert_boots_answered()
        t.join(120)
        st, hdrs, body, waited = result["r"]
        sys.stderr.write("done waited %.2f s on the held lock\n" % waited)
        self.assertTrue(locked(), "the lock went away during the test")
        self.assertEqual(st, 503, body)
        self.assertEqual(body, b"unavailable\n")
        self.assertEqual(hdrs.get("x-bootd-error"), "database busy")
        self.assertEqual(self.metric("bootd_requests_total", route="done",
                                     code="503"), 1)
        # Nothing was lost: the token is as good as before.
        self.assertEqual(self.srv.token(INSTALL[0]), self.token)
        self.assert_boots_answered(2)

    def check_recovered(self):
        st, _, body, _ = self.done(self.token)
        self.assertEqual(st, 200, body)
        st, body = self.srv.config_script(INSTALL[1])
        self.assertEqual(st, 200)
        self.assertEqual(default_entry(body), "local", body)
        self.assertIsNone(self.srv.token(INSTALL[0]))

    # -- tests --------------------------------------------------------------

    def test_inventory_held(self):
        h = Holder(self.srv.db)
        try:
            self.check_done_refused_then_served(
                lambda: write_locked(self.srv.db))
        finally:
            h.release()
        self.assertFalse(eventually(lambda: write_locked(self.srv.db),
                                    lambda x: not x))
        self.check_recovered()

    @unittest.skipUnless(shutil.which("strace"), "needs strace")
    def test_stopped_bootctl(self):
        s = self.srv
        wal = s.db + "-wal"
        self.assertTrue(os.path.exists(wal))
        # SIGSTOP right after bootctl's first write to the WAL: inside its
        # commit, holding the write lock.
        p = subprocess.Popen(
            ["strace", "-o", os.devnull, "-P", wal, "-e", "trace=pwrite64",
             "-e", "inject=pwrite64:signal=SIGSTOP:when=1",
             harness.binary("bootctl"), "-c", s.conf_path, "--db", s.db,
             "set-reinstall"] + [f for f, _ in OTHERS],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=harness.traced_env())
        try:
            kids = eventually(lambda: [k for k in s.child_pids(p.pid)
                                       if comm(k) == "bootctl"])
            self.assertEqual(len(kids), 1, kids)
            bootctl = kids[0]
            # Traced, it shows "t" at each of its system calls too, not
            # only once stopped inside its commit: the lock tells.
            self.assertTrue(eventually(lambda: write_locked(s.db)),
                            p.poll() is not None and p.communicate())
            # The lock is taken at BEGIN, before the commit's first
            # write: wait for the stop itself, seen on several reads in a
            # row (a stop at a traced system call lasts an instant).
            self.assertTrue(eventually(lambda: stopped(bootctl)),
                            proc_state(bootctl))
            self.check_done_refused_then_served(lambda: write_locked(s.db))
            # Its change is not visible while it is stopped.
            self.assertIsNone(s.token(OTHERS[0][0]))
        finally:
            # Until it ends: a SIGCONT sent before strace stopped it
            # would leave it stopped for good.
            for _ in range(240):
                if p.poll() is not None:
                    break
                for k in s.child_pids(p.pid):
                    if comm(k) == "bootctl" and proc_state(k):
                        os.kill(k, signal.SIGCONT)
                time.sleep(0.5)
            out, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 0, err)
        for fqdn, _ in OTHERS:
            self.assertIsNotNone(s.token(fqdn), fqdn)
        self.check_recovered()

    def test_events_held(self):
        s = self.srv
        # The recorder creates the events database with the first batch.
        s.config_script(UNKNOWN)
        eventually(lambda: self.metric("bootd_events_recorded_total"),
                   lambda n: n >= 1)
        dropped = self.metric("bootd_events_dropped_total")
        recorded = self.metric("bootd_events_recorded_total")
        h = Holder(s.events_db)
        try:
            self.assert_boots_answered()
            # Every boot's event waited event_wait_ms, then was dropped.
            got = eventually(
                lambda: self.metric("bootd_events_dropped_total"),
                lambda n: n >= dropped + 1 + 2 * BOOTS)
            self.assertEqual(got, dropped + 1 + 2 * BOOTS)
            self.assertEqual(self.metric("bootd_events_recorded_total"),
                             recorded)
            self.assertIn("boot events dropped: events database busy for "
                          "50 ms", s.bootd_log())
            # done writes the inventory, not the events: unaffected.
            st, _, body, _ = self.done(self.token)
            self.assertEqual(st, 200, body)
        finally:
            h.release()
        s.config_script(LOCAL[1])
        rows = eventually(
            lambda: s.events("SELECT count(*) FROM boot_event WHERE mac = ?",
                             (LOCAL[1],)), lambda r: r == [(1,)])
        self.assertEqual(rows, [(1,)])
        self.assertIn("boot events are written again; %d were dropped "
                      "meanwhile" % (1 + 2 * BOOTS), s.bootd_log())
        self.assertGreater(self.metric("bootd_events_recorded_total"),
                           recorded)


@unittest.skipUnless(harness.have_binary("bootd") and
                     harness.have_binary("bootctl"), "bootd not built")
@unittest.skipUnless(shutil.which("nginx"), "needs nginx")
class HeldLockLegacyImport(unittest.TestCase):
    """The recorder's one write to the inventory waits a bounded time."""

    def test_recorder_import_waits_bounded(self):
        srv = harness.BootServer(
            start=False, config={"daemon": {"event_retention_days": 0}})
        self.addCleanup(srv.close)
        srv.load_v1_fixture()
        srv.bootctl("init")     # the upgrade: boot events set aside

        def legacy():
            con = sqlite3.connect("file:%s?mode=ro" % srv.db, uri=True)
            try:
                return con.execute("SELECT count(*) FROM sqlite_master "
                                   "WHERE name LIKE 'legacy%'").fetchone()[0]
            finally:
                con.close()

        self.assertGreater(legacy(), 0)
        h = Holder(srv.db)
        try:
            # The recorder tries the move as it starts, then with each
            # batch, waiting event_wait_ms on the lock each time.
            srv.start()
            srv.wait_ready()
            for i in range(3):
                st, _ = srv.config_script("52:54:00:00:5e:%02x" % i)
                self.assertEqual(st, 200)
            # The boots are recorded; the move waits for the lock.
            eventually(lambda: srv.events(
                "SELECT count(*) FROM boot_event WHERE mac LIKE "
                "'52:54:00:00:5e:%'"), lambda r: r == [(3,)])
            self.assertEqual(srv.events(
                "SELECT count(*) FROM boot_event WHERE mac LIKE "
                "'52:54:00:00:5e:%'"), [(3,)])
            self.assertGreater(legacy(), 0)
            self.assertEqual(srv.metric(srv.metrics(),
                                        "bootd_events_dropped_total"), 0)
            self.assertIn("recorder: moving boot events out of",
                          srv.bootd_log())
        finally:
            h.release()
        srv.config_script("52:54:00:00:5e:10")
        self.assertEqual(eventually(legacy, lambda n: n == 0), 0)
        self.assertIn("moved 5 boot events", srv.bootd_log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
