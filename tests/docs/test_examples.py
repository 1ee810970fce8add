"""test_examples.py - run every example in the documentation, as printed

The examples are the EXAMPLES sections of the man pages in doc/ (rendered
with `mandoc -Tutf8`, formatting stripped: what `man` shows), and the
```console blocks of README.md and doc/*.md.  In both, a line starting with
"$ " is a command run as an unprivileged user, one starting with "# " a
command run as root; a command goes on over further lines as a shell would
read it (a trailing backslash, an open quote, a here-document).  The lines
after a command, up to the next command, are its documented output: the
terminal's (stdout and stderr), compared line by line, where a line "..."
stands for any number of lines.  A command without output shown must exit 0
(or the status a marker names).

Markers, visible in the source, change what happens to the next command:
in a man page a roff comment line inside the display, in Markdown a line in
the console block, or an HTML comment just before a block (then for every
command of the block):

    .\\" example: not run (REASON)       not run here; counted as marked
    # example: not run (REASON)          (the same, in a console block)
    <!-- example: not run (REASON) -->   (the same, for a whole block)
    ... example: exit N                  the command exits N
    ... example: background until "RE"   started, and left running until
                                         it has printed a line matching RE;
                                         Ctrl-C (SIGINT) when the file ends,
                                         after which it must exit 0
    ... example: file PATH               (man pages, first line of a
                                         display) the rest of the display is
                                         the content of PATH: written there
                                         before the first example runs
    ... example: with a server (tools/up on ports 80 and 443)
                                         bootd and nginx serve tools/up's
                                         demo inventory on 127.0.0.1:80 and
                                         443 (started once, as root)

A code block that is not a console block yet starts a line with a prompt or
with one of our commands (bootctl, bootd, tools/, build/, ...) fails the
check, unless a marker says why it does not run: nothing is skipped
silently.  The check prints, per file, how many examples ran and how many
were marked.

Where the examples run: each file in a fresh world, as root, inside a
private mount and network namespace (unshare): /etc, /var, /srv and /run are
overlays on a scratch directory, so an example may write /etc/bootd or
/var/lib/bootd and nothing outside the scratch directory changes; loopback
is its own, so ports 80, 443, 8080 and 8443 are free.  The world is an
installed bootd, as "Running it for real" in README.md makes it: user and
group bootd, group bootadm (admin_group), /var/lib/bootd (root, 0755) and
/var/lib/bootd/db (bootd:bootd, 0770), /srv/bootd/images, /etc/bootd; plus
an operator, user "alice", member of group "lab" (and nothing else), as whom
the "$" commands run (setpriv, her own uid and gids).  PATH starts with a
directory holding `bootctl` (a copy of the build's, root:bootd, setgid, as
installed), `bootd` and `build-ipxe` (the build's and the tree's).  The
working directory is a clone of the tree: the sources linked, build/ the
build under test (BOOTD_BINARY_DIR, also in the examples' environment, so
tools/up uses it and skips tools/setup), owned by alice.  The links lead
to bind mounts of the tree and the build in the scratch directory, so
alice reaches them from a checkout in /root too (mode 0700).

Run it: BOOTD_BINARY_DIR=$PWD/build python3 tests/docs/test_examples.py
[FILE...] (needs root; exits 77, skipped, otherwise, and in a sanitizer
build, whose setgid bootctl LeakSanitizer cannot run).  CTest:
docs_examples.
"""

import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("BOOTD_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(HERE))
BINARY_DIR = os.path.abspath(os.environ.get("BOOTD_BINARY_DIR") or
                             os.path.join(SOURCE_DIR, "build"))

OPERATOR = "alice"
# Any one example, or one in the background until it is ready, at most:
# a hung example fails instead of hanging the check.
EXAMPLE_TIMEOUT = 120

MARK_RE = re.compile(r"^(?:\.\\\"|#|<!--)\s*example:\s*(.*?)\s*(?:-->)?\s*$")
# What makes a code block look like commands (first word of a line).
COMMAND_RE = re.compile(
    r"^(\$ |# (bootctl|bootd|tools/|build/)|bootctl |bootd |tools/|build/|"
    r"bench/|cmake |curl |systemctl |openssl |make |nginx |install |cp |ln |"
    r"rm |chgrp |chmod |mkdir |python3 |git |[A-Z_]+=\S* )")
# The marker that starts bootd and nginx (tools/up, as root) on ports 80
# and 443, serving the demo inventory, before the command.
SERVER_MARK = "with a server (tools/up on ports 80 and 443)"
SERVER_COMMAND = ("BOOTD_RUN_DIR=/run/bootd-up BOOTD_HTTP_PORT=80 "
                  "BOOTD_HTTPS_PORT=443 tools/up")
MAN_MARK = "\u2063EXAMPLE-MARK "  # survives rendering inside a display


class Example:
    def __init__(self, where, prompt, command, output, marks):
        self.where = where          # "FILE:LINE"
        self.prompt = prompt        # "$" or "#"
        self.command = command
        self.output = output        # documented output lines, or []
        self.marks = marks          # list of marker texts

    def to_json(self):
        return self.__dict__


class DocError(Exception):
    pass


def check_mark(where, text):
    if re.fullmatch(r"not run \(.+\)", text):
        return
    if re.fullmatch(r"exit \d+", text):
        return
    if re.fullmatch(r'background until ".+"', text):
        return
    if re.fullmatch(r"file /\S+", text):
        return
    if text == SERVER_MARK:
        return
    raise DocError("%s: unknown example marker '%s'" % (where, text))


def incomplete(command):
    """True when a shell would read further lines to complete command."""
    if re.search(r"(^|[^\\])(\\\\)*\\$", command):
        return True
    r = subprocess.run(["bash", "-n", "-c", command], capture_output=True,
                       text=True)
    return ("unexpected end of file" in r.stderr or
            "here-document" in r.stderr)


def parse_session(path, lines, first_line, block_marks):
    """Commands in a list of session lines (prompt, continuation, output,
    marker lines).  first_line: the line number of lines[0]."""
    examples = []
    marks = list(block_marks)
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        where = "%s:%d" % (path, first_line + i)
        m = MARK_RE.match(line) if line.startswith(("#", ".")) else None
        if line.startswith(MAN_MARK):
            m = re.match(r"(.*)", line[len(MAN_MARK):])
        if m:
            check_mark(where, m.group(1))
            marks.append(m.group(1))
            i += 1
            continue
        if line.startswith(("$ ", "# ")):
            prompt, command = line[0], line[2:]
            i += 1
            while incomplete(command) and i < n:
                command += "\n" + lines[i]
                i += 1
            out = []
            while i < n and not lines[i].startswith(("$ ", "# ", MAN_MARK)):
                out.append(lines[i].rstrip())
                i += 1
            while out and out[-1] == "":
                out.pop()
            examples.append(Example(where, prompt, command, out, marks))
            marks = list(block_marks)
            continue
        if line.strip():
            raise DocError("%s: '%s' is neither a command ($ or #) nor the "
                           "output of one" % (where, line.strip()))
        i += 1
    return examples


def man_examples(path):
    """The examples of a man page's EXAMPLES section, as rendered."""
    with open(path, encoding="utf-8") as f:
        src = f.read()
    # Roff comments naming an example marker become visible lines.
    src = re.sub(r'(?m)^\.\\" example: (.*)$',
                 lambda m: MAN_MARK + m.group(1).replace("\\", "\\e"), src)
    r = subprocess.run(["mandoc", "-Tutf8", "-Wstop"], input=src,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise DocError("%s: mandoc failed: %s" % (path, r.stderr.strip()))
    text = re.sub(r".\x08", "", r.stdout).split("\n")
    try:
        start = text.index("EXAMPLES")
    except ValueError:
        return [], []
    end = start + 1
    while end < len(text) and not re.match(r"^[A-Z][A-Z ]*$", text[end]):
        end += 1
    section = text[start + 1:end]
    # Displays: runs of lines indented deeper than the section's text.
    examples, files = [], []
    i = 0
    while i < len(section):
        line = section[i]
        indent = len(line) - len(line.lstrip())
        if not line.strip() or indent <= 5:
            i += 1
            continue
        block = []
        base = indent
        while i < len(section) and (not section[i].strip() or
                                    len(section[i]) - len(
                                        section[i].lstrip()) >= base):
            block.append(section[i][base:])
            i += 1
        while block and not block[-1].strip():
            block.pop()
        if block[0].startswith(MAN_MARK + "file "):
            # The display is the content of a file the examples use.
            check_mark(path, block[0][len(MAN_MARK):])
            files.append((block[0][len(MAN_MARK) + 5:].strip(),
                          "\n".join(block[1:]) + "\n"))
            continue
        body = block
        examples += parse_session(path, body, 1, [])
    # Name each command by the line of the page's source it starts on.
    srclines = [x.replace("\\e", "\\") for x in src.split("\n")]
    for e in examples:
        first = e.prompt + " " + e.command.split("\n")[0]
        e.where = "%s:%s" % (path, next(
            (str(k + 1) for k, x in enumerate(srclines) if x == first),
            "EXAMPLES"))
    return examples, files


def markdown_examples(path):
    """Commands of the ```console blocks; other blocks must not look like
    commands unless a marker before them says why they do not run (such a
    block counts as one marked example)."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    examples = []
    i = 0
    pending = []        # markers in an HTML comment just before a block
    prev_blank = True
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^<!--\s*example:\s*(.*?)\s*-->\s*$", line)
        if m:
            check_mark("%s:%d" % (path, i + 1), m.group(1))
            pending.append(m.group(1))
            i += 1
            continue
        fence = re.match(r"^(```+)\s*(\S*)\s*$", line)
        if fence:
            lang = fence.group(2)
            start = i + 1
            j = start
            while j < len(lines) and not lines[j].startswith(fence.group(1)):
                j += 1
            body = lines[start:j]
            if lang == "console":
                examples += parse_session(path, body, start + 1, pending)
            elif look(path, body, start + 1, pending):
                examples.append(marked_block(path, start + 1, pending))
            pending = []
            i = j + 1
            prev_blank = False
            continue
        if line.startswith("    ") and prev_blank and line.strip() and \
                not in_list(lines, i):
            start = i
            j = i
            while j < len(lines) and (lines[j].startswith("    ") or
                                      not lines[j].strip()):
                j += 1
            body = [b[4:] for b in lines[start:j]]
            if look(path, body, start + 1, pending):
                examples.append(marked_block(path, start + 1, pending))
            pending = []
            i = j
            continue
        if line.strip():
            if pending:
                raise DocError("%s:%d: an example marker must come just "
                               "before a code block" % (path, i + 1))
        prev_blank = not line.strip()
        i += 1
    return examples


def marked_block(path, line, marks):
    """A marked block that is not a console block counts as one example
    marked not run."""
    return Example("%s:%d" % (path, line), "#", "", [], list(marks))


def in_list(lines, i):
    """An indented line that continues a list item, not a code block."""
    k = i - 1
    while k >= 0 and not lines[k].strip():
        k -= 1
    return k >= 0 and (re.match(r"^\s*([-*]|\d+\.) ", lines[k]) is not None
                       or (lines[k].startswith("  ") and
                           not lines[k].startswith("    ")))


def look(path, body, first_line, marks):
    """A block that is not a console block: fail when it looks like
    commands and no marker says why it is not run."""
    if any(mk.startswith("not run") for mk in marks):
        return True
    for k, b in enumerate(body):
        if COMMAND_RE.match(b):
            raise DocError(
                "%s:%d: '%s' looks like a command outside a ```console "
                "block: make it one (with $ or # prompts), or mark the block "
                "<!-- example: not run (REASON) -->"
                % (path, first_line + k, b.strip()))
    return False


# ---------------------------------------------------------------------------
# The world the examples run in (inside the namespaces, as root).

def sh(*argv, **kw):
    subprocess.run(argv, check=True, **kw)


def make_world(scratch):
    """Overlays, users, the installed layout, PATH, the clone."""
    for d in ("etc", "var", "srv", "run"):
        if not os.path.isdir("/" + d):
            os.makedirs("/" + d)
        up = os.path.join(scratch, "ov", d)
        work = os.path.join(scratch, "ov", d + ".work")
        os.makedirs(up)
        os.makedirs(work)
        sh("mount", "-t", "overlay", "overlay", "-o",
           "lowerdir=/%s,upperdir=%s,workdir=%s" % (d, up, work), "/" + d)
    sh("ip", "link", "set", "lo", "up")
    # Users and groups, as the installation makes them, and the operator.
    sh("useradd", "--system", "--home-dir", "/var/lib/bootd",
       "--shell", "/usr/sbin/nologin", "bootd")
    sh("groupadd", "--system", "bootadm")
    sh("groupadd", "lab")
    sh("useradd", "--create-home", "--home-dir", "/var/" + OPERATOR + "-home",
       "--user-group", "--groups", "lab", OPERATOR)
    # The installed layout.
    sh("install", "-d", "-o", "root", "-g", "root", "-m", "0755",
       "/var/lib/bootd", "/etc/bootd", "/srv/bootd", "/srv/bootd/images")
    sh("install", "-d", "-o", "bootd", "-g", "bootd", "-m", "0770",
       "/var/lib/bootd/db")
    os.chmod(scratch, 0o755)
    # The sources and the build, mounted where alice reaches them: the
    # checkout may sit below a directory closed to her (a clone in /root,
    # mode 0700), and every link into it would fail her.
    src, build = os.path.join(scratch, "src"), os.path.join(scratch, "build")
    for path, mnt in ((SOURCE_DIR, src), (BINARY_DIR, build)):
        os.makedirs(mnt)
        sh("mount", "--bind", path, mnt)
    # PATH: bootctl installed setgid bootd, bootd and build-ipxe.
    bindir = os.path.join(scratch, "bin")
    os.makedirs(bindir)
    os.chmod(bindir, 0o755)
    bootctl = os.path.join(bindir, "bootctl")
    shutil.copy(os.path.join(build, "tools", "bootctl"), bootctl)
    sh("chgrp", "bootd", bootctl)
    os.chmod(bootctl, 0o2755)
    os.symlink(os.path.join(build, "fcgi", "bootd"),
               os.path.join(bindir, "bootd"))
    os.symlink(os.path.join(src, "tools", "build-ipxe"),
               os.path.join(bindir, "build-ipxe"))
    # The clone: the tree's files linked, build/ the build under test.
    tree = os.path.join(scratch, "tree")
    os.makedirs(tree)
    for name in os.listdir(src):
        if name in ("build", "run", ".git") or name.startswith("build-"):
            continue
        os.symlink(os.path.join(src, name), os.path.join(tree, name))
    os.symlink(build, os.path.join(tree, "build"))
    sh("chown", "-h", "-R", OPERATOR + ":" + OPERATOR, tree)
    return src, bindir, tree


def run_world(spec_path):
    """Run one file's examples (child side, inside the namespaces)."""
    with open(spec_path) as f:
        spec = json.load(f)
    scratch = spec["scratch"]
    src, bindir, tree = make_world(scratch)
    env = {
        "PATH": bindir + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                "/sbin:/bin",
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "BOOTD_BINARY_DIR": os.path.join(tree, "build"),
        "BOOTD_SOURCE_DIR": src,
    }
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    state = {}
    for who, home in (("#", "/root"), ("$", "/var/" + OPERATOR + "-home")):
        d = os.path.join(scratch, "state" + ("-root" if who == "#" else ""))
        os.makedirs(d)
        with open(os.path.join(d, "cwd"), "w") as f:
            f.write(tree)
        with open(os.path.join(d, "umask"), "w") as f:
            f.write("0022")
        if who == "$":
            sh("chown", "-R", OPERATOR, d)
        state[who] = (d, home)
    for path, content in spec["files"]:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(content)
    results = []
    background = []
    server = []
    for ex in spec["examples"]:
        if any(m.startswith("not run") for m in ex["marks"]):
            results.append({"where": ex["where"], "status": "marked"})
            continue
        if SERVER_MARK in ex["marks"] and not server:
            server.append(run_one(
                {"where": ex["where"] + " (server)", "prompt": "#",
                 "command": SERVER_COMMAND, "output": [],
                 "marks": ['background until "Ctrl-C stops"']},
                env, state, background))
            if server[0]["status"] != "ran":
                results.append(server[0])
                continue
        results.append(run_one(ex, env, state, background))
    for proc, ex, seen in background:
        os.killpg(proc.pid, signal.SIGINT)     # Ctrl-C: its process group
        try:
            proc.wait(timeout=EXAMPLE_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out = "".join(seen)
        if proc.returncode != 0:
            results.append({"where": ex["where"], "status": "failed",
                            "why": "exited %d after Ctrl-C:\n%s" %
                            (proc.returncode, tail(out))})
    with open(spec["result"], "w") as f:
        json.dump(results, f)


WRAPPER = r'''
cd -- "$(cat "$1/cwd")" || exit 125
umask "$(cat "$1/umask")"
eval "$2"
rc=$?
pwd > "$1/cwd"
umask > "$1/umask"
exit $rc
'''


def argv_for(ex, state):
    d, home = state[ex["prompt"]]
    argv = ["bash", "-c", WRAPPER, "example", d, ex["command"]]
    if ex["prompt"] == "$":
        argv = ["setpriv", "--reuid", OPERATOR, "--regid", OPERATOR,
                "--init-groups"] + argv
    return argv, home


def tail(out, n=25):
    lines = (out or "").rstrip("\n").split("\n")
    return "\n".join("    | " + x for x in lines[-n:])


def run_one(ex, env, state, background):
    argv, home = argv_for(ex, state)
    e = dict(env, HOME=home,
             USER=OPERATOR if ex["prompt"] == "$" else "root")
    want = 0
    for m in ex["marks"]:
        if m.startswith("exit "):
            want = int(m[5:])
    bg = [m for m in ex["marks"] if m.startswith("background")]
    if bg:
        pattern = re.compile(re.match(r'background until "(.*)"',
                                      bg[0]).group(1))
        proc = subprocess.Popen(argv, env=e, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        seen = []
        # Not ready in time: its process group is killed, which ends the
        # reading below.
        watchdog = threading.Timer(EXAMPLE_TIMEOUT, os.killpg,
                                   (proc.pid, signal.SIGKILL))
        watchdog.start()
        while True:
            line = proc.stdout.readline()
            if not line or pattern.search(line):
                break
            seen.append(line)
        watchdog.cancel()
        if not line:
            proc.wait()
            return {"where": ex["where"], "status": "failed",
                    "why": "exited %s before printing /%s/ (or ran over "
                    "%d s):\n%s" % (proc.returncode, pattern.pattern,
                                    EXAMPLE_TIMEOUT, tail("".join(seen)))}
        # Keep reading its output so that it never blocks on a full pipe.
        t = threading.Thread(target=lambda: seen.extend(proc.stdout),
                             daemon=True)
        t.start()
        background.append((proc, ex, seen))
        return {"where": ex["where"], "status": "ran"}
    status, out = run_on_terminal(argv, e)
    if status is None:
        return {"where": ex["where"], "status": "failed",
                "why": "still running after %d s:\n%s" %
                (EXAMPLE_TIMEOUT, tail(out))}
    if status != want:
        return {"where": ex["where"], "status": "failed",
                "why": "exit status %d, documented %d:\n%s" %
                (status, want, tail(out))}
    if ex["output"] and not output_matches(ex["output"], out):
        return {"where": ex["where"], "status": "failed",
                "why": "output differs from the documented one:\n"
                "  documented:\n%s\n  printed:\n%s" %
                (tail("\n".join(ex["output"]), 60), tail(out, 60))}
    return {"where": ex["where"], "status": "ran"}


def run_on_terminal(argv, env):
    """Run argv with stdout and stderr on a pseudo-terminal, as typed at a
    shell (curl shows no progress meter there, for one).  Returns (exit
    status or None when it ran too long, what the terminal showed)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave,
                            start_new_session=True)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + EXAMPLE_TIMEOUT
    exited = False
    while True:
        # Once it has exited, read what is left; a daemon it started may
        # hold the terminal open, so stop when nothing more comes.
        ready, _, _ = select.select([master], [], [],
                                    0.2 if exited else 1.0)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:         # EIO: every writer has closed it
                data = b""
            if data:
                chunks.append(data)
                continue
            if exited:
                break
        if exited:
            break
        if proc.poll() is not None:
            exited = True
        elif time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            os.close(master)
            return None, b"".join(chunks).decode("utf-8", "replace")
    os.close(master)
    text = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    return proc.returncode, text


def output_matches(want, got):
    got = [g.rstrip() for g in got.rstrip("\n").split("\n")]
    return match_lines(want, 0, got, 0)


def match_lines(want, i, got, j):
    if i == len(want):
        return j == len(got)
    if want[i] in ("...", "\u2026"):
        return any(match_lines(want, i + 1, got, k)
                   for k in range(j, len(got) + 1))
    return j < len(got) and want[i] == got[j] and \
        match_lines(want, i + 1, got, j + 1)


# ---------------------------------------------------------------------------

def documents(argv):
    if argv:
        return [os.path.abspath(a) for a in argv]
    doc = os.path.join(SOURCE_DIR, "doc")
    pages = sorted(os.path.join(doc, f) for f in os.listdir(doc)
                   if re.search(r"\.[1-9]$", f))
    md = [os.path.join(SOURCE_DIR, "README.md")] + sorted(
        os.path.join(doc, f) for f in os.listdir(doc) if f.endswith(".md"))
    return pages + md


def harness_default():
    """README.md says the Python tests default to build/ of their own tree:
    tests/harness.py, imported from elsewhere with no BOOTD_BINARY_DIR,
    must name SOURCE_DIR/build.  Returns the number of failures."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("BOOTD_BINARY_DIR", "BOOTD_SOURCE_DIR")}
    r = subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]);"
         " import harness; print(harness.BINARY_DIR)",
         os.path.join(SOURCE_DIR, "tests")],
        cwd="/", env=env, capture_output=True, text=True)
    want = os.path.join(SOURCE_DIR, "build")
    if r.stdout.strip() != want:
        print("FAIL tests/harness.py: BOOTD_BINARY_DIR defaults to '%s', "
              "not '%s' (README.md, Tests)" % (r.stdout.strip(), want))
        return 1
    print("tests/harness.py: binaries default to build/ of its own tree")
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "--world":
        run_world(argv[2])
        return 0
    if os.environ.get("BOOTD_SANITIZE") == "1":
        # bootctl runs setgid here, as installed, and LeakSanitizer dies
        # in a setgid (non-dumpable) process.  The examples are about the
        # documentation: the plain build runs them.
        print("SKIP: setgid bootctl does not run under LeakSanitizer; the "
              "plain build runs the examples")
        return 77
    if os.geteuid() != 0:
        print("SKIP: the examples run as root and as a throw-away user "
              "(setpriv, unshare): run this as root")
        return 77
    for prog in ("mandoc", "unshare", "setpriv", "nginx"):
        if shutil.which(prog) is None:
            print("SKIP: %s is not installed" % prog)
            return 77
    for b in ("fcgi/bootd", "tools/bootctl"):
        if not os.access(os.path.join(BINARY_DIR, b), os.X_OK):
            print("FAIL: %s/%s was not built" % (BINARY_DIR, b))
            return 1
    started = time.monotonic()
    failures = 0 if argv[1:] else harness_default()
    totals = [0, 0]
    for path in documents(argv[1:]):
        rel = os.path.relpath(path, SOURCE_DIR)
        try:
            if re.search(r"\.[1-9]$", path):
                examples, files = man_examples(path)
            else:
                examples = markdown_examples(path)
                files = []
        except DocError as e:
            print("FAIL %s" % str(e).replace(path, rel))
            failures += 1
            continue
        for ex in examples:
            ex.where = ex.where.replace(path, rel)
        if not examples:
            print("%s: no examples" % rel)
            continue
        scratch = tempfile.mkdtemp(prefix="bootd-examples-")
        try:
            spec = {
                "scratch": scratch,
                "result": os.path.join(scratch, "result.json"),
                "examples": [e.to_json() for e in examples],
                "files": [[p, c] for p, c in files],
            }
            spec_path = os.path.join(scratch, "spec.json")
            with open(spec_path, "w") as f:
                json.dump(spec, f)
            # A PID namespace too: whatever an example leaves running
            # ends with the world.
            r = subprocess.run(
                ["unshare", "--mount", "--net", "--pid", "--fork",
                 "--mount-proc", "--propagation", "private",
                 sys.executable, os.path.abspath(__file__), "--world",
                 spec_path], capture_output=True, text=True)
            if r.returncode != 0 or not os.path.exists(spec["result"]):
                print("FAIL %s: the world did not run (exit %d):\n%s" %
                      (rel, r.returncode, tail(r.stdout + r.stderr)))
                failures += 1
                continue
            with open(spec["result"]) as f:
                results = json.load(f)
        finally:
            # The overlays' upper directories hold root's files: remove all.
            subprocess.run(["rm", "-rf", "--one-file-system", scratch])
        ran = sum(1 for x in results if x["status"] == "ran")
        marked = sum(1 for x in results if x["status"] == "marked")
        bad = [x for x in results if x["status"] == "failed"]
        totals[0] += ran
        totals[1] += marked
        print("%s: %d examples ran, %d marked not run%s" %
              (rel, ran, marked, ", %d FAILED" % len(bad) if bad else ""))
        for x in bad:
            print("FAIL %s: %s" % (x["where"], x["why"]))
        failures += len(bad)
    print("all: %d examples ran, %d marked not run, %d failed, %.0f s" %
          (totals[0], totals[1], failures, time.monotonic() - started))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
