"""
The recorder with the events on PostgreSQL, through real nginx and bootd:
a throw-away primary and hot standby (tests/pg.py), bootd configured as
doc/scale-out.md has a site's: "database" the standby then the primary
(prefer-standby), "database_write" both (read-write), the events in
schema "events" of the database written to (made beforehand, as by
bootctl init: bootd never makes or upgrades a shared schema).

  - The primary stops: only the standby answers, read-only.  Boots are
    still answered; their events are held (bootd_events_queued), not
    dropped; past the bound (the recorder's batch and read, then the
    pipe) workers drop and count what they cannot hand over.
  - The standby is promoted: recording resumes without a restart of
    bootd, every held event is written, nothing more is dropped.
  - SIGTERM while no server takes writes: bootd still ends, after the
    recorder's bounded wait, dropping and counting what it held.
  - A primary up but slow, ending the recorder's statement at its
    statement_timeout: the batch is kept and written once it is quick
    again, not dropped.

No timing assertions: every effect is polled for, a bounded number of
times.  Skipped (77) where PostgreSQL 15 or the build's driver is
missing.
"""

import http.client
import os
import sys
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import harness  # noqa: E402
import pg  # noqa: E402
from harness import eventually  # noqa: E402

HOST = ("pg1.example.org", "52:54:00:00:60:01")
# Long client parameters make long records: the pipe fills sooner.
PARAMS = "".join("&%s=%s" % (k, k[0] * 120) for k in
                 ("serial", "asset", "manufacturer", "product"))
BURST_MAX = 60000           # boots sent at most to get past the bound
THREADS = 4


def unknown_mac(i):
    return "52:54:02:%02x:%02x:%02x" % (i >> 16 & 255, i >> 8 & 255, i & 255)


class RecorderPg(unittest.TestCase):
    def setUp(self):
        if not harness.with_postgresql():
            print("skipped: built without BOOTD_WITH_POSTGRESQL")
            sys.exit(pg.SKIP)
        pg.skip_unless_available()
        self.c = pg.Cluster()
        self.addCleanup(self.c.close)
        p = self.c.primary
        # Both schemas, as bootctl init makes them (bootd never makes
        # or upgrades a shared schema), and one host.
        p.apply_schema()
        p.psql("INSERT INTO host (fqdn) VALUES ('%s'); INSERT INTO nic "
               "(mac, host) SELECT '%s', id FROM host WHERE fqdn = '%s';"
               % (HOST[0], HOST[1], HOST[0]))
        self.sb = self.c.add_standby()
        self.c.wait_replayed(self.sb)
        # As doc/scale-out.md configures a site: reads from the standby
        # first; writes, the events among them, where a server takes
        # them (events_database defaults to database_write).
        self.srv = harness.BootServer(workers=2, config={
            "database": self.c.uri(self.sb, p,
                                   target_session_attrs="prefer-standby"),
            "database_write": self.c.uri(self.sb, p,
                                         target_session_attrs="read-write"),
            "daemon": {"event_batch_max": 16, "event_batch_ms": 10}})
        self.addCleanup(self.srv.close)

    def metric(self, name):
        return int(self.srv.metric(self.srv.metrics(), name))

    def rows(self, server):
        """Boot events stored, read on server (0 without the schema)."""
        if server.query("SELECT to_regclass('events.boot_event') IS NULL") \
                == [("t",)]:
            return 0
        return int(server.query("SELECT count(*) FROM events.boot_event")
                   [0][0])

    def boot(self, mac, conn=None):
        path = "/ipxe/v1/config?mac=%s&platform=efi%s" % (mac, PARAMS)
        if conn is None:
            return self.srv.get(path)[0]
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        return r.status

    def recorded_once(self):
        self.assertEqual(self.boot(HOST[1]), 200)
        eventually(lambda: self.rows(self.c.primary), lambda n: n == 1)
        self.assertEqual(self.rows(self.c.primary), 1)

    def primary_down(self):
        """Stop the primary; the URI then finds only the read-only
        standby, and the recorder's next batch cannot be written."""
        self.c.primary.stop()
        self.assertTrue(self.sb.in_recovery())

    def burst(self, start, until_dropped):
        """
        Boots of distinct unknown MACs from THREADS kept connections, in
        rounds, until bootd_events_dropped_total passes until_dropped (at
        most BURST_MAX).  Returns (sent, non-200 answers).
        """
        sent = bad = 0
        lock = threading.Lock()

        def run(first, count):
            nonlocal bad
            c = http.client.HTTPConnection("127.0.0.1", self.srv.http_port,
                                           timeout=60)
            try:
                for i in range(first, first + count):
                    if self.boot(unknown_mac(i), c) != 200:
                        with lock:
                            bad += 1
            finally:
                c.close()

        step = 500
        while sent < BURST_MAX:
            ts = [threading.Thread(target=run, args=(
                start + sent + t * step, step)) for t in range(THREADS)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            sent += THREADS * step
            if self.metric("bootd_events_dropped_total") > until_dropped:
                break
        return sent, bad

    def test_primary_down_then_promoted(self):
        srv = self.srv
        self.recorded_once()
        master = srv.master_pid
        recorder = srv.wait_recorder()
        dropped0 = self.metric("bootd_events_dropped_total")
        self.assertEqual(self.metric("bootd_events_queued"), 0)

        self.primary_down()
        # Boots are answered; their events wait, counted as queued.
        for i in range(5):
            self.assertEqual(self.boot(unknown_mac(i)), 200)
        eventually(lambda: self.metric("bootd_events_queued"),
                   lambda n: n == 5)
        self.assertEqual(self.metric("bootd_events_queued"), 5)
        self.assertEqual(self.metric("bootd_events_dropped_total"),
                         dropped0)
        log = eventually(srv.bootd_log,
                         lambda l: "events database unavailable" in l)
        self.assertIn("holding the boot events queued", log)

        # Past the bound: what does not fit is dropped and counted, the
        # answers go on.
        sent, bad = self.burst(1000, dropped0)
        self.assertEqual(bad, 0)
        dropped = self.metric("bootd_events_dropped_total") - dropped0
        self.assertGreater(dropped, 0, "no drop after %d boots" % sent)
        self.assertIn("recorder queue full", srv.bootd_log())
        queued = self.metric("bootd_events_queued")
        self.assertEqual(queued, 5 + sent - dropped)
        # Nothing was written meanwhile.
        self.assertEqual(self.rows(self.sb), 1)

        # A failover: the standby takes writes, and the recorder, still
        # the same process, writes everything it held.
        self.sb.promote()
        eventually(lambda: self.metric("bootd_events_queued"),
                   lambda n: n == 0, tries=2400)
        self.assertEqual(self.metric("bootd_events_queued"), 0)
        self.assertEqual(self.metric("bootd_events_dropped_total") -
                         dropped0, dropped)
        self.assertEqual(self.rows(self.sb), 1 + 5 + sent - dropped)
        self.assertEqual(srv.master_pid, master)
        self.assertEqual(srv.recorder_pid(), recorder)
        self.assertEqual(self.metric("bootd_recorder_restarts_total"), 0)
        self.assertIn("events database available again", srv.bootd_log())

        # And the next boot is recorded as ever.
        self.assertEqual(self.boot(HOST[1]), 200)
        eventually(lambda: self.rows(self.sb),
                   lambda n: n == 2 + 5 + sent - dropped)
        self.assertEqual(self.rows(self.sb), 2 + 5 + sent - dropped)

    def test_primary_restarted(self):
        # A server that goes away and comes back (a restart, a crash):
        # nothing is lost, the recorder reconnects.
        self.recorded_once()
        dropped0 = self.metric("bootd_events_dropped_total")
        self.c.primary.stop(mode="immediate")
        for i in range(3):
            self.assertEqual(self.boot(unknown_mac(i)), 200)
        eventually(lambda: self.metric("bootd_events_queued"),
                   lambda n: n == 3)
        self.c.primary.start()
        eventually(lambda: self.rows(self.c.primary), lambda n: n == 4)
        self.assertEqual(self.rows(self.c.primary), 4)
        self.assertEqual(self.metric("bootd_events_dropped_total"),
                         dropped0)

    def test_slow_statement_keeps_the_batch(self):
        # A primary that is up but slow: a trigger makes every INSERT of
        # boot events sleep past the recorder's deadline, so the server
        # ends the statement at its statement_timeout (a tenth shorter).
        # The batch is kept and tried again, as when no server takes
        # writes, not dropped; once the primary is quick again it is
        # written.
        srv = self.srv
        p = self.c.primary
        self.recorded_once()
        dropped0 = self.metric("bootd_events_dropped_total")
        p.psql("CREATE FUNCTION events.slow() RETURNS trigger "
               "LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(60); "
               "RETURN NULL; END $$; CREATE TRIGGER slow BEFORE INSERT "
               "ON events.boot_event FOR EACH STATEMENT EXECUTE FUNCTION "
               "events.slow();")
        self.assertEqual(self.boot(unknown_mac(1)), 200)
        log = eventually(srv.bootd_log,
                         lambda l: "statement timeout" in l, tries=2400)
        self.assertIn("statement timeout", log)
        self.assertIn("holding the boot events queued", log)
        self.assertEqual(self.metric("bootd_events_dropped_total"),
                         dropped0)
        p.psql("DROP TRIGGER slow ON events.boot_event; "
               "DROP FUNCTION events.slow();")
        eventually(lambda: self.rows(p), lambda n: n == 2, tries=2400)
        self.assertEqual(self.rows(p), 2)
        self.assertEqual(self.metric("bootd_events_dropped_total"),
                         dropped0)

    def stop_while_down(self):
        """
        Stop the primary, boot 3 unknown MACs and wait until their events
        are queued, then SIGTERM bootd: it ends (the harness waits up to
        60 s), the recorder having given up after its bounded wait and
        counted what it held.  Returns bootd's log.
        """
        self.primary_down()
        for i in range(3):
            self.assertEqual(self.boot(unknown_mac(i)), 200)
        eventually(lambda: self.metric("bootd_events_queued"),
                   lambda n: n == 3)
        self.assertEqual(self.srv.stop_bootd(), 0)
        log = self.srv.bootd_log()
        self.assertIn("still unavailable at stop", log)
        return log

    def test_sigterm_while_down(self):
        self.recorded_once()
        log = self.stop_while_down()
        self.assertIn("boot events dropped", log)
        self.assertEqual(self.rows(self.sb), 1)

    def test_sigterm_before_the_batch_was_tried(self):
        # SIGTERM comes while the recorder still waits for its batch to
        # fill (a long event_batch_ms): it finds the server unavailable
        # only at stop, and gives it the same bounded wait.
        srv = self.srv
        self.assertEqual(srv.stop_bootd(), 0)
        srv.write_config(daemon={"event_batch_ms": 10000})
        srv.start_bootd()
        srv.wait_ready()
        log = self.stop_while_down()
        self.assertIn("holding the boot events queued", log)
        self.assertEqual(self.rows(self.sb), 0)

if __name__ == "__main__":
    unittest.main(verbosity=2)
