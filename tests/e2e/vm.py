"""vm.py - boot a QEMU machine from the network against a loopback server

    from vm import Firmware, VM, qemu_missing

    reason = qemu_missing("bios")          # None when QEMU can run
    vm = VM("bios", mac="52:54:00:00:00:01", http_port=8080, workdir=tmp,
            bootfile="http://10.0.2.100/images/boot.ipxe")
    vm.start()
    vm.wait_for(r"Memtest86\\+", bound=120)  # polls the serial log
    vm.sendkeys(["down", "ret"])           # through the QEMU monitor
    vm.wait_exit(bound=120)                # the guest powered off
    vm.kill()

The guest sees one e1000 NIC on QEMU's user network with restrict=on: it
gets DHCP from QEMU and reaches nothing but 10.0.2.100:80, which QEMU
forwards to 127.0.0.1:http_port on this machine.  The console goes to a
serial log file.  Every wait is bounded and every VM is killed by kill(),
which __exit__ and the test's cleanup call: a stuck guest can't outlive the
test.  KVM is used only when a kvm_intel/kvm_amd module is loaded and
/dev/kvm opens; otherwise TCG.

Only the Python standard library is used.
"""

import os
import re
import socket
import subprocess
import time

QEMU = "qemu-system-x86_64"
ROM_DIR = "/usr/lib/ipxe/qemu"
ROMS = {"bios": "pxe-e1000.rom", "uefi": "efi-e1000.rom"}
OVMF = "/usr/share/ovmf/OVMF.fd"
BUSYBOX = "/bin/busybox"		# its nc relays guest connections
GUEST_SERVER = "10.0.2.100"	# the boot server as the guest sees it

POLL = 0.2			# seconds between looks at the serial log


class VMError(Exception):
    """The VM did not do what was waited for, within the bound."""


def which(name):
    for d in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep):
        p = os.path.join(d, name)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


def qemu_missing(firmware):
    """None when a VM with this firmware can run here, else the reason."""
    if which(QEMU) is None:
        return "%s not found (Debian package qemu-system-x86)" % QEMU
    rom = os.path.join(ROM_DIR, ROMS[firmware])
    if not os.path.isfile(rom):
        return "%s not found (Debian package ipxe-qemu)" % rom
    if not os.access(BUSYBOX, os.X_OK):
        return "%s not found (Debian package busybox-static)" % BUSYBOX
    if firmware == "uefi" and not os.path.isfile(OVMF):
        return "%s not found (Debian package ovmf)" % OVMF
    return None


def kvm_usable():
    """KVM only with a real kvm_intel/kvm_amd module and an openable
    /dev/kvm: a nested /dev/kvm without them fails in iPXE's real mode."""
    if not any(os.path.isdir("/sys/module/" + m)
               for m in ("kvm_intel", "kvm_amd")):
        return False
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
    except OSError:
        return False
    os.close(fd)
    return True


class VM:
    """
    One QEMU machine.  firmware is "bios" (SeaBIOS + Debian's iPXE PXE ROM)
    or "uefi" (OVMF + Debian's iPXE EFI ROM).  graphics=True gives the guest
    a VGA card without a display (memtest86+'s EFI build needs one).
    kernel, when given, boots that file directly (-kernel) instead of the
    NIC's ROM, e.g. an ipxe.lkrn built by tools/build-ipxe, with initrd
    (-initrd: iPXE runs a script given so).  tftp names a directory QEMU
    serves by TFTP (bootfile then a name in it).  nic=False: a machine
    without a network card (no DHCP answer, ever).
    """

    def __init__(self, firmware, mac, http_port, workdir, bootfile,
                 name=None, graphics=False, kernel=None, memory=512,
                 extra_forwards=(), tftp=None, initrd=None, nic=True):
        if firmware not in ROMS:
            raise ValueError("firmware must be bios or uefi")
        self.firmware = firmware
        self.mac = mac
        self.name = name or "%s-%s" % (firmware, mac.replace(":", ""))
        self.dir = os.path.join(workdir, self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.serial_path = os.path.join(self.dir, "serial.log")
        self.monitor_path = os.path.join(self.dir, "monitor.sock")
        self.stderr_path = os.path.join(self.dir, "qemu.stderr")
        self.proc = None
        self.started = None
        self.accel = "kvm" if kvm_usable() else "tcg"
        # A "tcp:" chardev target carries a single connection for the
        # whole run; "cmd:" starts a relay per guest connection.
        forwards = [(80, http_port)] + list(extra_forwards)
        netdev = "user,id=n0,restrict=on"
        for guest_port, host_port in forwards:
            netdev += ",guestfwd=tcp:%s:%d-cmd:%s nc 127.0.0.1 %d" % (
                GUEST_SERVER, guest_port, BUSYBOX, host_port)
        if tftp:
            netdev += ",tftp=" + tftp	# QEMU's TFTP server, read-only
        if bootfile:
            netdev += ",bootfile=" + bootfile
        rom = os.path.join(ROM_DIR, ROMS[firmware])
        self.argv = [
            QEMU, "-name", self.name, "-machine", "pc",
            "-accel", self.accel, "-m", str(memory), "-smp", "1",
            "-nodefaults", "-no-user-config", "-no-reboot",
            "-serial", "file:" + self.serial_path,
            "-monitor", "unix:%s,server=on,wait=off" % self.monitor_path,
        ]
        if nic:
            self.argv += [
                "-netdev", netdev,
                "-device", "e1000,netdev=n0,mac=%s,romfile=%s" % (mac, rom),
            ]
        if graphics:
            self.argv += ["-vga", "std", "-display", "none"]
        else:
            # -nographic: SeaBIOS then mirrors the text console (and so
            # iPXE's output) to the serial port.
            self.argv += ["-vga", "none", "-nographic"]
        if firmware == "uefi":
            self.argv += ["-bios", OVMF]
        if kernel:
            self.argv += ["-kernel", kernel]
            if initrd:
                self.argv += ["-initrd", initrd]
        else:
            self.argv += ["-boot", "n"]

    # -- life cycle -------------------------------------------------------

    def start(self):
        for p in (self.serial_path, self.monitor_path):
            if os.path.exists(p):
                os.unlink(p)
        err = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=err, stderr=err)
        err.close()
        self.started = time.monotonic()
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def elapsed(self):
        return time.monotonic() - self.started if self.started else 0.0

    def kill(self):
        """Stop QEMU now (SIGKILL); harmless when it already exited."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            pass
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        return False

    # -- console ----------------------------------------------------------

    def serial(self):
        """The serial log so far, decoded, with ANSI escapes and NULs
        removed (iPXE's menu and the firmware draw with escapes)."""
        try:
            with open(self.serial_path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            return ""
        text = raw.decode("latin-1")
        text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-Za-z]|\x1b.",
                      "", text)
        return text.replace("\x00", "").replace("\r", "")

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def describe(self):
        """Tail of the serial log and QEMU's stderr, for failure messages."""
        tail = self.serial()[-3000:]
        return "%s after %.0f s (%s)\n--- serial (tail)\n%s\n--- qemu stderr\n%s" % (
            self.name, self.elapsed(), self.accel, tail, self.stderr()[-1000:])

    def wait_for(self, pattern, bound, fail=None):
        """
        Poll the serial log until the regular expression pattern matches;
        return the match.  Raises VMError when QEMU exits first, when the
        regular expression fail matches first, or after bound seconds.
        """
        rx = re.compile(pattern)
        frx = re.compile(fail) if fail else None
        deadline = time.monotonic() + bound
        while True:
            text = self.serial()
            m = rx.search(text)
            if m:
                return m
            f = frx.search(text) if frx else None
            if f:
                raise VMError("%r appeared before %r: %s" % (
                    f.group(0), pattern, self.describe()))
            if not self.running():
                m = rx.search(self.serial())
                if m:
                    return m
                raise VMError("QEMU exited (%s) before %r appeared: %s" % (
                    self.proc.returncode if self.proc else None, pattern,
                    self.describe()))
            if time.monotonic() > deadline:
                raise VMError("no %r within %d s: %s" % (
                    pattern, bound, self.describe()))
            time.sleep(POLL)

    def wait_exit(self, bound):
        """Wait until QEMU exits by itself (guest power-off); return its
        exit code.  Raises VMError after bound seconds."""
        try:
            return self.proc.wait(bound)
        except subprocess.TimeoutExpired:
            raise VMError("still running after %d s: %s" % (
                bound, self.describe())) from None

    # -- keyboard ---------------------------------------------------------

    def monitor(self, command, bound=10):
        """Send one human-monitor command; return what QEMU printed."""
        deadline = time.monotonic() + bound
        while True:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.monitor_path)
                break
            except OSError:
                s.close()
                if time.monotonic() > deadline or not self.running():
                    raise VMError("no QEMU monitor: %s" % self.describe())
                time.sleep(POLL)
        with s:
            s.settimeout(bound)
            out = b""
            try:
                while b"(qemu)" not in out:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    out += chunk
                s.sendall(command.encode() + b"\n")
                out = b""
                while b"(qemu)" not in out:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    out += chunk
            except socket.timeout:
                pass
        return out.decode("utf-8", "replace")

    def sendkeys(self, keys, pause=0.3):
        """Press keys (QEMU names: "down", "up", "ret", "ctrl-b", "a")."""
        for k in keys:
            self.monitor("sendkey " + k)
            time.sleep(pause)
