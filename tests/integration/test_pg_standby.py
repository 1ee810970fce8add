"""
tests/pg.py's primary plus hot standby, on the inventory schema: a row
written on the primary reaches the standby; the standby refuses writes
(SQLSTATE 25006, what bootd will see on a standby); after the primary
stops and the standby is promoted, the standby takes writes and the old
primary's data is all there.  The same steps a failover takes in
production (there patroni or repmgr promotes), which later tests run
bootd through.
"""

import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import pg  # noqa: E402

SOURCE_DIR = os.environ.get("BOOTD_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(HERE))
SCHEMA = os.path.join(SOURCE_DIR, "sql", "postgresql", "003-initial.sql")

ADD = ("INSERT INTO host (fqdn) VALUES ('%s');"
       "INSERT INTO nic (mac, host) SELECT '%s', id FROM host "
       "WHERE fqdn = '%s';")
LOOKUP = ("SELECT h.fqdn FROM nic n JOIN host h ON h.id = n.host "
          "WHERE n.mac = '%s'")


class Standby(unittest.TestCase):
    def setUp(self):
        pg.skip_unless_available()
        self.c = pg.Cluster()
        self.addCleanup(self.c.close)
        with open(SCHEMA) as f:
            self.c.primary.psql("BEGIN;\n" + f.read() + "\nCOMMIT;\n")
        self.sb = self.c.add_standby()

    def add(self, server, fqdn, mac, check=True):
        return server.psql(ADD % (fqdn, mac, fqdn), check=check)

    def test_replicates_refuses_then_promotes(self):
        p, sb = self.c.primary, self.sb
        rep = self.c.replication()
        self.assertEqual([r["state"] for r in rep], ["streaming"])
        self.assertTrue(sb.in_recovery())
        self.assertFalse(p.in_recovery())

        # Written on the primary, read on the standby.
        self.add(p, "web1.example.org", "52:54:00:00:00:01")
        self.c.wait_replayed(sb)
        self.assertEqual(sb.query(LOOKUP % "52:54:00:00:00:01"),
                         [("web1.example.org",)])

        # The standby refuses a write, with the read-only SQLSTATE, and
        # keeps nothing of it.
        r = self.add(sb, "web2.example.org", "52:54:00:00:00:02",
                     check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(pg.error_code(r.stderr), "25006", r.stderr)
        self.assertEqual(sb.query(LOOKUP % "52:54:00:00:00:02"), [])

        # Failover: the primary goes away, the standby is promoted.
        p.stop()
        sb.promote()
        self.assertFalse(sb.in_recovery())
        self.add(sb, "web2.example.org", "52:54:00:00:00:02")
        self.assertEqual(sb.query(LOOKUP % "52:54:00:00:00:02"),
                         [("web2.example.org",)])
        self.assertEqual(sb.query(LOOKUP % "52:54:00:00:00:01"),
                         [("web1.example.org",)])
        # Identity values continue after the promotion: no id is reused.
        self.assertEqual(sb.query("SELECT count(DISTINCT id), count(*) "
                                  "FROM host"), [("2", "2")])

    def test_standby_survives_primary_restart(self):
        # A restarted primary: the standby reconnects and streams again.
        p, sb = self.c.primary, self.sb
        p.restart()
        self.add(p, "web3.example.org", "52:54:00:00:00:03")
        self.c.wait_replayed(sb)
        self.assertEqual(sb.query(LOOKUP % "52:54:00:00:00:03"),
                         [("web3.example.org",)])
        self.assertTrue(sb.in_recovery())

        # The URIs tests hand to bootd name both servers in order.
        uri = self.c.uri(self.sb, self.c.primary,
                         target_session_attrs="prefer-standby")
        self.assertEqual(uri, "postgresql:///bootd?host=%s,%s&port=%d,%d&"
                         "user=bootd&target_session_attrs=prefer-standby" % (
                             self.sb.sock, self.c.primary.sock,
                             self.sb.port, self.c.primary.port))


class Tcp(unittest.TestCase):
    def test_primary_and_standby_on_loopback(self):
        # Cluster(tcp=True): both servers also on 127.0.0.1, own ports.
        pg.skip_unless_available()
        with pg.Cluster(tcp=True) as c:
            sb = c.add_standby()
            self.assertNotEqual(c.primary.port, sb.port)
            for server, recovery in ((c.primary, "f"), (sb, "t")):
                r = subprocess.run(
                    [os.path.join(pg.PG_BIN, "psql"), "-X", "-A", "-t",
                     "-d", server.tcp_uri(), "-c",
                     "SELECT pg_is_in_recovery()"],
                    capture_output=True, text=True)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout.strip(), recovery)


if __name__ == "__main__":
    unittest.main(verbosity=2)
