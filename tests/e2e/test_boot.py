"""test_boot.py - boot real iPXE in QEMU against real nginx + bootd

Debian's iPXE ROMs (SeaBIOS + pxe-e1000.rom, OVMF + efi-e1000.rom) boot
from QEMU's isolated user network: QEMU's DHCP names
http://10.0.2.100/images/boot.ipxe, and 10.0.2.100:80 is forwarded to the
test's nginx on 127.0.0.1.  boot.ipxe is the script tools/build-ipxe
embeds (tools/build-ipxe --print-script), so its DHCP/retry/fallback logic
is what runs here.  bootd's menu.base_url is http://10.0.2.100, so the
guest fetches kernels and initrds through the same forward.

Every case is checked three ways: the serial console, nginx's access log
and bootd's own record (bootctl status / discovered list).

  install (BIOS, UEFI)  a host marked for reinstall boots the kernel and a
                        busybox initramfs that prints its command line (the
                        rendered template) and powers off; the test reports
                        done?token=..., and the next boot goes to local boot
  unknown MAC           local boot, and the MAC is in the discovered list
  bootd stopped         nginx answers with bootd's fail-safe script
                        (upstream 502 in the access log): SAN boot on BIOS,
                        exit on UEFI; with nginx stopped too,
                        boot.ipxe retries a bounded number of times, then
                        boots locally
  no DHCP answer        boot.ipxe (as Debian's ipxe.lkrn's initrd, on a
                        machine without a NIC) retries DHCP five times,
                        offers the shell for 10 s (Ctrl-B) and then boots
                        locally; Ctrl-B gives the shell, leaving it boots
                        locally
  memtest (BIOS, UEFI)  picked from the menu with keys sent through QEMU's
                        monitor; memtest86+ prints its banner on serial
  shell                 menu.unknown = "shell": an unknown MAC lands at the
                        iPXE> prompt

Skipped, with the reason printed, when QEMU, the ROMs, OVMF, busybox-static,
a kernel or memtest86+ is missing, or in the sanitizer build
(BOOTD_SANITIZE=1; the daemon is the same code as in the normal build).

With BOOTD_IPXE_SRC=/path/to/ipxe, tools/build-ipxe also builds ipxe.lkrn
and ipxe.efi from that checkout with the test CA (HTTPS), and both are
booted against nginx's TLS port.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, TESTS)

import harness  # noqa: E402
from harness import BootServer  # noqa: E402
from initramfs import MARKER, build_initramfs, busybox_missing  # noqa: E402
from vm import GUEST_SERVER, VM, kvm_usable, qemu_missing  # noqa: E402

SOURCE_DIR = harness.SOURCE_DIR
BUILD_IPXE = os.path.join(SOURCE_DIR, "tools", "build-ipxe")
GUEST_BASE = "http://%s" % GUEST_SERVER
BOOTFILE = GUEST_BASE + "/images/boot.ipxe"
IPXE_LKRN = "/usr/lib/ipxe/ipxe.lkrn"	# Debian's, for NoDhcp

# Bounds (seconds) for one VM step under TCG on a busy 2-core machine;
# a typical run needs a fraction of each.
BOUND_BOOT = 240	# QEMU start to the initramfs powering off
BOUND_STEP = 150	# QEMU start to a local-boot / prompt / menu marker
BOUND_KEYS = 120	# key press to memtest86+'s banner

DIST = "e2e-linux"
CMDLINE = ("console=ttyS0 quiet panic=-1 bootd.fqdn={{fqdn}} "
           "bootd.role={{attr.role}} bootd.token={{token}}")

# What the firmware prints once iPXE has given up the machine.
LOCAL_BIOS = r"No bootable device|Boot failed: could not read the boot disk"
LOCAL_UEFI = r"BdsDxe: failed to load Boot0|>>Start PXE over IPv4"
LOCAL_ANY = LOCAL_BIOS + "|" + LOCAL_UEFI

TIMINGS = []		# (case, seconds), printed at the end


def kernel_image():
    found = sorted(glob.glob("/boot/vmlinuz-*"))
    return found[-1] if found else None


def requirements():
    """None when everything the boots need is here, else the reason."""
    if os.environ.get("BOOTD_SANITIZE") == "1":
        return ("sanitizer build: the QEMU boots run once, in the normal "
                "build (tools/test runs both)")
    for fw in ("bios", "uefi"):
        r = qemu_missing(fw)
        if r:
            return r
    r = busybox_missing()
    if r:
        return r
    k = kernel_image()
    if k is None:
        return "no /boot/vmlinuz-* (Debian package linux-image-amd64)"
    if not os.access(k, os.R_OK):
        return "%s is not readable" % k
    for f in ("/boot/memtest86+x64.bin", "/boot/memtest86+x64.efi"):
        if not os.path.isfile(f):
            return "%s not found (Debian package memtest86+)" % f
    if not (harness.have_binary("bootd") and harness.have_binary("bootctl")):
        return "bootd/bootctl not built in %s" % harness.BINARY_DIR
    if shutil.which("nginx") is None:
        return "nginx not found"
    return None


SKIP = requirements()
_assets = None


def assets():
    """Kernel, initramfs, memtest86+ and boot.ipxe, made once per run."""
    global _assets
    if _assets is None:
        d = tempfile.mkdtemp(prefix="bootd-e2e-assets-")
        shutil.copy(kernel_image(), os.path.join(d, "vmlinuz"))
        build_initramfs(os.path.join(d, "initrd.img"))
        for f in ("memtest86+x64.bin", "memtest86+x64.efi"):
            shutil.copy(os.path.join("/boot", f), os.path.join(d, f))
        r = subprocess.run([BUILD_IPXE, "--url", GUEST_BASE,
                            "--print-script"], capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("build-ipxe --print-script: " + r.stderr)
        with open(os.path.join(d, "boot.ipxe"), "w") as f:
            f.write(r.stdout)
        _assets = d
    return _assets


def tearDownModule():
    if _assets:
        shutil.rmtree(_assets, ignore_errors=True)
    if TIMINGS:
        sys.stderr.write("\ne2e timings (%s):\n" % (
            "kvm" if kvm_usable() else "tcg"))
        for name, secs in TIMINGS:
            sys.stderr.write("  %-34s %6.1f s\n" % (name, secs))
        sys.stderr.write("  %-34s %6.1f s\n" % (
            "total (VM cases)", sum(s for _, s in TIMINGS)))


class E2E(unittest.TestCase):
    """A BootServer whose images/ holds the assets; helpers for boots."""

    server_config = {}
    marks = 0           # boot()'s marked requests so far

    @classmethod
    def setUpClass(cls):
        if SKIP:
            raise unittest.SkipTest(SKIP)
        config = harness.deep_merge({"menu": {
            "base_url": GUEST_BASE, "timeout": 2}}, cls.server_config)
        cls.srv = BootServer(config=config)
        cls.work = tempfile.mkdtemp(prefix="bootd-e2e-")
        try:
            cls.install_assets(cls.srv)
            cls.srv.bootctl("dist", "add", DIST,
                            "--kernel", "{{base_url}}/images/vmlinuz",
                            "--initrd", "{{base_url}}/images/initrd.img",
                            "--cmdline", CMDLINE)
        except BaseException:
            cls.srv.close(check=False)
            shutil.rmtree(cls.work, ignore_errors=True)
            raise

    @staticmethod
    def install_assets(srv):
        src = assets()
        for name in os.listdir(src):
            dst = os.path.join(srv.images, name)
            shutil.copy(os.path.join(src, name), dst)
            os.chmod(dst, 0o644)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.srv.close()
        finally:
            if os.environ.get("BOOTD_KEEP_TMP") != "1":
                shutil.rmtree(cls.work, ignore_errors=True)

    def setUp(self):
        self.t0 = time.monotonic()

    def tearDown(self):
        TIMINGS.append((self.id().split(".", 1)[1],
                        time.monotonic() - self.t0))

    # -- helpers ------------------------------------------------------------

    def vm(self, firmware, mac, name, **kw):
        v = VM(firmware, mac, self.srv.http_port, self.work, BOOTFILE,
               name=name, **kw)
        self.addCleanup(v.kill)
        return v

    def boot(self, v):
        """Start v; return a function giving the access-log lines written
        since (this VM's requests)."""
        # nginx logs a request after answering it: a request of the test's
        # own may still be on its way into the log.  A marked request of
        # ours, seen in the log, comes after all of them.
        E2E.marks += 1
        tag = "e2e-mark-%d" % E2E.marks
        self.srv.get("/ipxe/v1/health?mac=" + tag)
        harness.eventually(lambda: 'mac="%s"' % tag in self.srv.access_log())
        mark = len(self.srv.access_log())
        v.start()

        def lines():
            return self.srv.access_log()[mark:].splitlines()
        return lines

    @staticmethod
    def requests(lines):
        """[(uri, status, mac)] from access-log lines."""
        out = []
        rx = re.compile(r'"(GET|POST|HEAD) (\S+)" (\d{3}) \d+ mac="([^"]*)"')
        for l in lines:
            m = rx.search(l)
            if m:
                out.append((m.group(2), int(m.group(3)), m.group(4)))
        return out

    def host_field(self, host, field):
        out = self.srv.bootctl("host", "show", host).stdout
        m = re.search(r"(?m)^%s:\s*(.*)$" % re.escape(field), out)
        self.assertIsNotNone(m, out)
        return m.group(1).strip()

    def status_row(self, host):
        out = self.srv.bootctl("status", host).stdout
        rows = [l.split() for l in out.splitlines()[1:] if l.strip()]
        self.assertEqual(len(rows), 1, out)
        return rows[0], out

    def assert_local_boot(self, v, firmware, log, what):
        """After the config request: the firmware's next device, and no
        kernel, initrd or memtest fetched."""
        v.wait_for(LOCAL_BIOS if firmware == "bios" else LOCAL_UEFI,
                   BOUND_STEP, fail=MARKER + "|Memtest86")
        serial = v.serial()
        if firmware == "bios":
            self.assertIn("Booting from SAN device 0x80", serial, what)
        self.assertNotIn(MARKER, serial, what)
        reqs = self.requests(log())
        config = [r for r in reqs if r[0] == "/ipxe/v1/config"]
        self.assertTrue(config, (what, reqs))
        images = [r[0] for r in reqs if r[0].startswith("/images/")]
        self.assertEqual(set(images), {"/images/boot.ipxe"}, (what, reqs))
        return reqs


class Install(E2E):
    """A host marked for reinstall installs once, then boots locally; an
    unknown MAC boots locally and is recorded."""

    server_config = {"daemon": {"done_requires_fetch_address": True}}

    def install_then_local(self, firmware, mac, fqdn):
        srv = self.srv
        srv.bootctl("host", "add", fqdn, mac, "--dist", DIST)
        srv.bootctl("attr", "set", fqdn, "role", "web-" + firmware)
        srv.bootctl("set-reinstall", fqdn)
        token = self.host_field(fqdn, "token")
        self.assertRegex(token, r"^[0-9a-f]{32}$")

        # First boot: the installer (kernel + initramfs).
        v = self.vm(firmware, mac, "install-" + firmware)
        log = self.boot(v)
        m = v.wait_for(MARKER + r" cmdline: ([^\n]*)", BOUND_BOOT,
                       fail=LOCAL_ANY)
        cmdline = m.group(1)
        self.assertIn("bootd.fqdn=" + fqdn, cmdline)
        self.assertIn("bootd.role=web-" + firmware, cmdline)
        self.assertIn("bootd.token=" + token, cmdline)
        self.assertIn("console=ttyS0", cmdline)
        self.assertIn("initrd=initrd0.img", cmdline)
        v.wait_for(MARKER + " poweroff", BOUND_STEP)
        v.wait_exit(BOUND_STEP)
        serial = v.serial()
        self.assertIn("%s (%s)" % (fqdn, mac), serial)
        self.assertIn("Install %s (reinstall requested)" % DIST, serial)

        reqs = self.requests(log())
        uris = [r[0] for r in reqs]
        self.assertEqual(uris[0], "/images/boot.ipxe", reqs)
        self.assertEqual(uris[1], "/ipxe/v1/config", reqs)
        self.assertIn(mac, reqs[1][2].replace("%3A", ":").lower())
        for want in ("/images/vmlinuz", "/images/initrd.img"):
            self.assertIn(want, uris)
        self.assertTrue(all(r[1] == 200 for r in reqs), reqs)
        self.assertNotIn(token, "".join(log()),
                         "the token leaked into nginx's access log")
        row, out = self.status_row(fqdn)
        self.assertEqual(row[1], "install", out)
        self.assertEqual(row[-1], "install", out)	# last served

        # The installer reports completion (the initramfs has no network
        # driver, so the test does it, through nginx), with done bound to
        # the address that fetched the script.  QEMU's user network
        # reaches nginx through guestfwd's `nc 127.0.0.1`, so iPXE's
        # fetch comes from 127.0.0.1 like the test's done: this proves the
        # path with the binding on, not that a real installer keeps the
        # address iPXE had (bootd.json(5) says when it does not).
        status, _, body = srv.get("/ipxe/v1/done?token=" + token)
        self.assertEqual(status, 200, body)
        audit = srv.bootctl("audit", fqdn).stdout
        self.assertIn("install-fetch", audit)
        self.assertIn("done_from=127.0.0.1 fetched_from=127.0.0.1", audit)
        status, _, body = srv.get("/ipxe/v1/done?token=" + token)
        self.assertNotEqual(status, 200, "a token is single-use")
        row, out = self.status_row(fqdn)
        self.assertEqual(row[1], "local", out)

        # Second boot of the same machine: local boot.
        v2 = self.vm(firmware, mac, "local-" + firmware)
        log2 = self.boot(v2)
        self.assert_local_boot(v2, firmware, log2, "after done")
        v2.kill()
        self.assertIn("%s (%s)" % (fqdn, mac), v2.serial())
        self.assertNotIn("reinstall requested", v2.serial())
        row, out = self.status_row(fqdn)
        self.assertEqual(row[-1], "local", out)

    def test_install_bios(self):
        self.install_then_local("bios", "52:54:00:e2:00:01",
                                "bios1.e2e.example.org")

    def test_install_uefi(self):
        self.install_then_local("uefi", "52:54:00:e2:00:02",
                                "uefi1.e2e.example.org")

    def test_unknown_mac(self):
        mac = "52:54:00:e2:00:99"
        v = self.vm("bios", mac, "unknown-bios")
        log = self.boot(v)
        self.assert_local_boot(v, "bios", log, "unknown MAC")
        v.kill()
        self.assertIn("unknown host (%s)" % mac, v.serial())
        out = self.srv.bootctl("discovered", "list").stdout
        self.assertRegex(out, r"(?mi)^%s\s" % re.escape(mac))


class ServerDown(E2E):
    """bootd stopped: nginx answers with bootd's fail-safe script (the
    upstream status, 502, is in the access log), BIOS and UEFI.  nginx
    gone as well: boot.ipxe retries a bounded number of times, then boots
    locally."""

    def bootd_stopped(self, firmware, mac):
        self.srv.stop_bootd()
        v = self.vm(firmware, mac, "bootd-down-" + firmware)
        log = self.boot(v)
        v.wait_for("bootd: boot server unavailable", BOUND_STEP)
        self.assert_local_boot(v, firmware, log, "bootd stopped")
        config = [l for l in log() if '"GET /ipxe/v1/config"' in l]
        self.assertEqual(len(config), 1, log())
        self.assertRegex(config[0], r'" 200 .* us=502 ')
        self.assertNotIn("bootd: the boot server gave no script", v.serial())
        return v

    def test_a_bootd_stopped(self):
        self.bootd_stopped("bios", "52:54:00:e2:00:03")

    def test_a_bootd_stopped_uefi(self):
        # exit to the firmware's next boot option, as bootd's own local
        # boot does on UEFI: no SAN boot of drive 0x80.
        v = self.bootd_stopped("uefi", "52:54:00:e2:00:05")
        self.assertNotIn("SAN device", v.serial())

    def test_b_nothing_listening(self):
        # boot.ipxe comes from QEMU's TFTP server here, as if embedded.
        self.srv.stop()
        v = VM("bios", "52:54:00:e2:00:04", self.srv.http_port, self.work,
               "boot.ipxe", name="server-down-bios", tftp=assets())
        self.addCleanup(v.kill)
        v.start()
        v.wait_for("bootd: boot server unreachable, booting from the local "
                   "disk", BOUND_BOOT, fail=LOCAL_ANY)
        v.wait_for(LOCAL_BIOS, BOUND_STEP)
        serial = v.serial()
        self.assertEqual(serial.count(
            "bootd: the boot server gave no script, retrying"), 2, serial)
        self.assertIn("Booting from SAN device 0x80", serial)
        self.assertNotIn(MARKER, serial)


class NoDhcp(E2E):
    """No DHCP answer (a machine without a network card here: iPXE's dhcp
    fails at once): boot.ipxe, given to Debian's ipxe.lkrn as its initrd,
    tries five times, offers the shell for 10 s and, with nobody at the
    console, boots the local disk; Ctrl-B in time gives the shell, and
    leaving it boots the local disk."""

    def vm_without_nic(self, name):
        if not os.path.isfile(IPXE_LKRN):
            self.skipTest("%s not found (Debian package ipxe)" % IPXE_LKRN)
        v = VM("bios", "52:54:00:e2:00:30", self.srv.http_port, self.work,
               None, name=name, kernel=IPXE_LKRN, nic=False,
               initrd=os.path.join(assets(), "boot.ipxe"))
        self.addCleanup(v.kill)
        v.start()
        v.wait_for("bootd: no DHCP answer on any interface", BOUND_STEP,
                   fail=LOCAL_ANY)
        v.wait_for(r"Press Ctrl-B within 10 s for the iPXE shell",
                   BOUND_STEP, fail=LOCAL_ANY + "|iPXE>")
        return v

    def test_unattended_boots_the_disk(self):
        v = self.vm_without_nic("no-dhcp-bios")
        v.wait_for(LOCAL_BIOS, BOUND_STEP, fail="iPXE>")
        serial = v.serial()
        self.assertEqual(serial.count("bootd: no DHCP answer, retrying"), 4,
                         serial)
        self.assertIn("bootd: booting from the local disk", serial)
        self.assertIn("Booting from SAN device 0x80", serial)

    def test_ctrl_b_gives_the_shell(self):
        v = self.vm_without_nic("no-dhcp-shell-bios")
        v.sendkeys(["ctrl-b"])
        v.wait_for(r"iPXE>", BOUND_KEYS, fail=LOCAL_ANY)
        v.sendkeys(list("exit") + ["ret"])
        v.wait_for(LOCAL_BIOS, BOUND_STEP)
        self.assertIn("bootd: booting from the local disk", v.serial())


class Menu(E2E):
    """The other menu entries: memtest86+ by keyboard, the shell as the
    default for unknown MACs (menu.unknown = "shell")."""

    server_config = {"menu": {"unknown": "shell"}}

    def memtest(self, firmware, mac):
        fqdn = "mem-%s.e2e.example.org" % firmware
        self.srv.bootctl("host", "add", fqdn, mac)
        # A long menu timeout for this host only, so the keys come first.
        self.srv.bootctl("attr", "set", fqdn, "bootd.menu_timeout", "120")
        status, script = self.srv.config_script(mac.replace(":", ""))
        self.assertEqual(status, 200, script)
        items = re.findall(r"(?m)^item (?!--gap)(\S+)", script)
        default = re.search(r"(?m)^choose --default (\S+)", script).group(1)
        self.assertIn("memtest", items, script)
        downs = items.index("memtest") - items.index(default)
        self.assertGreater(downs, 0, script)

        v = self.vm(firmware, mac, "memtest-" + firmware,
                    graphics=(firmware == "uefi"))
        log = self.boot(v)
        v.wait_for(re.escape("Memory test (memtest86+)"), BOUND_STEP,
                   fail=LOCAL_ANY)
        v.sendkeys(["down"] * downs + ["ret"])
        v.wait_for(r"Memtest86\+ v?[0-9]", BOUND_KEYS, fail=LOCAL_ANY)
        v.kill()
        want = ("/images/memtest86+x64.bin" if firmware == "bios"
                else "/images/memtest86+x64.efi")
        uris = [r[0] for r in self.requests(log())]
        self.assertIn(want, uris)
        self.assertNotIn("/images/vmlinuz", uris)

    def test_memtest_bios(self):
        self.memtest("bios", "52:54:00:e2:00:11")

    def test_memtest_uefi(self):
        self.memtest("uefi", "52:54:00:e2:00:12")

    def test_shell_for_unknown(self):
        mac = "52:54:00:e2:00:13"
        status, script = self.srv.config_script(mac.replace(":", ""))
        self.assertRegex(script, r"(?m)^choose --default shell ")
        v = self.vm("bios", mac, "shell-bios")
        log = self.boot(v)
        v.wait_for(r"iPXE>", BOUND_STEP, fail=LOCAL_ANY)
        # The prompt takes commands.
        v.sendkeys(list("echo") + ["spc"] + list("ok") + ["ret"])
        v.wait_for(r"iPXE> echo ok\s+ok", BOUND_KEYS)
        v.kill()
        uris = [r[0] for r in self.requests(log())]
        self.assertEqual(uris, ["/images/boot.ipxe", "/ipxe/v1/config"])


@unittest.skipUnless(os.environ.get("BOOTD_IPXE_SRC"),
                     "BOOTD_IPXE_SRC (an iPXE checkout) not set: no build "
                     "of our own iPXE")
class OwnIpxe(E2E):
    """iPXE built by tools/build-ipxe (embedded script, our CA) boots over
    HTTPS: ipxe.lkrn on BIOS, ipxe.efi on UEFI."""

    @classmethod
    def setUpClass(cls):
        if SKIP:
            raise unittest.SkipTest(SKIP)
        cls.srv = BootServer(config={"menu": {
            "base_url": GUEST_BASE, "timeout": 2}}, start=False)
        cls.work = tempfile.mkdtemp(prefix="bootd-e2e-")
        try:
            # A server certificate for the address the guest uses.
            certdir = os.path.join(cls.work, "certs")
            os.makedirs(certdir)
            certs = harness.make_certs(certdir, ip=GUEST_SERVER)
            for k in ("ca", "chain", "key"):
                shutil.copy(certs[k], cls.srv.certs[k])
            os.chmod(cls.srv.certs["key"], 0o644)
            cls.srv.start()
            cls.install_assets(cls.srv)
            out = os.path.join(cls.work, "ipxe-out")
            t0 = time.monotonic()
            r = subprocess.run(
                ["nice", "-n", "19", BUILD_IPXE,
                 "--src", os.environ["BOOTD_IPXE_SRC"],
                 "--url", "https://" + GUEST_SERVER,
                 "--trust", certs["ca"], "--out", out,
                 "-j", os.environ.get("BOOTD_IPXE_JOBS", "1")],
                capture_output=True, text=True, timeout=3600)
            TIMINGS.append(("OwnIpxe build-ipxe", time.monotonic() - t0))
            if r.returncode != 0:
                raise RuntimeError("build-ipxe failed:\n%s%s" % (
                    r.stdout[-3000:], r.stderr))
            cls.images = out
        except BaseException:
            cls.srv.close(check=False)
            shutil.rmtree(cls.work, ignore_errors=True)
            raise

    def own_boot(self, firmware, image, mac):
        v = VM(firmware, mac, self.srv.http_port, self.work, None,
               name="own-" + firmware, kernel=os.path.join(self.images,
                                                           image),
               extra_forwards=[(443, self.srv.https_port)])
        self.addCleanup(v.kill)
        log = self.boot(v)
        v.wait_for(r"https://%s/ipxe/v1/config\.*\s*ok" % re.escape(
            GUEST_SERVER), BOUND_STEP)
        self.assert_local_boot(v, firmware, log, "own iPXE")
        v.kill()
        lines = [l for l in log() if "/ipxe/v1/config" in l]
        self.assertTrue(lines)
        self.assertIn("tls=TLSv1.2", lines[0])
        self.assertIn("unknown host (%s)" % mac, v.serial())

    def assert_local_boot(self, v, firmware, log, what):
        v.wait_for(LOCAL_BIOS if firmware == "bios" else LOCAL_UEFI,
                   BOUND_STEP)
        uris = [r[0] for r in self.requests(log())]
        self.assertIn("/ipxe/v1/config", uris)
        self.assertFalse([u for u in uris if u.startswith("/images/")],
                         uris)

    def test_lkrn_bios_https(self):
        self.own_boot("bios", "ipxe.lkrn", "52:54:00:e2:00:21")

    def test_efi_uefi_https(self):
        self.own_boot("uefi", "ipxe.efi", "52:54:00:e2:00:22")


if __name__ == "__main__":
    if SKIP:
        # 77: CTest's SKIP_RETURN_CODE for this test (tests/CMakeLists.txt).
        print("skipped: " + SKIP)
        sys.exit(77)
    if not os.environ.get("BOOTD_IPXE_SRC"):
        print("note: BOOTD_IPXE_SRC not set, so our own iPXE build is not "
              "booted (OwnIpxe skipped)")
    unittest.main(verbosity=2)
