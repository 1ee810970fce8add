"""
bootd started on a version-1 inventory that holds boot events
(tests/data/inv-v1.sql): the inventory is upgraded, what it recorded moves
to the events database once, and bootctl still shows the discovered MACs
and hosts' last boots; nothing of it stays in the inventory.
"""

import os
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import harness  # noqa: E402
from harness import eventually  # noqa: E402


class Upgrade(unittest.TestCase):
    def test_v1_events_move_and_stay_visible(self):
        # The fixture's boots are from 2023: keep them past retention.
        srv = harness.BootServer(
            start=False, config={"daemon": {"event_retention_days": 0}})
        self.addCleanup(srv.close)
        srv.load_v1_fixture()
        srv.start()

        # A boot makes a worker open (and create) the events database.
        st, _ = srv.config_script("52:54:00:00:00:55")
        self.assertEqual(st, 200)
        out = eventually(lambda: srv.bootctl("discovered", "list").stdout,
                         lambda o: "52:54:00:00:00:55" in o)
        lines = out.splitlines()
        self.assertEqual(len(lines), 3, out)
        self.assertTrue(lines[1].startswith("52:54:00:00:00:55 "), out)
        self.assertEqual(lines[2].split(),
                         ["52:54:00:00:00:99", "2023-11-14T22:15:00Z",
                          "2023-11-14T22:15:00Z", "1", "platform=efi"])
        self.assertEqual(srv.host_field("web1", "last-seen"),
                         "2023-11-14T22:13:20Z")
        self.assertEqual(srv.host_field("web1", "last-served"), "local")
        self.assertEqual(srv.host_field("db1", "last-seen"), "-")
        self.assertEqual(srv.events("SELECT count(*) FROM boot_event"),
                         [(3,)])
        self.assertIn("moved 5 boot events, discovered MACs and last seen "
                      "times", srv.bootd_log())

        con = sqlite3.connect("file:%s?mode=ro" % srv.db, uri=True)
        try:
            left = con.execute(
                "SELECT name FROM sqlite_master WHERE name LIKE 'legacy%' "
                "OR name IN ('boot_event', 'discovered')").fetchall()
            cols = [r[1] for r in con.execute("PRAGMA table_info(host)")]
        finally:
            con.close()
        self.assertEqual(left, [])
        self.assertNotIn("last_seen", cols)

        # Restarted, bootd moves nothing more.
        srv.restart_bootd()
        srv.config_script("52:54:00:00:00:56")
        eventually(lambda: srv.events("SELECT count(*) FROM boot_event"),
                   lambda r: r == [(4,)])
        self.assertEqual(srv.bootd_log().count("moved 5 boot events"), 1)


if __name__ == "__main__":
    unittest.main()
