"""
Only the web server may speak FastCGI to bootd (fcgi/peer.c, bootd(8)
"LOCAL PEERS"): a connection from another local user is closed unanswered
and counted in bootd_peers_refused_total, while nginx's workers (www-data,
the socket's group) and root are answered.

Real connections from other uids, made through setpriv as nobody:nogroup
or www-data:www-data, straight to bootd's socket with a FastCGI request
(harness.fcgi_get()).  The socket's mode is widened to 0666 where the
refusal itself is tested, so that the file's mode does not refuse first:
the case of a socket whose mode someone widened, or a descriptor that
leaked to another process.  Needs root (setpriv, nginx's user).
"""

import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import harness  # noqa: E402

IS_ROOT = os.geteuid() == 0
HEALTH = "/ipxe/v1/health"
REFUSALS = 20           # connections refused in a row for the log bound


def refused(srv):
    return harness.BootServer.metric(srv.metrics(),
                                     "bootd_peers_refused_total")


@unittest.skipUnless(IS_ROOT, "needs root (setpriv, nginx as www-data)")
@unittest.skipUnless(shutil.which("setpriv") and shutil.which("nginx"),
                     "needs setpriv and nginx")
@unittest.skipUnless(harness.have_binary("bootd") and
                     harness.have_binary("bootctl"), "bootd not built")
class TestPeers(unittest.TestCase):

    def test_default_socket_group(self):
        """Default: the socket's group (www-data) and root; nobody not."""
        with harness.BootServer(
                config={"daemon": {"socket_mode": "0666"}}) as srv:
            srv.wait_ready()
            # nginx's workers, www-data: through nginx as always.
            status, _, body = srv.get(HEALTH)
            self.assertEqual(status, 200, body)
            before = refused(srv)
            self.assertEqual(before, 0)

            r = harness.fcgi_get_as("nobody", "nogroup", srv.socket, HEALTH)
            self.assertTrue(r["connected"], r)
            self.assertEqual(r["answer"], "", "answered a refused peer")
            self.assertEqual(refused(srv), before + 1)

            # The socket's group, without nginx: answered.
            r = harness.fcgi_get_as("www-data", "www-data", srv.socket,
                                    HEALTH)
            self.assertIn("ok schema=", r["stdout"], r)
            # Root (this process): answered.
            r = harness.fcgi_get(srv.socket, HEALTH)
            self.assertIn("ok schema=", r["stdout"], r)
            self.assertEqual(refused(srv), before + 1)

            # A refused peer costs nothing else: bootd keeps answering.
            status, _, _ = srv.get(HEALTH)
            self.assertEqual(status, 200)
            self.assertIn("refused a FastCGI connection from pid",
                          srv.bootd_log())

    def test_refusals_logged_at_bounded_rate(self):
        with harness.BootServer(
                config={"daemon": {"socket_mode": "0666"}}) as srv:
            srv.wait_ready()
            for _ in range(REFUSALS):
                r = harness.fcgi_get_as("nobody", "nogroup", srv.socket,
                                        HEALTH)
                self.assertEqual(r["answer"], "")
            self.assertEqual(refused(srv), REFUSALS)
            lines = [l for l in srv.bootd_log().splitlines()
                     if "refused a FastCGI connection" in l]
            # One line per worker per 10 s, not one per connection.
            self.assertGreaterEqual(len(lines), 1)
            self.assertLess(len(lines), REFUSALS, "\n".join(lines))

    def test_listed_users_and_groups(self):
        """peer_users / peer_groups replace the default (root stays)."""
        with harness.BootServer(config={"daemon": {
                "socket_mode": "0666", "peer_users": ["nobody"],
                "peer_groups": ["www-data"]}}) as srv:
            srv.wait_ready()
            r = harness.fcgi_get_as("nobody", "nogroup", srv.socket, HEALTH)
            self.assertIn("ok schema=", r["stdout"], r)
            status, _, _ = srv.get(HEALTH)          # nginx, group www-data
            self.assertEqual(status, 200)
            self.assertEqual(refused(srv), 0)

            # A reload to a list without www-data: nginx is refused, and
            # its clients get nginx's error, not bootd's answer.
            srv.write_config(daemon={"peer_groups": [],
                                     "peer_users": ["nobody"]})
            srv.reload()
            harness.eventually(lambda: srv.get(HEALTH)[0],
                               lambda s: s != 200)
            status, _, _ = srv.get(HEALTH)
            self.assertNotEqual(status, 200)
            r = harness.fcgi_get(srv.socket, "/ipxe/v1/metrics")
            self.assertIn("bootd_peers_refused_total", r["stdout"])
            self.assertNotIn("bootd_peers_refused_total 0\n", r["stdout"])

            # A reload naming an unknown group is refused as a whole.
            srv.write_config(daemon={"peer_groups": ["no-such-group-x"]})
            srv.reload()
            harness.eventually(
                srv.bootd_log,
                lambda t: "no such group: no-such-group-x" in t)
            self.assertIn("reload failed, keeping the running "
                          "configuration: daemon.peer_groups: no such "
                          "group: no-such-group-x", srv.bootd_log())
            r = harness.fcgi_get_as("nobody", "nogroup", srv.socket, HEALTH)
            self.assertIn("ok schema=", r["stdout"], r)


@unittest.skipUnless(harness.have_binary("bootd"), "bootd not built")
class TestCheck(unittest.TestCase):
    """bootd -t refuses unknown names and lists on a TCP socket."""

    def setUp(self):
        self.srv = harness.BootServer(start=False)

    def tearDown(self):
        self.srv.close(check=False)

    def check(self, **daemon):
        self.srv.write_config(daemon=daemon)
        return subprocess.run([harness.binary("bootd"), "-t", "-c",
                               self.srv.conf_path], capture_output=True,
                              text=True, env=harness.run_env())

    def test_unknown_user(self):
        r = self.check(peer_users=["no-such-user-x"])
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "bootd: daemon.peer_users: no such user: "
                         "no-such-user-x\n")

    def test_unknown_group(self):
        r = self.check(peer_groups=["root", "no-such-group-x"])
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "bootd: daemon.peer_groups: no such "
                         "group: no-such-group-x\n")

    def test_tcp(self):
        r = self.check(listen="127.0.0.1:%d" % harness.free_port(),
                       peer_groups=["root"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("need a unix socket", r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1)

    def test_malformed(self):
        r = self.check(peer_users="www-data")
        self.assertEqual(r.returncode, 1)
        self.assertIn("daemon.peer_users: expected an array", r.stderr)

    def test_known(self):
        r = self.check(peer_users=["root"], peer_groups=["root"])
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
