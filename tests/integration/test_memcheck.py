"""
bootd under valgrind memcheck, for a short run through real nginx: the
master, every worker (those recycled after daemon.max_requests, those a
reload replaces) and both recorders end with zero memcheck errors and no
definitely or indirectly lost block (tests/valgrind.supp lists what is
suppressed, and why).

The run: health, an install script, a local one, an unknown MAC, a bad
MAC, a 404, metrics, an installer's done, a reload, the same again, then
SIGTERM.  A bounded number of requests, not a time.  Only in a build
without sanitizers (valgrind and ASan do not mix).
"""

import glob
import os
import re
import shutil
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import harness  # noqa: E402
from harness import eventually  # noqa: E402

SUPP = os.path.join(harness.SOURCE_DIR, "tests", "valgrind.supp")
INSTALL = ("vg-inst.example.org", "52:54:00:00:71:01")
LOCAL = ("vg-local.example.org", "52:54:00:00:71:02")
LOST_RE = re.compile(r"(definitely|indirectly) lost: ([0-9,]+) bytes")


def valgrind(logdir):
    return ["valgrind", "--quiet", "--vgdb=no", "--error-exitcode=99",
            "--leak-check=full", "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect",
            "--suppressions=" + SUPP, "--num-callers=30",
            "--log-file=" + os.path.join(logdir, "vg.%p")]


@unittest.skipIf(os.environ.get("BOOTD_SANITIZE") in ("1", "ON", "on"),
                 "not under a sanitizer build")
@unittest.skipUnless(shutil.which("valgrind") and shutil.which("nginx"),
                     "needs valgrind and nginx")
@unittest.skipUnless(harness.have_binary("bootd") and
                     harness.have_binary("bootctl"), "bootd not built")
class Memcheck(unittest.TestCase):

    def requests(self, srv, token):
        self.assertIn(srv.get("/ipxe/v1/health")[0], (200,))
        st, body = srv.config_script(INSTALL[1])
        self.assertEqual(st, 200, body)
        self.assertIn("choose --default install", body)
        st, body = srv.config_script(LOCAL[1])
        self.assertIn("choose --default local", body)
        self.assertEqual(srv.config_script("52:54:00:00:71:ff")[0], 200)
        self.assertEqual(srv.config_script("nonsense")[0], 400)
        self.assertEqual(srv.get("/ipxe/v1/nothing")[0], 404)
        srv.metrics()
        if token is not None:
            st, _, body = srv.post("/ipxe/v1/done",
                                   body=("token=" + token).encode())
            self.assertEqual(st, 200, body)

    def test_short_run(self):
        srv = harness.BootServer(start=False, workers=2, config={
            "daemon": {"max_requests": 4, "log_level": "info"}})
        self.addCleanup(srv.close)
        logdir = os.path.join(srv.tmp, "valgrind")
        os.mkdir(logdir)
        os.chmod(logdir, 0o777)     # the workers run as bootd's user
        srv.wrapper = valgrind(logdir)
        srv.add_dist("debian-12")
        srv.bootctl("host", "add", INSTALL[0], INSTALL[1], "--dist",
                    "debian-12")
        srv.bootctl("host", "add", LOCAL[0], LOCAL[1])
        srv.bootctl("set-reinstall", INSTALL[0])
        srv.start()
        srv.wait_ready()

        self.requests(srv, None)
        old = srv.wait_workers(2)
        srv.reload()
        srv.wait_workers(2, exclude=old)
        srv.bootctl("set-reinstall", INSTALL[0])
        self.requests(srv, srv.token(INSTALL[0]))
        eventually(lambda: srv.events("SELECT count(*) FROM boot_event"),
                   lambda r: r and r[0][0] >= 8)
        self.assertEqual(srv.stop_bootd(timeout=120), 0, srv.bootd_log())

        logs = sorted(glob.glob(os.path.join(logdir, "vg.*")))
        # The master, 2 + 2 workers at least (more: recycled), 2 recorders.
        self.assertGreaterEqual(len(logs), 7, logs)
        for path in logs:
            with open(path) as f:
                text = f.read()
            self.assertNotIn("Invalid", text, path + ":\n" + text)
            self.assertNotIn("uninitialised", text, path + ":\n" + text)
            for kind, n in LOST_RE.findall(text):
                self.assertEqual(n, "0", path + ":\n" + text)
            # --quiet: a clean process leaves its log empty.
            self.assertEqual(text.strip(), "", path + ":\n" + text)
        self.assertIn("recycling", srv.bootd_log())
        self.assertIn("configuration reloaded", srv.bootd_log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
