#!/bin/sh
# tests/tools/install.sh BUILD_DIR CMAKE: `cmake --install` puts mpipool-run
# and its man page in the prefix, and the installed binary runs from there.
set -u
build=$1; cmake=$2
prefix=$(mktemp -d "${TMPDIR:-/tmp}/mpipool-run-install.XXXXXX")
trap 'rm -rf "$prefix"' EXIT
"$cmake" --install "$build" --prefix "$prefix" >/dev/null || { echo "install failed"; exit 1; }
[ -x "$prefix/bin/mpipool-run" ] || { echo "no bin/mpipool-run"; exit 1; }
[ -f "$prefix/share/man/man1/mpipool-run.1" ] || { echo "no share/man/man1/mpipool-run.1"; exit 1; }
grep -q '^\.TH MPIPOOL-RUN 1' "$prefix/share/man/man1/mpipool-run.1" || { echo "not a man page"; exit 1; }
out=$(timeout 30 "$prefix/bin/mpipool-run" --version) || { echo "installed binary does not run"; exit 1; }
case $out in "mpipool-run (mpipool) "*) ;; *) echo "unexpected --version: $out"; exit 1 ;; esac
echo "installed: $prefix/bin/mpipool-run, $prefix/share/man/man1/mpipool-run.1"
