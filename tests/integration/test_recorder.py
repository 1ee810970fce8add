"""
Boot events leave the request path: workers hand each event to the recorder
process, which writes them in batches.  Through real nginx and bootd: events
of a worker killed right after answering are recorded (they were handed over
before the answer left); a stopped recorder does not stop answers, its queue
fills and what does not fit is counted as dropped, and everything else is
recorded once it runs again; a recorder whose writes wait on a locked
database keeps reading the queue into memory, and counts what it held
when killed; SIGTERM writes what is queued before bootd
exits; a recorder whose master was killed exits; a killed recorder is
replaced and counted, and recording resumes, and the hosts' last seen times
it held are neither lost nor ever shown wrong; records that are not boot
events are refused without harm.  No timing assertions: every effect is
polled for, a bounded number of times.
"""

import ctypes
import http.client
import os
import re
import signal
import sqlite3
import struct
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import harness  # noqa: E402
from harness import eventually, running  # noqa: E402

HOST = ("rec1.example.org", "52:54:00:00:50:01")


def unknown_mac(i):
    return "52:54:01:%02x:%02x:%02x" % (i >> 16 & 255, i >> 8 & 255, i & 255)


def event_count(db, mac=None):
    """Boot events in the events database db (0 while it does not exist,
    or exists without its schema: the recorder is making it)."""
    if not os.path.exists(db):
        return 0
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
    try:
        if con.execute("SELECT count(*) FROM sqlite_master WHERE "
                       "name = 'boot_event'").fetchone()[0] == 0:
            return 0
        if mac is None:
            return con.execute("SELECT count(*) FROM boot_event").fetchone()[0]
        return con.execute("SELECT count(*) FROM boot_event WHERE mac = ?",
                           (mac,)).fetchone()[0]
    finally:
        con.close()


def series(srv, *names):
    m = srv.metrics()
    return {n: srv.metric(m, n) for n in names}


EVENT_METRICS = ("bootd_events_recorded_total", "bootd_events_dropped_total",
                 "bootd_events_queued", "bootd_events_malformed_total",
                 "bootd_recorder_restarts_total",
                 "bootd_worker_restarts_total")


class Booter:
    """Boot requests over one kept-alive HTTP connection to nginx."""

    def __init__(self, srv):
        self.conn = http.client.HTTPConnection("127.0.0.1", srv.http_port,
                                               timeout=60)

    def boot(self, mac):
        self.conn.request("GET", "/ipxe/v1/config?mac=" + mac)
        resp = self.conn.getresponse()
        resp.read()
        return resp.status

    def close(self):
        self.conn.close()


def queue_end_of(pid):
    """
    A copy of the writing end of the recorder queue (a pipe), taken from
    worker pid with pidfd_getfd(2) (needs ptrace rights over it: root, or
    the same user with ptrace allowed); None when that fails.
    """
    fd_dir = "/proc/%d/fd" % pid
    for name in os.listdir(fd_dir):
        try:
            link = os.readlink(os.path.join(fd_dir, name))
        except OSError:
            continue
        if link.startswith("pipe:["):
            libc = ctypes.CDLL(None, use_errno=True)
            pidfd = os.pidfd_open(pid)
            try:
                fd = libc.syscall(438, pidfd, int(name), 0)  # pidfd_getfd
            finally:
                os.close(pidfd)
            return fd if fd >= 0 else None
    return None


# struct wire in fcgi/recorder.c: magic, present, len[5], time.
WIRE = struct.Struct("=IH5Hq")
MAGIC = 0xb007e7e1


def record(mac=b"52:54:00:00:50:77", served=b"unknown", time_=1700000000,
           params=None, present=None, lens=None, magic=MAGIC):
    fields = [mac, None, served, params, None]
    bits = sum(1 << i for i, v in enumerate(fields) if v is not None)
    ls = [len(v) if v is not None else 0 for v in fields]
    body = b"".join(v for v in fields if v is not None)
    return WIRE.pack(magic, bits if present is None else present,
                     *(ls if lens is None else lens), time_) + body


def own_server(test, daemon):
    """A bootd of test's own with these daemon settings, and a Booter for
    it, closed with test: (server, booter, its recorder's pid)."""
    srv = harness.BootServer(workers=2, config={"daemon": daemon})
    test.addCleanup(srv.close)
    booter = Booter(srv)
    test.addCleanup(booter.close)
    return srv, booter, srv.wait_recorder()


def kill_recorder(test, srv, rec):
    """SIGKILL the recorder rec; the events the master counted it held,
    once its replacement runs."""
    os.kill(rec, signal.SIGKILL)
    srv.wait_recorder(exclude=[rec])
    log = eventually(srv.bootd_log, lambda l: "ended holding" in l)
    m = re.search(r"recorder %d ended holding (\d+) boot events; "
                  r"counted as dropped" % rec, log)
    test.assertIsNotNone(m, log)
    return int(m.group(1))


def settled(test, srv, before):
    """Once nothing is queued: the events recorded and dropped since
    before, a series() of EVENT_METRICS."""
    got = eventually(lambda: series(srv, *EVENT_METRICS),
                     lambda m: m["bootd_events_queued"] == 0)
    test.assertEqual(got["bootd_events_queued"], 0)
    return (got["bootd_events_recorded_total"] -
            before["bootd_events_recorded_total"],
            got["bootd_events_dropped_total"] -
            before["bootd_events_dropped_total"])


class Recorder(unittest.TestCase):
    def setUp(self):
        self.srv = harness.BootServer(workers=2, config=getattr(
            self, "config", None))
        self.addCleanup(self.srv.close)
        self.srv.bootctl("host", "add", *HOST)
        self.booter = Booter(self.srv)
        self.addCleanup(self.booter.close)

    def test_event_arrives_whole(self):
        # Every field survives the hand-over: host, what was served, the
        # client's parameters, the time.
        s = self.srv
        st, _ = s.config_script(HOST[1] + "&platform=efi&buildarch=x86_64")
        self.assertEqual(st, 200)
        st, _ = s.config_script("52:54:00:00:50:99&product=Standard%20PC")
        self.assertEqual(st, 200)

        def rows():
            if not os.path.exists(s.events_db):
                return []
            con = sqlite3.connect("file:%s?mode=ro" % s.events_db, uri=True,
                                  timeout=30)
            try:
                return con.execute("SELECT mac, host, served, params, time "
                                   "FROM boot_event ORDER BY id").fetchall()
            finally:
                con.close()
        got = eventually(rows, lambda r: len(r) == 2)
        self.assertEqual([r[:4] for r in got], [
            (HOST[1], HOST[0], "local", "platform=efi buildarch=x86_64"),
            ("52:54:00:00:50:99", None, "unknown", "product=Standard%20PC"),
        ])
        self.assertTrue(all(r[4] > 1700000000 for r in got), got)

    def test_killed_worker_events_are_recorded(self):
        s = self.srv
        rec = s.wait_recorder()
        for i in range(2):
            # The recorder is stopped so the event can only be in the
            # socket when the worker that answered is killed.
            os.kill(rec, signal.SIGSTOP)
            try:
                before = s.wait_workers(2)
                mac = unknown_mac(i)
                self.assertEqual(s.config_script(mac)[0], 200)
                for p in before:
                    os.kill(p, signal.SIGKILL)
            finally:
                os.kill(rec, signal.SIGCONT)
            s.wait_workers(2, exclude=before)
            n = eventually(lambda: event_count(s.events_db, mac), lambda n: n == 1)
            self.assertEqual(n, 1, mac)
        m = series(s, *EVENT_METRICS)
        self.assertEqual(m["bootd_events_dropped_total"], 0)
        self.assertEqual(m["bootd_worker_restarts_total"], 4)
        self.assertEqual(m["bootd_recorder_restarts_total"], 0)

    def test_stopped_recorder_full_queue(self):
        s = self.srv
        rec = s.wait_recorder()
        before = series(s, *EVENT_METRICS)
        rows = event_count(s.events_db)
        answered = 0
        os.kill(rec, signal.SIGSTOP)
        try:
            # Boots keep being answered while the queue fills; stop soon
            # after the first drop.  Bounded by the pipe's size (logged at
            # start) over the smallest record, a MAC and an address.
            size = int(re.search(r"boot event queue: a pipe of (\d+) bytes",
                                 s.bootd_log()).group(1))
            dropped = None
            for i in range(size // 50 + 1000):
                self.assertEqual(self.booter.boot(unknown_mac(i)), 200)
                answered += 1
                if i % 500 == 499:
                    now = series(s, *EVENT_METRICS)
                    dropped = now["bootd_events_dropped_total"] - \
                        before["bootd_events_dropped_total"]
                    if dropped > 0:
                        break
            self.assertGreater(dropped, 0, "queue never filled")
            for i in range(200):        # full: still answered, dropped
                self.assertEqual(self.booter.boot(HOST[1]), 200)
                answered += 1
            now = series(s, *EVENT_METRICS)
            queued = now["bootd_events_queued"]
            dropped = now["bootd_events_dropped_total"] - \
                before["bootd_events_dropped_total"]
            self.assertGreaterEqual(dropped, 200)
            # Everything answered is queued or dropped; nothing recorded.
            self.assertEqual(queued + dropped, answered)
            self.assertEqual(now["bootd_events_recorded_total"],
                             before["bootd_events_recorded_total"])
        finally:
            os.kill(rec, signal.SIGCONT)
        recorded, dropped = settled(self, s, before)
        self.assertEqual(dropped, answered - recorded)
        self.assertEqual(recorded, queued)
        self.assertEqual(event_count(s.events_db) - rows, recorded)
        self.assertEqual(s.recorder_pid(), rec)
        self.assertIn("recorder queue full", s.bootd_log())

    def test_stalled_writer_does_not_stop_the_reading(self):
        """
        While the recorder's writes wait on a locked events database, its
        intake keeps reading the queue into memory: the pipe stays empty
        (everything queued is held), far beyond what one read and a batch
        hold.  A recorder killed then loses what it held, and that is
        counted; every answered boot is recorded or counted as dropped.
        """
        n = 3000
        srv, booter, rec = own_server(self, {"event_batch_max": 16,
                                             "event_wait_ms": 10000})
        self.assertEqual(booter.boot(unknown_mac(0)), 200)
        self.assertEqual(eventually(lambda: event_count(srv.events_db),
                                    lambda c: c == 1), 1)
        before = series(srv, *EVENT_METRICS)
        lock = sqlite3.connect(srv.events_db, isolation_level=None,
                               timeout=30)
        self.addCleanup(lock.close)
        lock.execute("BEGIN IMMEDIATE")
        locked = True
        try:
            for i in range(1, n + 1):
                self.assertEqual(booter.boot(unknown_mac(i)), 200)
            # A read of 64 KiB holds about 1100 of these records, a
            # batch 16: the rest can only be held by the intake.
            m = eventually(
                lambda: series(srv, "bootd_events_queued",
                               "bootd_events_held"),
                lambda m: m["bootd_events_held"] ==
                m["bootd_events_queued"] > 2000)
            self.assertEqual(m["bootd_events_held"],
                             m["bootd_events_queued"])
            self.assertGreater(m["bootd_events_held"], 2000)
            held = kill_recorder(self, srv, rec)
            self.assertGreater(held, 2000)
            lock.execute("ROLLBACK")
            locked = False
        finally:
            if locked:
                lock.execute("ROLLBACK")
        recorded, dropped = settled(self, srv, before)
        self.assertGreaterEqual(dropped, held)
        self.assertEqual(recorded + dropped, n)
        self.assertEqual(event_count(srv.events_db), 1 + recorded)

    def test_killed_recorder_is_restarted(self):
        s = self.srv
        rec = s.wait_recorder()
        before = series(s, *EVENT_METRICS)
        os.kill(rec, signal.SIGKILL)
        new = s.wait_recorder(exclude=[rec])
        self.assertNotEqual(new, rec)
        got = eventually(lambda: series(s, *EVENT_METRICS),
                         lambda m: m["bootd_recorder_restarts_total"] ==
                         before["bootd_recorder_restarts_total"] + 1)
        self.assertEqual(got["bootd_recorder_restarts_total"],
                         before["bootd_recorder_restarts_total"] + 1)
        self.assertEqual(got["bootd_worker_restarts_total"],
                         before["bootd_worker_restarts_total"])
        for i in range(5):
            self.assertEqual(self.booter.boot(HOST[1]), 200)
        n = eventually(lambda: event_count(s.events_db, HOST[1]), lambda n: n == 5)
        self.assertEqual(n, 5)
        self.assertRegex(s.bootd_log(), r"recorder %d killed by signal 9; "
                         r"replacing it" % rec)

    def test_last_seen_kept_across_a_killed_recorder(self):
        # On SQLite the recorder holds hosts' last seen times in memory
        # and writes them some seconds later; bootctl reads the boots past
        # the file's mark meanwhile.  Killed with them held, the recorder
        # loses only its copy: its replacement takes them again from the
        # boot events and, at SIGTERM, writes them to "seen" and moves the
        # mark.  What bootctl shows never changes.
        s = self.srv
        for i in range(3):
            self.assertEqual(self.booter.boot(HOST[1]), 200)
        eventually(lambda: event_count(s.events_db, HOST[1]),
                   lambda n: n == 3)
        shown = (s.host_field(HOST[0], "last-seen"),
                 s.host_field(HOST[0], "last-served"))
        self.assertNotEqual(shown[0], "-")
        self.assertEqual(shown[1], "local")
        rec = s.wait_recorder()
        os.kill(rec, signal.SIGKILL)
        s.wait_recorder(exclude=[rec])
        self.assertEqual((s.host_field(HOST[0], "last-seen"),
                          s.host_field(HOST[0], "last-served")), shown)
        s.stop_bootd()
        newest = s.events("SELECT max(time) FROM boot_event WHERE mac = ?",
                          (HOST[1],))[0][0]
        self.assertEqual(s.events("SELECT host, last_seen, last_served "
                                  "FROM seen WHERE mac = ?", (HOST[1],)),
                         [(HOST[0], newest, "local")])
        if not harness.is_uri(s.events_db):
            self.assertEqual(
                s.events("SELECT seen_upto FROM counts"),
                s.events("SELECT max(id) FROM boot_event"))
        self.assertEqual((s.host_field(HOST[0], "last-seen"),
                          s.host_field(HOST[0], "last-served")), shown)

    def test_reload_replaces_recorder_without_loss(self):
        s = self.srv
        old = s.wait_recorder()
        before = series(s, *EVENT_METRICS)
        rows = event_count(s.events_db)
        n = 0
        for i in range(100):
            self.assertEqual(self.booter.boot(unknown_mac(i)), 200)
            n += 1
        s.write_config(daemon={"event_batch_max": 16})
        s.reload()
        new = s.wait_recorder(exclude=[old])
        for i in range(100, 200):
            self.assertEqual(self.booter.boot(unknown_mac(i)), 200)
            n += 1
        got = eventually(lambda: event_count(s.events_db) - rows,
                         lambda c: c == n)
        self.assertEqual(got, n)
        m = series(s, *EVENT_METRICS)
        self.assertEqual(m["bootd_events_dropped_total"],
                         before["bootd_events_dropped_total"])
        self.assertEqual(m["bootd_recorder_restarts_total"], 0)
        self.assertEqual(s.recorder_pid(), new)
        # The new recorder runs with the new configuration.
        self.assertIn("batches of up to 16 events", s.bootd_log())

    def test_malformed_records_are_refused(self):
        """
        Whoever holds the writing end of the queue (a worker, or here a
        test that took a copy of it) is not trusted: each kind of bad
        record is refused and counted, the well-formed record written
        after it is still found and recorded, and the recorder lives on.
        """
        s = self.srv
        rec = s.wait_recorder()
        fd = queue_end_of(s.wait_workers(2)[0])
        if fd is None:
            self.skipTest("the recorder queue is not reachable from a test "
                          "process here (pidfd_getfd refused)")
        self.addCleanup(os.close, fd)
        before = series(s, *EVENT_METRICS)
        bad = [
            b"x",
            b"\0" * WIRE.size,
            os.urandom(300),
            record(magic=0x12345678),
            record(mac=b"52:54:00:00:50:7"),                 # short MAC
            record(mac=b"52-54-00-00-50-77"),                # not canonical
            record(served=b"shell"),
            record(served=b"local\n"),
            record(params=b"a=\x01"),
            record(time_=0),
            record(time_=-5),
            record(lens=[17, 0, 7, 0, 60000]),               # absent field
            record(lens=[17, 0, 7, 0, 0])[:-3],              # truncated
            record(present=7, lens=[17, 200, 7, 0, 0]),      # claims more
            record(present=0xffff),
            record(params=b"p" * 3300),                      # too long
        ]
        good = []
        for i, d in enumerate(bad):
            mac = "52:54:00:00:51:%02x" % i
            good.append(mac)
            # One write each, as a worker does: the kernel keeps it whole.
            self.assertEqual(os.write(fd, d + record(mac=mac.encode())),
                             len(d) + WIRE.size + 17 + 7)
        got = eventually(lambda: [event_count(s.events_db, m) for m in good],
                         lambda c: c == [1] * len(good))
        self.assertEqual(got, [1] * len(good))
        m = series(s, *EVENT_METRICS)
        self.assertGreaterEqual(m["bootd_events_malformed_total"] -
                                before["bootd_events_malformed_total"],
                                len(bad))
        # The recorder is unharmed and goes on recording.
        self.assertEqual(s.recorder_pid(), rec)
        self.assertEqual(self.booter.boot(HOST[1]), 200)
        n = eventually(lambda: event_count(s.events_db, HOST[1]), lambda n: n == 1)
        self.assertEqual(n, 1)
        m = series(s, *EVENT_METRICS)
        self.assertEqual(m["bootd_recorder_restarts_total"], 0)
        self.assertEqual(m["bootd_events_queued"], 0)
        self.assertIn("recorder: refused a record", s.bootd_log())


class Flush(unittest.TestCase):
    def test_killed_recorder_batch_is_counted_as_dropped(self):
        """
        What a killed recorder held in its batch (due only after 10 s
        here) is lost, and counted; what was still in the pipe is
        written by its replacement: every answered boot is recorded or
        counted as dropped, nothing vanishes.
        """
        n = 40
        srv, booter, rec = own_server(self, {"event_batch_ms": 10000,
                                             "event_batch_max": 4096})
        before = series(srv, *EVENT_METRICS)
        for i in range(n):
            self.assertEqual(booter.boot(unknown_mac(i)), 200)
        # Queued counts the pipe too.  The recorder reads the first and
        # lets the rest wait in the pipe until the batch is due: wait
        # until it holds some (read into its batch), which the kill loses.
        m = eventually(lambda: series(srv, "bootd_events_queued",
                                      "bootd_events_held"),
                       lambda m: m["bootd_events_queued"] == n and
                       m["bootd_events_held"] >= 1)
        self.assertGreaterEqual(m["bootd_events_held"], 1)
        held = kill_recorder(self, srv, rec)
        self.assertGreaterEqual(held, 1)
        recorded, dropped = settled(self, srv, before)
        self.assertEqual(dropped, held)
        self.assertEqual(recorded, n - held)
        self.assertEqual(event_count(srv.events_db), n - held)

    def test_sigterm_writes_what_is_queued(self):
        """
        Batches are due only after 10 s here, so the boots wait: the
        first in the recorder's batch, the others in the socket, the
        later ones while the recorder is stopped (it is continued only
        once the master has told it to stop too).  SIGTERM: after bootd
        exits, the database holds every one.
        """
        n = 300
        srv, booter, rec = own_server(self, {"event_batch_ms": 10000,
                                             "event_batch_max": 4096})
        for i in range(n // 2):
            self.assertEqual(booter.boot(unknown_mac(i)), 200)
        # Handed over, not yet written.
        eventually(lambda: series(srv, "bootd_events_queued"),
                   lambda m: m["bootd_events_queued"] == n // 2)
        os.kill(rec, signal.SIGSTOP)
        for i in range(n // 2, n):
            self.assertEqual(booter.boot(unknown_mac(i)), 200)
        booter.close()
        self.assertLess(event_count(srv.events_db), n)
        srv.bootd.send_signal(signal.SIGTERM)
        log = eventually(srv.bootd_log, lambda l: "the recorder writes" in l)
        self.assertIn("workers stopped; the recorder writes", log)
        os.kill(rec, signal.SIGCONT)
        self.assertEqual(srv.bootd.wait(60), 0)
        srv.exit_codes["bootd"] = 0
        self.assertEqual(event_count(srv.events_db), n)
        self.assertNotIn("were not recorded", srv.bootd_log())

    def test_killed_master_idle_recorder_exits(self):
        """
        The master killed (SIGKILL, the OOM killer) while the recorder
        waits for events: its workers exit, and so must the recorder.
        Its queue is then at end of file, always readable, and its
        ppoll(2) returned at once without delivering the SIGTERM the
        master's death sent: it spun at full CPU for ever.
        """
        n = 20
        srv = harness.BootServer(workers=2)
        self.addCleanup(srv.close)
        booter = Booter(srv)
        self.addCleanup(booter.close)
        rec = srv.wait_recorder()
        children = srv.child_pids()
        self.assertIn(rec, children)
        for i in range(n):
            self.assertEqual(booter.boot(unknown_mac(i)), 200)
        booter.close()
        # Written: the recorder is idle again, waiting on its queue.
        self.assertEqual(eventually(lambda: event_count(srv.events_db),
                                    lambda c: c == n), n)
        srv.bootd.kill()
        srv.bootd.wait(60)
        srv.exit_codes["bootd"] = srv.bootd.returncode
        left = eventually(lambda: [p for p in children if running(p)],
                          lambda left: not left)
        for p in left:
            os.kill(p, signal.SIGKILL)
        self.assertEqual(left, [], srv.bootd_log())
        self.assertEqual(event_count(srv.events_db), n)


if __name__ == "__main__":
    unittest.main()
