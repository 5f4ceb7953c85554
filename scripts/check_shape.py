#!/usr/bin/env python3
"""check_shape.py — the house limits on the code's shape, checked, not hoped.

Usage: check_shape.py SRCDIR [OBJDIR...]

  - no source file in src/ or tools/ over 600 lines;
  - no function over 80 lines (from its opening line to its closing brace);
  - no cycle of #include "..." between files of one directory;
  - no cycle of calls between files: with object directories given, the
    defined (T/D/B/R) and undefined (U) symbols of each .o say which file
    calls which; a cycle among them fails the check.

Prints every violation and exits 1 if there is one, else 0.
"""
import os
import re
import subprocess
import sys

MAX_FILE_LINES = 600
MAX_FUNC_LINES = 80
DIRS = ("src", "tools")
# A function definition starts at column 0 with a type and a name followed by
# "(", and its body opens with "{" at the end of that line (or of the
# parameter lines that follow) and closes with "}" at column 0.
FUNC_START = re.compile(r"^[A-Za-z_][\w \*]*?\b(\w+)\s*\(")


def sources(root):
    for d in DIRS:
        base = os.path.join(root, d)
        if not os.path.isdir(base):
            continue
        for name in sorted(os.listdir(base)):
            if name.endswith((".c", ".h")):
                yield os.path.join(d, name), os.path.join(base, name)


def long_functions(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    out, i = [], 0
    while i < len(lines):
        m = FUNC_START.match(lines[i])
        if m and not lines[i].startswith(("typedef", "static inline", "#")) and not lines[i].rstrip().endswith(";"):
            # Find the line that opens the body, then the "}" at column 0.
            j = i
            while j < len(lines) and not lines[j].rstrip().endswith("{") and not lines[j].rstrip().endswith(";"):
                j += 1
            if j < len(lines) and lines[j].rstrip().endswith("{"):
                k = j + 1
                while k < len(lines) and not lines[k].startswith("}"):
                    k += 1
                n = k - i + 1
                if n > MAX_FUNC_LINES:
                    out.append((m.group(1), i + 1, n))
                i = k + 1
                continue
        i += 1
    return out


def find_cycle(graph):
    """A list of nodes forming a cycle in `graph` (dict of sets), or None."""
    state, stack = {}, []

    def visit(v):
        state[v] = 1
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if state.get(w) == 1:
                return stack[stack.index(w):] + [w]
            if w not in state:
                c = visit(w)
                if c:
                    return c
        stack.pop()
        state[v] = 2
        return None

    for v in sorted(graph):
        if v not in state:
            c = visit(v)
            if c:
                return c
    return None


def include_graph(root):
    graph = {}
    inc = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
    for rel, path in sources(root):
        d = os.path.dirname(rel)
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = inc.match(line)
                if m and os.path.exists(os.path.join(root, d, m.group(1))):
                    graph.setdefault(rel, set()).add(os.path.join(d, m.group(1)))
    return graph


def call_graph(objdirs):
    defined, used, units = {}, {}, {}
    for od in objdirs:
        for dirpath, _, names in os.walk(od):
            for name in names:
                if not name.endswith(".o"):
                    continue
                # Named by target and source (tools/resume.c is not src/resume.c).
                target = os.path.basename(os.path.normpath(od)).replace(".dir", "")
                units[os.path.join(dirpath, name)] = target + ":" + re.sub(r"\.c\.o$|\.o$", ".c", name)
    # One nm for every object (one process each cost ~0.2 s apiece on a busy
    # machine): it heads each object's symbols with a "PATH:" line.
    out = subprocess.run(["nm"] + sorted(units), capture_output=True, text=True).stdout if units else ""
    unit = None
    for line in out.splitlines():
        if line.endswith(":") and line[:-1] in units:
            unit = units[line[:-1]]
            continue
        parts = line.split()
        if unit is None:
            continue
        if len(parts) == 2 and parts[0] == "U":
            used.setdefault(unit, set()).add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBR":
            defined[parts[2]] = unit
    graph = {}
    for unit, syms in used.items():
        for s in syms:
            callee = defined.get(s)
            if callee and callee != unit:
                graph.setdefault(unit, set()).add(callee)
    return graph


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    root, objdirs, bad = argv[1], argv[2:], 0
    for rel, path in sources(root):
        with open(path, encoding="utf-8", errors="replace") as f:
            n = sum(1 for _ in f)
        if n > MAX_FILE_LINES:
            print(f"{rel}: {n} lines (at most {MAX_FILE_LINES})")
            bad += 1
        for name, line, length in long_functions(path):
            print(f"{rel}:{line}: function {name} is {length} lines (at most {MAX_FUNC_LINES})")
            bad += 1
    cycle = find_cycle(include_graph(root))
    if cycle:
        print("include cycle: " + " -> ".join(cycle))
        bad += 1
    if objdirs:
        cycle = find_cycle(call_graph(objdirs))
        if cycle:
            print("call cycle between files: " + " -> ".join(cycle))
            bad += 1
    print(f"check_shape: {bad} problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
