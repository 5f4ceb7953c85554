#!/usr/bin/env python3
"""gen_lines_big.py TEXT EXPECTED - the imap_lines test's big input (20,000
lines of varying length, no two alike) and the output the example must
print for it: each line's length and the line in upper case.  (Python, not
a CMake loop: the loop took ~25 s of every configure.)"""
import sys

text, want = [], []
for i in range(1, 20001):
    line = "line %d x%s" % (i, "ab" * (i % 23))
    text.append(line + "\n")
    want.append("%d %s\n" % (len(line), line.upper()))
with open(sys.argv[1], "w") as f:
    f.write("".join(text))
with open(sys.argv[2], "w") as f:
    f.write("".join(want))
