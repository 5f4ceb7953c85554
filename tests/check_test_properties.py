#!/usr/bin/env python3
"""check_test_properties.py CTEST BUILD - every CTest test of this build has
a TIMEOUT, and every test outside the labels "unit" and "fuzz" (which start
no MPI process) runs under tests/contain.sh, which bounds it and fails it if
it leaves a process behind.

(It was a CMake script: string(JSON) parses the whole listing again on every
lookup, ~15-50 s for 260 tests on 2 busy cores; this reads it once.)"""
import json
import subprocess
import sys


def main(argv):
    ctest, build = argv[1], argv[2]
    run = subprocess.run([ctest, "--show-only=json-v1"], cwd=build, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit("ctest --show-only=json-v1 failed:\n" + run.stderr)
    tests = json.loads(run.stdout)["tests"]
    bad = []
    for t in tests:
        props = {p["name"]: p["value"] for p in t.get("properties", [])}
        timeout = props.get("TIMEOUT")
        labels = props.get("LABELS", [])
        if isinstance(labels, str):
            labels = [labels]
        cmd = t.get("command") or [""]
        if timeout is None or float(timeout) <= 0:
            bad.append("%s: no TIMEOUT" % t["name"])
        if not {"unit", "fuzz"} & set(labels) and not cmd[0].endswith("/contain.sh"):
            bad.append("%s: not run under tests/contain.sh (command: %s)" % (t["name"], cmd[0]))
    if bad:
        sys.exit("test properties:\n  " + "\n  ".join(bad))
    print("%d tests: every one has a TIMEOUT; every MPI one runs under contain.sh" % len(tests))


if __name__ == "__main__":
    main(sys.argv)
