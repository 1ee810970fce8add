"""initramfs.py - a tiny busybox initramfs that reports and powers off

    from initramfs import build_initramfs, MARKER
    build_initramfs("/tmp/x/initrd.img")

The image holds a static busybox and an /init that mounts /proc, prints
MARKER and the kernel command line to the console (the serial port with
console=ttyS0), and powers the machine off at once, so QEMU exits and the
test knows the boot reached user space.  Built with cpio (newc) and gzip.
Also runnable: python3 initramfs.py OUT.
"""

import gzip
import os
import shutil
import subprocess
import sys
import tempfile

BUSYBOX = "/bin/busybox"
MARKER = "BOOTD-E2E-INIT"

INIT = """#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
/bin/busybox echo "%(marker)s start"
/bin/busybox echo "%(marker)s cmdline: $(/bin/busybox cat /proc/cmdline)"
/bin/busybox echo "%(marker)s poweroff"
/bin/busybox sync
/bin/busybox poweroff -f
""" % {"marker": MARKER}


def busybox_missing():
    """None when a static busybox is there, else the reason."""
    if not os.path.isfile(BUSYBOX):
        return "%s not found (Debian package busybox-static)" % BUSYBOX
    if shutil.which("cpio") is None:
        return "cpio not found (Debian package cpio)"
    out = subprocess.run(["file", "-L", BUSYBOX], capture_output=True,
                         text=True) if shutil.which("file") else None
    if out is not None and out.returncode == 0 and "dynamic" in out.stdout:
        return "%s is dynamically linked (need busybox-static)" % BUSYBOX
    return None


def build_initramfs(path):
    """Write a gzip-compressed newc cpio archive to path."""
    with tempfile.TemporaryDirectory(prefix="bootd-initramfs-") as root:
        for d in ("bin", "dev", "proc", "sys"):
            os.makedirs(os.path.join(root, d))
        shutil.copy(BUSYBOX, os.path.join(root, "bin", "busybox"))
        os.chmod(os.path.join(root, "bin", "busybox"), 0o755)
        os.symlink("busybox", os.path.join(root, "bin", "sh"))
        init = os.path.join(root, "init")
        with open(init, "w") as f:
            f.write(INIT)
        os.chmod(init, 0o755)
        names = []
        for dirpath, dirnames, filenames in os.walk(root):
            rel = os.path.relpath(dirpath, root)
            for n in sorted(dirnames) + sorted(filenames):
                names.append(os.path.normpath(os.path.join(rel, n)))
        listing = ("\n".join(names) + "\n").encode()
        r = subprocess.run(["cpio", "--quiet", "-o", "-H", "newc",
                            "-R", "0:0"], input=listing, cwd=root,
                           capture_output=True)
        if r.returncode != 0:
            raise RuntimeError("cpio: %s" % r.stderr.decode().strip())
    with gzip.open(path, "wb", compresslevel=6) as f:
        f.write(r.stdout)
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.stderr.write("usage: initramfs.py OUT\n")
        sys.exit(2)
    build_initramfs(sys.argv[1])
