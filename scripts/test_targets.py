#!/usr/bin/env python3
"""test_targets.py BUILD_DIR [CTEST ARGS...] - the CMake targets that the
tests ctest would select with CTEST ARGS need: every target whose artifact
(a program, a library) or object directory (CMakeFiles/NAME.dir) appears in
a selected test's command, printed one per line.  scripts/test.sh builds
only these in the sanitizer stages, which run a subset of the tests: the
rest of the project (the static library, the task farm, the programs of the
shell scenarios left to the plain suites) would be compiled with the
sanitizer and never run.  Building a target builds what it links.

BUILD_DIR must have been configured with a CMake file-API query for the
codemodel (scripts/test.sh writes it before configuring):
    BUILD_DIR/.cmake/api/v1/query/codemodel-v2
A test whose program is not among them fails loudly (ctest: not found, or
its script's own check), never passes unbuilt.  Exit status 1, with a
message, if the reply is missing."""
import glob
import json
import os
import re
import subprocess
import sys


def targets_by_path(build):
    replies = sorted(glob.glob(os.path.join(build, ".cmake/api/v1/reply/index-*.json")))
    if not replies:
        sys.exit("test_targets.py: no CMake file-API reply in %s (configure with the codemodel query)" % build)
    reply_dir = os.path.dirname(replies[-1])
    index = json.load(open(replies[-1]))
    model = next(o for o in index["objects"] if o["kind"] == "codemodel")
    codemodel = json.load(open(os.path.join(reply_dir, model["jsonFile"])))
    paths = {}
    for config in codemodel["configurations"]:
        for t in config["targets"]:
            target = json.load(open(os.path.join(reply_dir, t["jsonFile"])))
            name = target["name"]
            for a in target.get("artifacts", []):
                p = a["path"]
                paths[os.path.normpath(p if os.path.isabs(p) else os.path.join(build, p))] = name
            # Object directories: <dir of the target's CMakeLists>/CMakeFiles/<name>.dir
            src_build_dir = target.get("paths", {}).get("build", ".")
            paths[os.path.normpath(os.path.join(build, src_build_dir, "CMakeFiles", name + ".dir"))] = name
    return paths


def test_commands(build):
    """Every test's command, from the CTestTestfile.cmake files CMake wrote
    (ctest's own listing leaves out the command of a program not built yet)."""
    cmds = {}
    pattern = re.compile(r'^add_test\((\[=\[.*?\]=\]|\S+) (.*)\)$')
    for f in glob.glob(os.path.join(build, "**", "CTestTestfile.cmake"), recursive=True):
        for line in open(f):
            m = pattern.match(line.strip())
            if m:
                name = m.group(1)
                if name.startswith("[=["):
                    name = name[3:-3]
                cmds[name] = re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(2))
    return cmds


def main(argv):
    build = os.path.abspath(argv[1])
    paths = targets_by_path(build)
    cmds = test_commands(build)
    run = subprocess.run(["ctest", "-N"] + argv[2:], cwd=build, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit("test_targets.py: ctest -N failed:\n" + run.stderr)
    wanted = set()
    for name in re.findall(r"^\s*Test\s+#\d+: (\S+)$", run.stdout, re.M):
        if name not in cmds:
            sys.exit("test_targets.py: no command found for test %s" % name)
        for word in cmds[name]:
            for part in word.replace("|", " ").replace("=", " ").replace(";", " ").split():
                p = os.path.normpath(part)
                while p not in paths and re.search(r"\.so(\.\d+)+$", p):
                    p = p[:p.rindex(".")]  # libmpipool.so.0.1.0 is the artifact libmpipool.so
                if p in paths:
                    wanted.add(paths[p])
    print("\n".join(sorted(wanted)))


if __name__ == "__main__":
    main(sys.argv)
