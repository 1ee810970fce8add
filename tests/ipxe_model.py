"""ipxe_model.py - a model of the iPXE script language for the tests

    from ipxe_model import Machine

    m = Machine(script, {"dhcp": lambda args: False}, platform="efi")
    m.run()
    m.end       # "exit", "sanboot", "shell", "loop", "script failed at: ..."
    m.trace     # the commands run, settings expanded

Enough of image/script.c and core/exec.c for the scripts bootd and
tools/build-ipxe write: labels, goto, && and ||, a failing line ends the
script, ${name} settings.  Reading a script as iPXE splits it (and what a
script may contain) is tests/ipxe_check.c's part; this one runs it.
"""

import re


class Machine:
    """
    Runs a script the way iPXE's script.c/exec.c do: a line's commands
    joined by && and || (left to right, sh-like), a failing line ends the
    script, goto jumps to ":label".  Commands behave as `outcomes` says:
    a dict of command name -> callable(args) -> bool (success); "prompt"
    fails unless it says otherwise (nobody at the console: no key before
    the timeout), any other command succeeds.  Records the commands run;
    stops at "exit", "sanboot", "shell" when they succeed, or after
    max_steps (a loop).
    """

    TERMINAL = ("exit", "shell")

    def __init__(self, script, outcomes, max_steps=500, platform="pcbios"):
        self.lines = script.split("\n")
        self.outcomes = outcomes
        self.max_steps = max_steps
        self.trace = []
        self.vars = {"platform": platform}
        self.end = None

    def expand(self, tok):
        def sub(m):
            name = m.group(1).split(":")[0]
            return str(self.vars.get(name, ""))
        return re.sub(r"\$\{([^}]*)\}", sub, tok)

    def command(self, argv):
        name, args = argv[0], [self.expand(a) for a in argv[1:]]
        self.trace.append(" ".join([name] + args))
        if name == "goto":
            return ("goto", args[0])
        if name == "set":
            key = args[0].split(":")[0]
            self.vars[key] = int(args[1]) if ":int" in args[0] else args[1]
            return True
        if name == "inc":
            self.vars[args[0]] = int(self.vars.get(args[0], 0)) + 1
            return True
        if name == "iseq":
            return args[0] == args[1]
        if name in ("echo", "sleep"):
            return True
        ok = self.outcomes.get(name, lambda a: name != "prompt")(args)
        if ok and name in self.TERMINAL:
            return ("end", name)
        if ok and name == "sanboot":
            return ("end", "sanboot")
        return ok

    def run(self):
        pc = 0
        for _ in range(self.max_steps):
            if pc >= len(self.lines):
                self.end = "end of script"
                return self
            line = self.lines[pc].strip()
            pc += 1
            if not line or line.startswith("#") or line.startswith(":"):
                continue
            toks = line.split()
            # Split into commands and operators; evaluate left to right.
            status, op, cmd = None, None, []
            jump = None
            for t in toks + [None]:
                if t in ("&&", "||", None):
                    if cmd and (status is None or (op == "&&" and status)
                                or (op == "||" and not status)):
                        r = self.command(cmd)
                        if isinstance(r, tuple):
                            if r[0] == "goto":
                                jump = r[1]
                                break
                            self.end = r[1]
                            return self
                        status = r
                    elif not cmd and op == "||":
                        status = True	# trailing "||": ignore failure
                    op, cmd = t, []
                else:
                    cmd.append(t)
            if jump is not None:
                labels = [i for i, l in enumerate(self.lines)
                          if l.strip() == ":" + jump]
                if not labels:
                    self.end = "missing label " + jump
                    return self
                pc = labels[0] + 1
                continue
            if status is False:
                self.end = "script failed at: " + line
                return self
        self.end = "loop"
        return self
