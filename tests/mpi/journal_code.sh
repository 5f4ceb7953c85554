#!/usr/bin/env bash
# journal_code.sh PROG REBUILT WORKDIR NRANKS LAUNCH...
#
# A journal is bound to the code that wrote it (issue 21, item 5).  PROG and
# REBUILT are journal_prog from the same source with different GNU build
# ids (what a rebuild after a code change gives).  Checks:
#   1. REBUILT refuses PROG's journal with MPIPOOL_EJOURNAL, naming both
#      build ids as `readelf -n` shows them and the way out, before any
#      item runs, leaving the journal as it was;
#   2. with MPIPOOL_JOURNAL_CODE=build-id:<PROG's id> (what the message
#      advises) REBUILT resumes it: output identical to a clean run's, no
#      journalled item runs again;
#   3. MPIPOOL_JOURNAL_CODE=<a name> on both sides: equal resumes, different
#      is refused;
#   4. an executable without a build id (objcopy'd) is identified by its
#      size and mtime: it resumes its own journal, and refuses it once
#      touched.
set -u
prog=$1 rebuilt=$2 work=$3 np=$4
shift 4
launch=("$@")

fail() { echo "journal_code[np$np]: FAILED: $*" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"
ulimit -c 0 # abort() must not leave core files
N=200
common=(--n $N --chunk 8)
build_id() { readelf -n "$1" | sed -n 's/^ *Build ID: *//p'; }
ida=$(build_id "$prog") idb=$(build_id "$rebuilt")
[ -n "$ida" ] && [ -n "$idb" ] || fail "no build id in $prog or $rebuilt (readelf -n)"
[ "$ida" != "$idb" ] || fail "both programs have build id $ida"
echo "build ids: $ida (prog), $idb (rebuilt)"

# run NAME PROGRAM [ENV...] -- ARGS...: one run, its log in $work/NAME.log,
# its tasks' executions in $work/NAME/exec.*; sets rc.
run() {
  local name=$1 p=$2
  shift 2
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" "${launch[@]}" "$p" "${common[@]}" --dir "$work/$name" --out "$work/$name.out" "$@" \
    >"$work/$name.log" 2>&1
  rc=$?
  echo "$name: exit status $rc"
}
ran() { cat "$work/$1"/exec.* 2>/dev/null | wc -l; }
refused() { # NAME TEXT...: the run failed with EJOURNAL's message, running nothing
  local name=$1 t
  shift
  [ "$rc" -ne 0 ] || fail "$name: exit status 0, expected a refusal"
  for t in "$@"; do
    grep -qF -- "$t" "$work/$name.log" || { cat "$work/$name.log"; fail "$name: no \"$t\" in the message"; }
  done
  [ "$(ran "$name")" -eq 0 ] || fail "$name: $(ran "$name") items ran"
}
resumed() { # NAME JOURNALLED-LIST: clean output, nothing journalled ran again
  [ "$rc" -eq 0 ] || { cat "$work/$1.log"; fail "$1: failed"; }
  cmp "$work/clean.out" "$work/$1.out" || fail "$1: output differs from the clean run's"
  cat "$work/$1"/exec.* 2>/dev/null | sort >"$work/$1.ran"
  [ "$(comm -12 "$2" "$work/$1.ran" | wc -l)" -eq 0 ] || fail "$1: journalled items ran again"
}

run clean "$prog" -- --journal ""
[ "$rc" -eq 0 ] || { cat "$work/clean.log"; fail "the clean run failed"; }

# 1. PROG dies part way (a task aborts); REBUILT refuses its journal.
J=$work/j1
run r1 "$prog" -- --journal "$J" --abort-at 150
[ "$rc" -ne 0 ] || fail "r1: the run meant to die exited 0"
"$prog" --dump "$J" | sort >"$work/j1.items" || fail "j1 is unreadable"
size=$(stat -c %s "$J")
run r2 "$rebuilt" -- --journal "$J"
refused r2 "journal '$J' was written by another build of the program (build id $ida; this run: build id $idb)" \
  "set MPIPOOL_JOURNAL_CODE='build-id:$ida' to resume it"
[ "$(stat -c %s "$J")" -eq "$size" ] || fail "r2: the refused journal changed"
# 2. ... unless told, as the message says.
run r3 "$rebuilt" MPIPOOL_JOURNAL_CODE="build-id:$ida" -- --journal "$J"
resumed r3 "$work/j1.items"
echo "resumed with the override: $(wc -l <"$work/j1.items") items from the journal, $(ran r3) ran"

# 3. A name of the user's own.
J=$work/j2
run n1 "$prog" MPIPOOL_JOURNAL_CODE=mysim-1 -- --journal "$J"
[ "$rc" -eq 0 ] || { cat "$work/n1.log"; fail "n1 failed"; }
"$prog" --dump "$J" | sort >"$work/j2.items"
run n2 "$rebuilt" MPIPOOL_JOURNAL_CODE=mysim-1 -- --journal "$J"
resumed n2 "$work/j2.items"
[ "$(ran n2)" -eq 0 ] || fail "n2: $(ran n2) items ran, the journal had them all"
run n3 "$rebuilt" MPIPOOL_JOURNAL_CODE=mysim-2 -- --journal "$J"
refused n3 "(MPIPOOL_JOURNAL_CODE 'mysim-1'; this run: MPIPOOL_JOURNAL_CODE 'mysim-2')"

# 4. No build id: size and mtime of the executable.
nobid=$work/prog_nobid
objcopy --remove-section .note.gnu.build-id "$prog" "$nobid" || fail "objcopy failed"
[ -z "$(build_id "$nobid")" ] || fail "objcopy left a build id"
J=$work/j3
run e1 "$nobid" -- --journal "$J"
[ "$rc" -eq 0 ] || { cat "$work/e1.log"; fail "e1 failed"; }
"$prog" --dump "$J" | sort >"$work/j3.items"
run e2 "$nobid" -- --journal "$J"
resumed e2 "$work/j3.items"
touch -d '2001-02-03 04:05:06 UTC' "$nobid"
run e3 "$nobid" -- --journal "$J"
refused e3 "journal '$J' was written by another build of the program (the executable of $(stat -c %s "$nobid") bytes modified" \
  "this run: the executable of $(stat -c %s "$nobid") bytes modified 2001-02-03 04:05:06.000000000 UTC"
echo "journal_code[np$np]: passed"
