"""test_build_ipxe.py - tools/build-ipxe: the embedded script, the make
command lines, and the refusal of bad input

Runs tools/build-ipxe with --print-script and --dry-run against a stand-in
directory that has the files build-ipxe checks for (no iPXE code), so nothing
is built.  The embedded script is also walked by a small model of iPXE's
script semantics (labels, goto, && / ||, stop on failure) to show that every
failure path ends in the local-boot branch, never in a loop, and that the
shell comes only for a key pressed at the console; and read by ipxe_check
(tests/ipxe_check.c) -u, which refuses any command that could keep a
machine nobody attends waiting for a key for ever.

With BOOTD_IPXE_SRC=/path/to/ipxe (a checkout) a real build runs as well
(several minutes the first time).  Otherwise that test is reported skipped.
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from ipxe_model import Machine  # noqa: E402

SOURCE_DIR = os.environ.get("BOOTD_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(HERE))
TOOL = os.path.join(SOURCE_DIR, "tools", "build-ipxe")
CONFIG_DIR = os.path.join(SOURCE_DIR, "tools", "ipxe-config", "bootd")

# What build-ipxe checks to recognise an iPXE checkout.
IPXE_MARKERS = ("src/Makefile", "src/Makefile.housekeeping",
                "src/core/exec.c", "src/config/general.h",
                "src/config/named.h")


def run(*args, env=None):
    return subprocess.run([TOOL, *args], capture_output=True, text=True,
                          env=env, stdin=subprocess.DEVNULL, timeout=60)


def fake_checkout(root):
    for m in IPXE_MARKERS:
        p = os.path.join(root, m)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write("")
    return root


def make_cert(cert, key):
    """A throw-away self-signed EC certificate and its key."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", "/CN=build-ipxe test", "-keyout", key,
                    "-out", cert], check=True, capture_output=True)


def tree(root):
    out = []
    for d, _, files in os.walk(root):
        out += [os.path.relpath(os.path.join(d, f), root) for f in files]
    return sorted(out)


class EmbeddedScript(unittest.TestCase):

    def script(self, url="https://boot.example.org"):
        r = run("--url", url, "--print-script")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        return r.stdout

    def test_shape(self):
        s = self.script()
        self.assertTrue(s.startswith("#!ipxe\n"), s[:20])
        lines = s.splitlines()
        chains = [l for l in lines if l.startswith("chain ")]
        self.assertEqual(len(chains), 1, chains)
        url = chains[0].split()[1]
        self.assertTrue(url.startswith(
            "https://boot.example.org/ipxe/v1/config?mac=${netX/mac}&"), url)
        for part in ("platform=${platform}", "buildarch=${buildarch}",
                     "uuid=${uuid}", "serial=${serial:uristring}",
                     "manufacturer=${manufacturer:uristring}",
                     "product=${product:uristring}"):
            self.assertIn("&" + part, url)
        # Every goto has its label; no line continues onto the next.
        labels = {l[1:].split()[0] for l in lines if l.startswith(":")}
        for l in lines:
            for target in re.findall(r"\bgoto (\S+)", l):
                self.assertIn(target, labels, l)
            self.assertFalse(l.endswith("\\"), l)
        self.assertIn("sanboot --no-describe --drive 0x80 ||", lines)
        self.assertIn("iseq ${platform} efi && exit ||", lines)

    def test_trailing_slash_dropped(self):
        s = self.script("http://10.0.2.100:8080/boot/")
        self.assertIn("chain http://10.0.2.100:8080/boot/ipxe/v1/config?",
                      s)

    def on_each_firmware(self, outcomes):
        """[(how local boot ends there, the script run with outcomes)] for
        BIOS and UEFI."""
        return [(end, Machine(self.script(), outcomes,
                              platform=platform).run())
                for platform, end in (("pcbios", "sanboot"), ("efi", "exit"))]

    def test_everything_works(self):
        m = Machine(self.script(), {"chain": lambda a: True}).run()
        self.assertEqual(m.end, "sanboot", m.trace)
        self.assertEqual(sum(t.startswith("chain ") for t in m.trace), 1)

    def test_server_down_is_bounded_then_local(self):
        for end, m in self.on_each_firmware({"chain": lambda a: False}):
            self.assertEqual(m.end, end, m.trace)
            chains = [t for t in m.trace if t.startswith("chain ")]
            self.assertEqual(len(chains), 3, m.trace)
            self.assertIn("echo bootd: boot server unreachable, booting "
                          "from the local disk", m.trace)

    def test_sanboot_fails_then_exit(self):
        m = Machine(self.script(), {"chain": lambda a: False,
                                    "sanboot": lambda a: False}).run()
        self.assertEqual(m.end, "exit", m.trace)

    def test_no_dhcp_is_bounded_then_local(self):
        # A DHCP outage while a fleet powers on: nobody at the consoles,
        # every machine boots its disk after a bounded wait.
        for end, m in self.on_each_firmware({"dhcp": lambda a: False}):
            self.assertEqual(m.end, end, m.trace)
            self.assertEqual(sum(t == "dhcp" for t in m.trace), 5, m.trace)
            self.assertFalse(any(t.startswith("chain") for t in m.trace))
            self.assertNotIn("shell", m.trace)
            prompts = [t for t in m.trace if t.startswith("prompt ")]
            self.assertEqual(len(prompts), 1, m.trace)
            self.assertRegex(prompts[0], r"^prompt --key 0x02 --timeout "
                                         r"10000 Press Ctrl-B ")

    def test_no_dhcp_ctrl_b_gives_the_shell(self):
        # Someone at the console presses Ctrl-B in time: the shell.
        m = Machine(self.script(), {"dhcp": lambda a: False,
                                    "prompt": lambda a: True}).run()
        self.assertEqual(m.end, "shell", m.trace)
        # Leaving the shell goes on to local boot.
        m = Machine(self.script(), {"dhcp": lambda a: False,
                                    "prompt": lambda a: True,
                                    "shell": lambda a: False}).run()
        self.assertEqual(m.end, "sanboot", m.trace)

    def test_nothing_waits_for_a_key_for_ever(self):
        # ipxe_check -u: no shell but right after a prompt with a timeout,
        # no prompt or menu without one.
        prog = os.path.join(os.environ.get("BOOTD_BINARY_DIR", ""), "tests",
                            "ipxe_check")
        if not os.access(prog, os.X_OK):
            self.skipTest("ipxe_check is not built (BOOTD_BINARY_DIR)")
        with tempfile.NamedTemporaryFile("w", suffix=".ipxe") as f:
            f.write(self.script())
            f.flush()
            argv = [prog, "-u"]
            for c in ("dhcp", "inc", "prompt"):
                argv += ["-c", c]
            for v in ("${attempt}", "${netX/mac}", "${buildarch}",
                      "${uuid}", "${serial:uristring}",
                      "${manufacturer:uristring}", "${product:uristring}"):
                argv += ["-s", v]
            r = subprocess.run(argv + [f.name], capture_output=True,
                               text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(r.stdout.startswith(f.name + " ok "), r.stdout)

    def test_dhcp_second_try(self):
        tries = []

        def dhcp(args):
            tries.append(1)
            return len(tries) >= 2
        m = Machine(self.script(), {"dhcp": dhcp}).run()
        self.assertEqual(m.end, "sanboot", m.trace)
        self.assertEqual(len(tries), 2)


class DryRun(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bootd-build-ipxe-")
        self.src = fake_checkout(os.path.join(self.tmp, "ipxe"))
        self.out = os.path.join(self.tmp, "out")
        self.ca = os.path.join(self.tmp, "ca.pem")
        self.c1 = os.path.join(self.tmp, "c1.pem")
        self.key = os.path.join(self.tmp, "client.key")
        make_cert(self.ca, os.path.join(self.tmp, "ca.key"))
        make_cert(self.c1, self.key)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def dry(self, *extra):
        before = tree(self.src)
        r = run("--src", self.src, "--url", "https://boot.example.org",
                "--out", self.out, "--dry-run", *extra)
        self.assertEqual(tree(self.src), before, "dry run wrote into --src")
        self.assertFalse(os.path.exists(self.out), "dry run made --out")
        return r

    def make_lines(self, out):
        return [l for l in out.splitlines() if l.startswith("make ")]

    def test_default_targets(self):
        r = self.dry("--trust", self.ca)
        self.assertEqual(r.returncode, 0, r.stderr)
        mk = self.make_lines(r.stdout)
        self.assertEqual(len(mk), 2, r.stdout)
        embed = os.path.join(self.src, "src/config/local/bootd/bootd.ipxe")
        self.assertEqual(mk[0], "make -C %s/src -j1 CONFIG=bootd EMBED=%s "
                         "TRUST=%s bin/ipxe.lkrn" % (self.src, embed, self.ca))
        self.assertTrue(mk[1].endswith(" bin-x86_64-efi/ipxe.efi"), mk[1])
        self.assertIn("CONFIG=bootd", mk[1])
        # The script (the one --print-script prints) and the headers are
        # shown.
        script = run("--url", "https://boot.example.org", "--print-script")
        self.assertEqual(script.returncode, 0, script.stderr)
        self.assertIn("\n" + script.stdout, r.stdout)
        for h in sorted(os.listdir(CONFIG_DIR)):
            with open(os.path.join(CONFIG_DIR, h)) as f:
                self.assertIn(f.read(), r.stdout, h)
            self.assertIn("src/config/local/bootd/" + h, r.stdout)
        self.assertIn("%s/ipxe.lkrn" % self.out, r.stdout)
        self.assertIn("%s/SHA256SUMS" % self.out, r.stdout)

    def test_all_options(self):
        rel_cert = os.path.relpath(self.c1)
        r = self.dry("--trust", self.ca, "--cert", self.ca, "--cert",
                     rel_cert, "--privkey", self.key, "-j", "3",
                     "--targets", "undionly.kpxe,snponly.efi,ipxe.lkrn")
        self.assertEqual(r.returncode, 0, r.stderr)
        mk = self.make_lines(r.stdout)
        self.assertEqual(len(mk), 2, r.stdout)
        for line in mk:
            self.assertIn(" -j3 ", line)
            self.assertIn(" TRUST=%s " % self.ca, line)
            # Relative paths become absolute: make runs in src/.
            self.assertIn(" CERT=%s,%s " % (self.ca, self.c1), line)
            self.assertIn(" PRIVKEY=%s " % self.key, line)
        self.assertTrue(mk[0].endswith(" bin/undionly.kpxe bin/ipxe.lkrn"),
                        mk[0])
        self.assertTrue(mk[1].endswith(" bin-x86_64-efi/snponly.efi"), mk[1])

    def test_jobs_spellings(self):
        # -j N, -jN, --jobs N and --jobs=N, like the other options.
        for args in (["-j", "3"], ["-j3"], ["--jobs", "3"], ["--jobs=3"]):
            with self.subTest(args=args):
                r = self.dry(*args)
                self.assertEqual(r.returncode, 0, r.stderr)
                mk = self.make_lines(r.stdout)
                self.assertEqual(len(mk), 2, r.stdout)
                for line in mk:
                    self.assertIn(" -j3 ", line)

    def test_uristring_and_header(self):
        r = self.dry()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("#define DOWNLOAD_PROTO_HTTPS", r.stdout)
        for cmd in ("PARAM_CMD", "CONSOLE_CMD", "CERT_CMD", "PING_CMD",
                    "NSLOOKUP_CMD", "IMAGE_TRUST_CMD"):
            self.assertRegex(r.stdout, r"(?m)^#define %s\b" % cmd)


# A make that "builds" each goal as a small file, and stand-ins for the
# other build tools build-ipxe looks for: a build in a second.
FAKE_MAKE = r"""#!/bin/sh
while [ $# -gt 0 ]; do
	case $1 in
	-C) dir=$2; shift 2 ;;
	-j*|*=*) shift ;;
	*) mkdir -p "$dir/$(dirname "$1")" && echo image >"$dir/$1"; shift ;;
	esac
done
"""


@unittest.skipUnless(os.path.exists("/usr/include/lzma.h"),
                     "no /usr/include/lzma.h (liblzma-dev): build-ipxe "
                     "refuses to build")
class FakeBuild(unittest.TestCase):
    """Real runs against the stand-in checkout, with a stand-in make."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bootd-build-ipxe-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.src = fake_checkout(os.path.join(self.tmp, "ipxe"))
        bindir = os.path.join(self.tmp, "bin")
        os.makedirs(bindir)
        for tool in ("make", "gcc", "perl", "ld", "objcopy"):
            with open(os.path.join(bindir, tool), "w") as f:
                f.write(FAKE_MAKE if tool == "make" else "#!/bin/sh\n")
            os.chmod(os.path.join(bindir, tool), 0o755)
        self.env = dict(os.environ, PATH=bindir + ":" + os.environ["PATH"])
        self.local = os.path.join(self.src, "src", "config", "local",
                                  "bootd")

    def build(self, url="http://10.0.2.100"):
        r = run("--src", self.src, "--url", url, "--out",
                os.path.join(self.tmp, "out"), env=self.env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def mtimes(self):
        return {n: os.stat(os.path.join(self.local, n)).st_mtime_ns
                for n in sorted(os.listdir(self.local))}

    def test_unchanged_files_keep_their_time(self):
        # Every iPXE object depends on the config headers: a new mtime
        # each run would rebuild all of iPXE (minutes) for nothing.
        self.build()
        names = sorted(os.listdir(CONFIG_DIR)) + ["bootd.ipxe"]
        self.assertEqual(sorted(os.listdir(self.local)), sorted(names))
        past = 1_000_000_000 * 1_000_000_000	# 2001
        for n in names:
            os.utime(os.path.join(self.local, n), ns=(past, past))
        self.build()
        self.assertEqual(self.mtimes(), {n: past for n in names})
        # A new URL rewrites the script alone; a header that differs from
        # bootd's (an older bootd's, say) is replaced.
        with open(os.path.join(self.local, "general.h"), "a") as f:
            f.write("/* older */\n")
        os.utime(os.path.join(self.local, "general.h"), ns=(past, past))
        self.build("http://10.0.2.101")
        changed = {n for n, t in self.mtimes().items() if t != past}
        self.assertEqual(changed, {"bootd.ipxe", "general.h"})
        for n in os.listdir(CONFIG_DIR):
            with open(os.path.join(CONFIG_DIR, n)) as a, \
                    open(os.path.join(self.local, n)) as b:
                self.assertEqual(a.read(), b.read(), n)
        with open(os.path.join(self.local, "bootd.ipxe")) as f:
            self.assertIn("chain http://10.0.2.101/ipxe/v1/config?", f.read())
        self.assertEqual(sorted(os.listdir(self.local)), sorted(names))


@unittest.skipUnless(os.path.exists(os.path.join(
    os.environ.get("BOOTD_BINARY_DIR", ""), "cmake_install.cmake")),
    "no CMake build directory in BOOTD_BINARY_DIR")
class Installed(unittest.TestCase):
    """`cmake --install` puts build-ipxe in PREFIX/sbin and its iPXE
    configuration in PREFIX/share/bootd/ipxe-config, where it finds it."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bootd-build-ipxe-inst-")
        self.prefix = os.path.join(self.tmp, "usr")
        subprocess.run(["cmake", "--install", os.environ["BOOTD_BINARY_DIR"],
                        "--prefix", self.prefix], check=True,
                       capture_output=True, timeout=120)
        self.src = fake_checkout(os.path.join(self.tmp, "ipxe"))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def dry(self):
        return subprocess.run(
            [os.path.join(self.prefix, "sbin", "build-ipxe"), "--src",
             self.src, "--url", "https://boot.example.org", "--dry-run"],
            capture_output=True, text=True, stdin=subprocess.DEVNULL,
            timeout=60)

    def test_finds_its_configuration(self):
        conf = os.path.join(self.prefix, "share", "bootd", "ipxe-config")
        self.assertEqual(sorted(os.listdir(conf)), sorted(os.listdir(CONFIG_DIR)))
        r = self.dry()
        self.assertEqual(r.returncode, 0, r.stderr)
        for h in sorted(os.listdir(CONFIG_DIR)):
            with open(os.path.join(CONFIG_DIR, h)) as f:
                self.assertIn(f.read(), r.stdout, h)
        shutil.rmtree(conf)
        r = self.dry()
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "build-ipxe: bootd's iPXE configuration is "
                         "missing: no %s/general.h\n" % conf)


class Refusals(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bootd-build-ipxe-")
        self.src = fake_checkout(os.path.join(self.tmp, "ipxe"))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def refused(self, args, code, pattern):
        r = run(*args)
        self.assertEqual(r.returncode, code, (args, r.stdout, r.stderr))
        self.assertEqual(r.stdout, "", args)
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertTrue(lines[0].startswith("build-ipxe: "), lines[0])
        self.assertRegex(lines[0], pattern)
        return lines[0]

    def test_bad_urls(self):
        cases = [
            ("http://x/${foo}", r"\$\{"),
            ("http://x/${net0/mac}", r"\$\{"),
            ("http://boot example.org", "whitespace"),
            ("http://x/\tq", "control character"),
            ("http://x/a#b", "#"),
            ("http://x/a;b", ";"),
            ("http://x/a\nchain http://evil/", "control character"),
            ("http://x/a\rb", "control character"),
            ("http://x/a&&b", "query|&&"),
            ("http://x/a||b", r"\|\|"),
            ("http://x/'a'", "quote"),
            ('http://x/"a"', "quote"),
            ("http://x/a\\", "backslash"),
            ("http://x/a?mac=1", "query"),
            ("ftp://x/", "http:// or https://"),
            ("boot.example.org", "http:// or https://"),
            ("http://", "scheme://host"),
            ("http://ex_ample/", "scheme://host"),
            ("http://x:99999999/", "scheme://host"),
            ("http://x:65536/", "port outside"),
            ("http://x:0", "port outside"),
            ("https://[2001:db8::1]:70000/", "port outside"),
            ("", "required|empty"),
        ]
        for url, pattern in cases:
            for mode in ("--dry-run", "--print-script"):
                with self.subTest(url=url, mode=mode):
                    self.refused(["--src", self.src, "--url", url, mode], 2,
                                 pattern)

    def test_good_urls(self):
        for url in ("http://10.0.2.100", "https://boot.example.org:8443/",
                    "http://x:65535",
                    "https://[2001:db8::1]/bootd", "http://a-b.example/x_y~z"):
            with self.subTest(url=url):
                r = run("--src", self.src, "--url", url, "--dry-run")
                self.assertEqual(r.returncode, 0, r.stderr)

    def test_src(self):
        self.refused(["--url", "http://x", "--dry-run"], 2, "--src is required")
        self.refused(["--src", os.path.join(self.tmp, "nope"), "--url",
                      "http://x", "--dry-run"], 2, "no such directory")
        os.makedirs(os.path.join(self.tmp, "other", "src"))
        self.refused(["--src", os.path.join(self.tmp, "other"), "--url",
                      "http://x", "--dry-run"], 2,
                     "does not look like an iPXE checkout")
        os.unlink(os.path.join(self.src, "src", "core", "exec.c"))
        self.refused(["--src", self.src, "--url", "http://x", "--dry-run"],
                     2, r"no src/core/exec\.c")

    def test_src_path_for_make(self):
        # The embedded script's path under --src goes into EMBED=, a
        # comma-separated make variable: a checkout whose path has a
        # comma or whitespace is refused, as the other files' are.
        for name in ("a b", "x,y", "t\tab"):
            with self.subTest(name=name):
                src = fake_checkout(os.path.join(self.tmp, name, "ipxe"))
                line = self.refused(["--src", src, "--url", "http://x",
                                     "--dry-run"], 2,
                                    "^build-ipxe: --src: path must not "
                                    "contain commas or whitespace: ")
                self.assertIn(name.replace("\t", "?"), line)

    def test_other_usage_errors(self):
        base = ["--src", self.src, "--url", "http://x", "--dry-run"]
        self.refused(["--src", self.src, "--dry-run"], 2, "--url is required")
        self.refused(base + ["--trust", os.path.join(self.tmp, "none.pem")],
                     2, "no such file")
        self.refused(base + ["--targets", "ipxe.iso"], 2, "unknown target")
        self.refused(base + ["--targets", "ipxe.efi,ipxe.efi"], 2, "twice")
        self.refused(base + ["-j", "zero"], 2, "positive number")
        self.refused(base + ["-j", "0"], 2, "positive number")
        self.refused(base + ["--jobs", "0"], 2, "positive number")
        self.refused(base + ["--jobs"], 2, "--jobs needs an argument")
        self.refused(base + ["--bogus"], 2, "unknown option")
        self.refused(base + ["stray"], 2, "unexpected argument")
        self.refused(base + ["--cert"], 2, "needs an argument")
        cert, key = (os.path.join(self.tmp, f) for f in ("c.pem", "k.pem"))
        make_cert(cert, key)
        self.refused(base + ["--privkey", key], 2, "needs the matching")
        self.refused(base + ["--trust", key], 2, "not a PEM certificate")
        self.refused(base + ["--cert", cert, "--privkey", cert], 2,
                     "not a PEM private key")
        junk = os.path.join(self.tmp, "junk.pem")
        with open(junk, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64\n"
                    "-----END CERTIFICATE-----\n")
        self.refused(base + ["--cert", junk], 2, "not a PEM certificate")
        comma = os.path.join(self.tmp, "a,b.pem")
        open(comma, "w").close()
        self.refused(base + ["--cert", comma], 2, "commas")
        # A plain name, but in a directory whose path has a comma: make
        # would split the absolute path all the same.
        cdir = os.path.join(self.tmp, "x,y")
        os.makedirs(cdir)
        shutil.copy(cert, os.path.join(cdir, "ca.pem"))
        r = subprocess.run([TOOL, *base, "--trust", "ca.pem"], cwd=cdir,
                           capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=60)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertRegex(r.stderr, r"^build-ipxe: path must not contain "
                                   r"commas or whitespace: .*x,y/ca\.pem")

    def test_missing_build_tools(self):
        # A PATH with what the script itself uses, but no compiler, make
        # or perl: a real build must stop before touching --src.
        bindir = os.path.join(self.tmp, "bin")
        os.makedirs(bindir)
        for tool in ("bash", "dirname", "cat", "grep", "wc", "tr", "sort",
                     "basename", "date", "mkdir", "cp", "mv", "sha256sum",
                     "cut", "pwd", "env"):
            p = shutil.which(tool)
            if p:
                os.symlink(p, os.path.join(bindir, tool))
        env = dict(os.environ, PATH=bindir)
        before = tree(self.src)
        r = subprocess.run(["bash", TOOL, "--src", self.src, "--url",
                            "http://x", "--out", os.path.join(self.tmp, "o")],
                           capture_output=True, text=True, env=env,
                           timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertRegex(r.stderr, r"missing build dependencies.*apt-get "
                         r"install .*gcc")
        self.assertIn("make", r.stderr)
        self.assertEqual(tree(self.src), before)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "o")))

    def test_help(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--dry-run", r.stdout)


@unittest.skipUnless(os.environ.get("BOOTD_IPXE_SRC"),
                     "BOOTD_IPXE_SRC (an iPXE checkout) not set; no real build")
@unittest.skipIf(os.environ.get("BOOTD_SANITIZE") == "1",
                 "sanitizer build: the real iPXE build runs in the normal build")
class RealBuild(unittest.TestCase):
    """A real build of ipxe.lkrn and ipxe.efi from $BOOTD_IPXE_SRC."""

    def test_build(self):
        src = os.environ["BOOTD_IPXE_SRC"]
        tmp = tempfile.mkdtemp(prefix="bootd-build-ipxe-")
        self.addCleanup(shutil.rmtree, tmp, True)
        out = os.path.join(tmp, "out")
        r = subprocess.run(
            ["nice", "-n", "19", TOOL, "--src", src, "--url",
             "http://10.0.2.100", "--out", out, "-j",
             os.environ.get("BOOTD_IPXE_JOBS", "1")],
            capture_output=True, text=True, timeout=3600)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr)
        self.assertIn("build-ipxe: images in %s:" % out, r.stdout)
        sums = {}
        with open(os.path.join(out, "SHA256SUMS")) as f:
            for line in f:
                digest, name = line.split()
                sums[name] = digest
        self.assertEqual(sorted(sums), ["ipxe.efi", "ipxe.lkrn"])
        for name, digest in sums.items():
            with open(os.path.join(out, name), "rb") as f:
                data = f.read()
            self.assertEqual(hashlib.sha256(data).hexdigest(), digest)
        with open(os.path.join(out, "ipxe.efi"), "rb") as f:
            efi = f.read()
        self.assertEqual(efi[:2], b"MZ")
        # The EFI image is not compressed: the script is in it verbatim.
        self.assertIn(b"http://10.0.2.100/ipxe/v1/config?mac=${netX/mac}",
                      efi)


if __name__ == "__main__":
    if not os.access(TOOL, os.X_OK):
        print("skipped: %s is not there or not executable" % TOOL)
        sys.exit(1)
    if not os.environ.get("BOOTD_IPXE_SRC"):
        print("skipped: real iPXE build (set BOOTD_IPXE_SRC=/path/to/ipxe "
              "to run it)")
    unittest.main(verbosity=2)
