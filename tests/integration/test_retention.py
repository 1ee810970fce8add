"""
Boot events are kept for daemon.event_retention_days: a running worker
deletes older ones, and discovered MACs not seen since (after answering, at
most hourly, in bounded batches), and keeps the rest; 0 keeps every event.
Hosts' last boot stays.
"""

import os
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import harness  # noqa: E402
from harness import eventually  # noqa: E402

HOST = ("keep1.example.org", "52:54:00:00:40:01")
DAY = 86400


def events(srv):
    """(time, mac) of every boot event, oldest first (events database)."""
    return srv.events("SELECT time, mac FROM boot_event ORDER BY time")


class Retention(unittest.TestCase):
    def serve(self, days):
        """A server whose events database has events 40 and 10 days old."""
        srv = harness.BootServer(
            start=False, config={"daemon": {"event_retention_days": days}})
        self.addCleanup(srv.close)
        srv.bootctl("host", "add", HOST[0], HOST[1])
        now = int(time.time())
        srv.create_events_db()
        con = sqlite3.connect(srv.events_db)
        with con:
            for age in (40, 39, 10):
                con.execute("INSERT INTO boot_event (time, mac, host, "
                            "served) VALUES (?, ?, ?, 'local')",
                            (now - age * DAY, HOST[1], HOST[0]))
            # bootd keeps the row counts itself (lib/events.c): so
            # must whoever else writes rows.
            con.execute("UPDATE counts SET events = events + 3")
        con.close()
        srv._hand_over()
        srv.start()
        return srv, now

    def test_old_events_deleted(self):
        srv, now = self.serve(30)
        st, _ = srv.config_script(HOST[1])
        self.assertEqual(st, 200)
        rows = eventually(lambda: events(srv),
                          lambda r: len(r) == 2 and r[0][0] > now - 30 * DAY)
        # The 10-day-old event and the boot just served remain.
        self.assertEqual(len(rows), 2, rows)
        self.assertEqual(rows[0][0], now - 10 * DAY)
        self.assertGreaterEqual(rows[1][0], now)
        log = eventually(srv.bootd_log,
                         lambda l: "deleted 2 boot events" in l)
        self.assertIn("deleted 2 boot events and discovered MACs older "
                      "than 30 days", log)
        self.assertEqual(srv.bootctl("status", HOST[0]).returncode, 0)

    def test_zero_keeps_everything(self):
        srv, now = self.serve(0)
        for _ in range(4):
            self.assertEqual(srv.config_script(HOST[1])[0], 200)
        rows = eventually(lambda: events(srv), lambda r: len(r) == 7)
        self.assertEqual(len(rows), 7, rows)
        self.assertEqual(rows[0][0], now - 40 * DAY)
        self.assertNotIn("boot events older", srv.bootd_log())


if __name__ == "__main__":
    unittest.main()
