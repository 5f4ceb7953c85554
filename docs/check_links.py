#!/usr/bin/env python3
"""check_links.py — every relative link in README.md and docs/*.md resolves.

    python3 docs/check_links.py [SOURCE_DIR]

A link resolves when the file or directory it names exists (relative to the
page that holds it) and, if it has a #fragment into a Markdown file, that
file has a heading whose GitHub anchor is the fragment.  Links to the web
(http:, https:, mailto:) are not followed.  Prints one line per broken link
and exits 1 if there is any; CTest runs it as the test "docs_links".
"""
import os
import re
import sys

# Pages other engineers are writing on their own branches at the same time;
# until they land, a link to one is reported but does not fail the check.
# Once a page exists it is checked like any other.  Empty this set when
# they have landed.
PENDING = set()  # pages another branch is still writing; none now

LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^\s*(```|~~~)")


def prose_lines(path):
    """The lines of a Markdown file outside fenced code blocks."""
    inside = False
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if FENCE.match(line):
                inside = not inside
                continue
            if not inside:
                yield number, line


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped,
    spaces to hyphens (inline code and emphasis markers dropped too)."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path, cache={}):
    if path not in cache:
        found, seen = set(), {}
        for _, line in prose_lines(path):
            m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
            if not m:
                continue
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else "%s-%d" % (base, n))
        cache[path] = found
    return cache[path]


def strip_code_spans(line):
    return re.sub(r"`[^`]*`", "", line)


def check(root):
    pages = [os.path.join(root, "README.md")]
    docs = os.path.join(root, "docs")
    pages += sorted(os.path.join(docs, p) for p in os.listdir(docs) if p.endswith(".md"))
    broken, pending, checked = [], [], 0
    for page in pages:
        rel_page = os.path.relpath(page, root)
        for number, line in prose_lines(page):
            for target in LINK.findall(strip_code_spans(line)):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
                    continue
                checked += 1
                path, _, fragment = target.partition("#")
                dest = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
                rel_dest = os.path.relpath(dest, root)
                where = "%s:%d: %s" % (rel_page, number, target)
                if not os.path.exists(dest):
                    (pending if rel_dest in PENDING else broken).append(where)
                elif fragment and dest.endswith(".md") and fragment not in anchors(dest):
                    broken.append(where + " (no heading with that anchor)")
    for p in pending:
        print("pending (another branch is writing it): " + p)
    for b in broken:
        print("broken: " + b)
    print("%d relative links in %d pages, %d broken, %d to pending pages"
          % (checked, len(pages), len(broken), len(pending)))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(check(sys.argv[1] if len(sys.argv) > 1 else
                   os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")))
