"""
What is durable once acknowledged (bootd(8), "Durability"): every
connection that writes the inventory runs synchronous=FULL, the events
database synchronous=NORMAL.

The setting is read back from each real writer by what it does: in WAL
mode, synchronous=FULL makes every commit fsync the WAL before it returns,
NORMAL never does (only a checkpoint syncs, after 1000 pages, and the
close of the last connection, which a running bootd never lets bootctl
be).  So each writer is traced (strace -y, fsync and fdatasync with the
file's path) while it commits:

- bootctl making a change;
- a bootd worker answering an installer's done (its read-write handle);
- the recorder moving an upgraded inventory's legacy boot events (the
  inventory attached to its events connection);
- and, the other way round, the recorder recording boots: no sync of the
  events database's WAL.

Needs strace and root (to trace bootd's processes, which run as nobody).
"""

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import harness  # noqa: E402
from harness import eventually  # noqa: E402

IS_ROOT = os.geteuid() == 0
SYNC_RE = re.compile(r"\b(fsync|fdatasync)\(\d+<([^>]*)>\)")
HOST = ("dur.example.org", "52:54:00:00:61:01")
HOLDER = r"""
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
c.execute("ROLLBACK")
"""


def synced(trace):
    """Paths fsync'ed or fdatasync'ed in strace -y output."""
    return [m.group(2) for m in SYNC_RE.finditer(trace)]


class Tracer:
    """strace -y attached to running pids, recording fsync/fdatasync."""

    def __init__(self, pids):
        self.out = tempfile.NamedTemporaryFile(prefix="bootd-strace-",
                                               delete=False)
        self.out.close()
        args = ["strace", "-y", "-e", "trace=fsync,fdatasync", "-o",
                self.out.name]
        for pid in pids:
            args += ["-p", str(pid)]
        self.p = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
        attached = 0
        while attached < len(pids):
            line = self.p.stderr.readline()
            if not line:
                raise harness.HarnessError("strace exited: %d" %
                                           self.p.wait())
            if "attached" in line:
                attached += 1

    def stop(self):
        """Detach; return the trace."""
        self.p.send_signal(signal.SIGINT)
        self.p.wait(60)
        self.p.stderr.close()
        with open(self.out.name) as f:
            text = f.read()
        os.unlink(self.out.name)
        return text


@unittest.skipUnless(IS_ROOT, "needs root (tracing bootd's processes)")
@unittest.skipUnless(shutil.which("strace") and shutil.which("nginx"),
                     "needs strace and nginx")
@unittest.skipUnless(harness.have_binary("bootd") and
                     harness.have_binary("bootctl"), "bootd not built")
class Durability(unittest.TestCase):

    def setUp(self):
        self.srv = harness.BootServer(workers=2)
        self.addCleanup(self.srv.close)
        self.srv.add_dist("debian-12")
        self.srv.bootctl("host", "add", HOST[0], HOST[1], "--dist",
                         "debian-12")
        self.srv.wait_ready()
        self.wal = self.srv.db + "-wal"

    def test_bootctl_change_is_synced(self):
        out = tempfile.NamedTemporaryFile(prefix="bootd-strace-",
                                          delete=False)
        out.close()
        self.addCleanup(os.unlink, out.name)
        r = subprocess.run(
            ["strace", "-f", "-y", "-e", "trace=fsync,fdatasync", "-o",
             out.name, harness.binary("bootctl"), "-c", self.srv.conf_path,
             "--db", self.srv.db, "set-reinstall", HOST[0]],
            capture_output=True, text=True, env=harness.traced_env())
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out.name) as f:
            trace = f.read()
        self.assertIn(self.wal, synced(trace), trace)

    def test_done_is_synced_before_the_answer(self):
        s = self.srv
        s.bootctl("set-reinstall", HOST[0])
        token = s.token(HOST[0])
        t = Tracer(s.wait_workers(2))
        try:
            st, _, body = s.post("/ipxe/v1/done",
                                 body=("token=" + token).encode())
        finally:
            trace = t.stop()
        self.assertEqual(st, 200, body)
        self.assertIn(self.wal, synced(trace), trace)

    def test_events_are_not_synced(self):
        s = self.srv
        s.config_script(HOST[1])      # the recorder creates its database
        eventually(lambda: s.events("SELECT count(*) FROM boot_event"),
                   lambda r: r == [(1,)])
        t = Tracer([s.wait_recorder()])
        try:
            for i in range(5):
                s.config_script("52:54:00:00:62:%02x" % i)
            eventually(lambda: s.events("SELECT count(*) FROM boot_event"),
                       lambda r: r == [(6,)])
        finally:
            trace = t.stop()
        self.assertEqual(s.events("SELECT count(*) FROM boot_event"), [(6,)])
        self.assertNotIn(s.events_db + "-wal", synced(trace), trace)


@unittest.skipUnless(IS_ROOT, "needs root (tracing bootd's processes)")
@unittest.skipUnless(shutil.which("strace") and shutil.which("nginx"),
                     "needs strace and nginx")
@unittest.skipUnless(harness.have_binary("bootd") and
                     harness.have_binary("bootctl"), "bootd not built")
class DurabilityLegacyMove(unittest.TestCase):

    def test_recorder_move_is_synced(self):
        srv = harness.BootServer(
            start=False, config={"daemon": {"event_retention_days": 0}})
        self.addCleanup(srv.close)
        srv.load_v1_fixture()
        srv.bootctl("init")     # legacy boot events set aside
        # Hold the inventory so that the recorder's move at its start
        # fails (it waits event_wait_ms), then trace its next try.
        holder = subprocess.Popen(
            ["setpriv", "--reuid", "nobody", "--regid", "nogroup",
             "--clear-groups", sys.executable, "-c", HOLDER, srv.db],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(holder.stdout.readline().strip(), "locked")
            srv.start()
            srv.wait_ready()
            eventually(srv.bootd_log,
                       lambda t: "moving boot events out of" in t)
            t = Tracer([srv.wait_recorder()])
        finally:
            holder.stdin.close()
            holder.wait(60)
            holder.stdout.close()
        try:
            srv.config_script("52:54:00:00:63:01")
            eventually(srv.bootd_log, lambda t: "moved 5 boot events" in t)
        finally:
            trace = t.stop()
        self.assertIn("moved 5 boot events", srv.bootd_log())
        self.assertIn(srv.db + "-wal", synced(trace), trace)


if __name__ == "__main__":
    unittest.main(verbosity=2)
