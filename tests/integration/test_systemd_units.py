"""
systemd units: bootd.service and bootd.socket pass `systemd-analyze verify`
(with ExecStart pointed at the built bootd), keep the hardening and stop
behaviour bootd relies on, and score as well sandboxed with
`systemd-analyze security --offline`.  The drop-in doc/scale-out.md has a
PostgreSQL site add (its database servers' addresses, past the unit's
loopback-only address filter) passes `verify` with the unit, only adds
addresses to the unit's list, and is the one bootd(8) shows.  Whether the
kernel then lets the connections through is not tested: that needs a
running systemd on cgroup v2.  Skipped where systemd-analyze is missing.
"""

import ipaddress
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import harness  # noqa: E402

UNITS = os.path.join(harness.SOURCE_DIR, "systemd")
DOC = os.path.join(harness.SOURCE_DIR, "doc")


def documented_dropin():
    """The drop-in doc/scale-out.md shows: (its path, its text), from the
    indented block whose first line is a comment naming the path."""
    with open(os.path.join(DOC, "scale-out.md")) as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^    # (/etc/systemd/system/bootd\.service\.d/"
                     r"[\w.-]+\.conf)\b", line)
        if m:
            block = []
            for text in lines[i + 1:]:
                if not text.startswith("    "):
                    break
                block.append(text[4:])
            return m.group(1), "\n".join(block) + "\n"
    return None, None


def unit_keys(path):
    keys = {}
    with open(path) as f:
        lines = f.read().splitlines()
    for line in lines:
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")):
            k, _, v = line.partition("=")
            keys.setdefault(k, []).append(v)
    return keys


@unittest.skipUnless(shutil.which("systemd-analyze"), "no systemd-analyze")
class Units(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bootd-units-")
        with open(os.path.join(UNITS, "bootd.service")) as f:
            svc = f.read()
        self.assertIn("/usr/sbin/bootd", svc)
        with open(os.path.join(self.tmp, "bootd.service"), "w") as f:
            f.write(svc.replace("/usr/sbin/bootd", harness.binary("bootd")))
        shutil.copy(os.path.join(UNITS, "bootd.socket"), self.tmp)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def analyze(self, *args):
        return subprocess.run(["systemd-analyze", *args], cwd=self.tmp,
                              capture_output=True, text=True, timeout=120)

    def assert_verifies(self):
        r = self.analyze("verify", "--man=no", "./bootd.socket",
                         "./bootd.service")
        self.assertEqual(r.returncode, 0, r.stderr)
        # verify exits 0 on ignored settings too: no message at all.
        self.assertEqual((r.stdout + r.stderr).strip(), "")

    @unittest.skipUnless(harness.have_binary("bootd"), "bootd not built")
    def test_verify_clean(self):
        self.assert_verifies()

    @unittest.skipUnless(harness.have_binary("bootd"), "bootd not built")
    def test_postgresql_dropin_verifies(self):
        """The documented drop-in, beside the unit as systemd would find
        it in /etc/systemd/system/bootd.service.d/, parses cleanly."""
        path, text = documented_dropin()
        self.assertIsNotNone(path, "doc/scale-out.md shows no drop-in "
                             "opening bootd.service's address filter")
        d = os.path.join(self.tmp, "bootd.service.d")
        os.mkdir(d)
        with open(os.path.join(d, os.path.basename(path)), "w") as f:
            f.write(text)
        self.assert_verifies()

    def test_security_exposure(self):
        r = self.analyze("security", "--offline=true", "--no-pager",
                         "./bootd.service")
        m = re.search(r"Overall exposure level for bootd\.service: "
                      r"(\d+\.\d+)", r.stdout + r.stderr)
        if m is None:
            self.skipTest("systemd-analyze security --offline unsupported")
        self.assertLessEqual(float(m.group(1)), 2.0, r.stdout)

    def test_settings_bootd_relies_on(self):
        svc = unit_keys(os.path.join(UNITS, "bootd.service"))
        sock = unit_keys(os.path.join(UNITS, "bootd.socket"))
        self.assertEqual(sock["ListenStream"], ["/run/bootd/bootd.sock"])
        self.assertEqual(sock["SocketGroup"], ["www-data"])
        self.assertEqual(sock["SocketMode"], ["0660"])
        self.assertEqual(svc["Requires"], ["bootd.socket"])
        self.assertEqual(svc["User"], ["bootd"])
        self.assertEqual(svc["ExecReload"], ["/bin/kill -HUP $MAINPID"])
        self.assertEqual(svc["KillSignal"], ["SIGTERM"])
        # SIGTERM to the master only: it drains its workers itself.
        self.assertEqual(svc["KillMode"], ["mixed"])
        # Longer than bootd.json's default drain_timeout (10 s).
        self.assertGreater(int(svc["TimeoutStopSec"][0]), 10)
        # A broken inventory must not keep bootd from starting (it serves
        # local boot then), so no `bootd -t` before it.
        self.assertNotIn("ExecStartPre", svc)
        # Only the database's directory is bootd's (bootd(8)): systemd
        # makes /var/lib/bootd root's and /var/lib/bootd/db bootd's, 0770;
        # /run/bootd is the socket unit's, root's.
        self.assertEqual(svc["StateDirectory"], ["bootd/db"])
        self.assertEqual(svc["StateDirectoryMode"], ["0770"])
        self.assertNotIn("RuntimeDirectory", svc)
        self.assertEqual(sock["DirectoryMode"], ["0755"])
        for k, v in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                     ("ProtectHome", "yes"), ("PrivateTmp", "yes"),
                     ("PrivateDevices", "yes"),
                     ("ConfigurationDirectory", "bootd"),
                     ("SystemCallFilter", "@system-service")):
            self.assertIn(v, svc[k], k)
        # Workers must not preempt nginx when a connection wakes them;
        # the system call filter keeps bootd from setting it itself.
        self.assertEqual(svc["CPUSchedulingPolicy"], ["batch"])
        # Workers lower their own priority below the recorder's: the
        # filter lets setpriority(2) through, after @resources.
        self.assertEqual(svc["SystemCallFilter"][-1], "setpriority")
        self.assertIn("~@privileged @resources", svc["SystemCallFilter"])
        self.assertEqual(svc["RestrictAddressFamilies"],
                         ["AF_UNIX AF_INET AF_INET6"])

    def test_postgresql_dropin_adds_addresses(self):
        """The unit allows the loopback only; the documented drop-in adds
        addresses (no empty assignment, which would clear localhost; no
        names, which systemd ignores) and is what bootd(8) shows."""
        svc = unit_keys(os.path.join(UNITS, "bootd.service"))
        self.assertEqual(svc["IPAddressDeny"], ["any"])
        self.assertEqual(svc["IPAddressAllow"], ["localhost"])
        path, text = documented_dropin()
        self.assertIsNotNone(path, "doc/scale-out.md shows no drop-in")
        keys = {}
        for line in text.splitlines():
            if line.strip() and not line.startswith(("#", "[")):
                k, _, v = line.partition("=")
                keys.setdefault(k, []).append(v)
        self.assertEqual(sorted(keys), ["IPAddressAllow"], text)
        for value in keys["IPAddressAllow"]:
            self.assertTrue(value.split(), "an empty IPAddressAllow= "
                            "clears the unit's localhost")
            for addr in value.split():
                ipaddress.ip_network(addr)  # raises on a name
        with open(os.path.join(DOC, "bootd.8")) as f:
            man = f.read()
        shown = re.findall(r"^IPAddressAllow=.*$", man, re.M)
        self.assertEqual(shown, ["IPAddressAllow=" + v
                                 for v in keys["IPAddressAllow"]],
                         "bootd(8) and doc/scale-out.md show other drop-ins")


if __name__ == "__main__":
    unittest.main()
