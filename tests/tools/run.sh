#!/usr/bin/env bash
# tests/tools/run.sh — end-to-end tests of mpipool-run (CTest driver).
#
#   run.sh SCENARIO NRANKS MPIPOOL_RUN LAUNCH...
#
# Runs one scenario with `LAUNCH... -n NRANKS` style prefix given by CMake
# (mpipool_mpiexec_command), in a fresh temporary directory.  Every run is
# bounded with `timeout`; nothing waits on a sleep: a job that must be
# killed sleeps, and the job that signals a run does so itself.  Exit 0 =
# pass, 77 = skipped (GNU parallel missing), else fail with a message.
set -u
scenario=$1; n=$2; bin=$3; shift 3
launch=("$@")
work=$(mktemp -d "${TMPDIR:-/tmp}/mpipool-run-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
echo x > one

fails=0
fail() { echo "FAIL [$scenario np$n]: $*" >&2; fails=$((fails + 1)); }
check() { # check "description" command...: the command must succeed
  local what=$1; shift
  "$@" || fail "$what"
}
check_not() { # check_not "description" command...: the command must fail
  local what=$1; shift
  ! "$@" || fail "$what"
}
# mr [args...]: run mpipool-run on N ranks; stdout in out, stderr in err, status in $rc.
mr() {
  timeout -s KILL 60 "${launch[@]}" "$bin" "$@" >out 2>err
  rc=$?
  # Open MPI adds its own report of a non-zero exit to stderr: keep only ours.
  grep -v -e '^---' -e '^Primary job' -e 'non-zero' -e 'Process name' -e 'Exit code:' \
          -e 'the job to be' -e 'a non-zero exit code' -e 'Per user-direction' err > err.ours || true
}
# alive PID: the process exists and is not a zombie (a killed child may stay
# a zombie for a moment until whoever adopted it reaps it).
alive() { [ -r "/proc/$1/stat" ] && ! sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | grep -q '^[ZX]'; }
lines() { grep -c '^[0-9]' "$1"; } # joblog entries (not the header)
col() { awk -F'\t' -v s="$2" -v c="$3" '$1 == s { print $c }' "$1" | tail -n 1; } # col LOG SEQ COLUMN
expect_rc() { [ "$rc" = "$1" ] || { fail "exit status $rc, expected $1"; sed 's/^/  | /' err >&2; }; }
only_ours() { # every diagnostic line starts with mpipool-run:
  ! grep -v '^mpipool-run: ' err.ours | grep -q . || { fail "a diagnostic without the mpipool-run: prefix"; cat err.ours >&2; }
}

case $scenario in

parallel_compat) # -k output byte-identical to GNU parallel -k, several templates
  command -v parallel >/dev/null || { echo "GNU parallel is not installed: skipped"; exit 77; }
  printf '%s\n' 'plain' 'two words' 'dir/file.txt' '/abs/path/arch.tar.gz' 'dir.d/noext' \
    '' 'trailing/' "it's" '$HOME' 'a"b' 'back\slash' '*glob*' 'tab	here' '  lead' '.hidden' \
    'x;echo injected' 'ünï' "'lead" "trail'" > in
  for t in 'echo' 'echo {}' 'echo {.}' 'echo {/}' 'echo {//}' 'echo {/.}' 'echo {#} {}' \
           'printf %s\\n {} {.} {/} {//} {/.}' 'echo {} >&2; echo out {#}'; do
    # shellcheck disable=SC2086
    PARALLEL_SHELL=/bin/sh timeout 60 parallel -k --joblog jl.par $t < in > want 2>/dev/null
    # shellcheck disable=SC2086
    mr -k --joblog jl.mr $t < in
    expect_rc 0
    cmp -s out want || { fail "'$t': output differs from parallel -k"; diff want out | head >&2; }
    # The very commands (quoting included) are parallel's: compare the joblogs'
    # Seq and Command columns.
    tail -n +2 jl.par | cut -f1,9- | sort -n > cmds.par
    tail -n +2 jl.mr | cut -f1,9- | sort -n > cmds.mr
    cmp -s cmds.mr cmds.par || { fail "'$t': commands differ from parallel's"; diff cmds.par cmds.mr | head >&2; }
  done
  # --tag, and launcher style (each line a command)
  PARALLEL_SHELL=/bin/sh timeout 60 parallel -k --tag 'printf "l1\nl2"' < in > want 2>/dev/null
  mr -k --tag 'printf "l1\nl2"' < in
  cmp -s out want || { fail "--tag output differs from parallel -k --tag"; diff want out | head >&2; }
  printf '%s\n' 'echo one' 'echo two; echo three' '' 'printf "no newline"' 'echo $((6*7))' > cmds
  PARALLEL_SHELL=/bin/sh timeout 60 parallel -k < cmds > want 2>/dev/null
  mr -k < cmds
  expect_rc 0
  cmp -s out want || { fail "launcher-style output differs from parallel -k"; diff want out | head >&2; }
  ;;

parallel_resume) # parallel --resume / --resume-failed read our joblog, and we read theirs
  command -v parallel >/dev/null || { echo "GNU parallel is not installed: skipped"; exit 77; }
  seq 1 12 > in
  # Odd numbers fail until the file "pass" exists.  $WHO says who ran a job.
  t='echo {} >> ran.$WHO; test -e pass || exit $(( {} % 2 ))'
  export WHO=mr
  mr -a in --joblog jl "$t"
  expect_rc 6
  check "12 jobs logged" [ "$(lines jl)" = 12 ]
  touch pass
  export WHO=par
  PARALLEL_SHELL=/bin/sh timeout 60 parallel --resume --joblog jl "$t" < in
  check "parallel --resume on our joblog ran nothing" [ ! -e ran.par ]
  PARALLEL_SHELL=/bin/sh timeout 60 parallel --resume-failed --joblog jl "$t" < in
  check "parallel --resume-failed on our joblog reran the 6 failed jobs" \
    [ "$(sort -n ran.par 2>/dev/null | tr '\n' ' ')" = "1 3 5 7 9 11 " ]
  # parallel appended to our joblog with the same commands: we accept it.
  export WHO=mr2
  mr -a in --resume-failed --joblog jl "$t"
  expect_rc 0
  check "our --resume-failed on parallel's lines ran nothing" [ ! -e ran.mr2 ]
  ;;

exit_codes) # 0, the number failed, 101 past 100; a crash fails only its job
  printf '%s\n' 'exit 0' 'exit 3' 'kill -SEGV $$' 'kill -KILL $$' 'echo alive' 'exit 255' > in
  mr -a in -k --joblog jl
  expect_rc 4
  check "the job after the crashes ran" grep -qx alive out
  check "exit value 3 logged" [ "$(col jl 2 7)" = 3 ]
  check "SIGSEGV logged" [ "$(col jl 3 8)" = 11 ]
  check "SIGKILL logged" [ "$(col jl 4 8)" = 9 ]
  check "six jobs logged" [ "$(lines jl)" = 6 ]
  seq 1 102 > many
  mr -a many 'exit 1'
  expect_rc 101
  seq 1 100 > hundred
  mr -a hundred 'exit 1'
  expect_rc 100
  only_ours
  ;;

timeout) # --timeout kills the whole process group
  printf '%s\n' 'echo quick' 'sleep 300 & echo $! > bg.pid; sleep 300' 'echo after' > in
  mr -a in -k --timeout 2 --joblog jl
  expect_rc 1
  check "timed-out job logged with Exitval -1" [ "$(col jl 2 7)" = -1 ]
  check "timed-out job logged with signal 15 or 9" grep -qE '^(15|9)$' <(col jl 2 8)
  check "the other jobs ran" [ "$(tr '\n' ' ' < out)" = "quick after " ]
  if [ -s bg.pid ]; then
    check_not "the background child of the timed-out job was killed" alive "$(cat bg.pid)"
  else
    fail "the job did not record its background child"
  fi
  ;;

retry) # --retries N: N tries in all, on another rank where there is one
  seq 1 6 > in
  # Fails the first time (leaving a mark), succeeds the second; records its ranks.
  mr -a in -k --retries 2 --joblog jl \
    'echo $MPIPOOL_RANK >> ranks.{}; if [ -e mark.{} ]; then echo ok {}; else touch mark.{}; echo failing >&2; exit 1; fi'
  expect_rc 0
  check "every job succeeded on its second try" [ "$(tr '\n' ' ' < out)" = "ok 1 ok 2 ok 3 ok 4 ok 5 ok 6 " ]
  check "only the final tries are logged" [ "$(lines jl)" = 6 ]
  check_not "the failed tries' output is not printed" grep -q failing err
  for i in 1 2 3 4 5 6; do
    check "job $i ran twice" [ "$(wc -l < ranks.$i)" = 2 ]
    if [ "$n" -ge 3 ]; then
      check "job $i retried on another rank" [ "$(sort -u ranks.$i | wc -l)" = 2 ]
    fi
  done
  mr -a one --retries 3 'echo x >> tries; exit 7'
  expect_rc 1
  check "--retries 3 ran the job 3 times" [ "$(wc -l < tries)" = 3 ]
  ;;

halt) # --halt now / soon / never
  { echo 'exit 1'; for i in $(seq 2 12); do echo 'sleep 300'; done; } > in
  mr -a in --halt now,fail=1 --joblog jl
  expect_rc 1
  check "halt now: only the failure is logged" [ "$(lines jl)" = 1 ]
  check "halt now: says so" grep -q 'halting after 1 failed' err.ours
  { echo 'exit 1'; echo 'exit 2'; for i in $(seq 3 40); do echo 'echo x'; done; } > in2
  mr -a in2 --halt soon,fail=2 --joblog jl2
  expect_rc 2
  check "halt soon: both failures logged" [ "$(awk -F'\t' '$7 != 0' jl2 | grep -c '^[0-9]')" = 2 ]
  check "halt soon: jobs stopped being started" [ "$(lines jl2)" -lt 40 ]
  mr -a in2 --halt never
  expect_rc 2
  check "halt never: every job ran" [ "$(grep -c x out)" = 38 ]
  ;;

sigterm) # stopped by SIGTERM (here sent by a job to its own rank): resumable
  { for i in 1 2 3 4 5; do echo "echo job$i"; done
    echo 'if [ ! -e stopped ]; then touch stopped; kill -TERM $PPID; sleep 300; fi'
    for i in 7 8 9 10 11 12; do echo "echo job$i"; done; } > in
  mr -a in --joblog jl
  expect_rc 143
  check "says how to resume" grep -q 'resume' err.ours
  first=$(lines jl)
  check_not "the interrupted job is not logged" grep -q $'^6\t' jl
  cp out out1
  mr -a in --resume --joblog jl
  expect_rc 0
  check "after --resume every job is logged once" [ "$(cut -f1 jl | grep '^[0-9]' | sort -n | uniq | wc -l)" = 12 ]
  check "no job logged twice" [ "$(lines jl)" = 12 ]
  check "each job printed exactly once over both runs" \
    [ "$(cat out1 out | sort | tr '\n' ' ')" = "job1 job10 job11 job12 job2 job3 job4 job5 job7 job8 job9 " ]
  check "the resumed run skipped what the first finished" grep -q "$first skipped" err.ours
  ;;

launcher_term) # SIGTERM to the launcher (the batch system's way): joblog whole, resume finishes
  { for i in 1 2 3 4 5; do echo "echo job$i"; done
    echo 'if [ ! -e stopped ]; then touch stopped; kill -TERM $(cat launcher.pid); sleep 300; fi'
    for i in 7 8 9 10 11 12; do echo "echo job$i"; done; } > in
  mkfifo fifo
  timeout -s KILL 60 "${launch[@]}" "$bin" --joblog jl --results res -a fifo >out1 2>err &
  echo $! > launcher.pid # written before the input exists, so the job can read it
  timeout 60 sh -c 'cat in > fifo'
  wait "$(cat launcher.pid)"
  rc=$?
  # The launcher's own exit status is its choice (Open MPI's mpirun says 1,
  # MPICH's says 0 or 143), so only check that the farm stopped by itself,
  # long before `timeout` would have killed it, and left job 6 out.
  check "the farm stopped on SIGTERM (not killed by timeout)" [ "$rc" != 137 ]
  check_not "the interrupted job is not logged" grep -q $'^6\t' jl
  check "every joblog line is whole" awk -F'\t' 'NR > 1 && NF != 9 { exit 1 }' jl
  mr -a in --resume --joblog jl --results res
  expect_rc 0
  check "no job logged twice" [ "$(lines jl)" = 12 ]
  # What rank 0 wrote to stdout just before mpiexec died may die with
  # mpiexec (it forwards our stdout); the durable record of a job's output
  # is --results, written before its joblog line.  So: every job's output
  # is in --results, and no job was printed twice.
  check "every job's output is in --results after both runs" \
    [ "$(for i in 1 2 3 4 5 7 8 9 10 11 12; do cat res/$i/stdout; done | tr '\n' ' ')" = \
      "job1 job2 job3 job4 job5 job7 job8 job9 job10 job11 job12 " ]
  check "no job printed twice over both runs" [ -z "$(cat out1 out | sort | uniq -d)" ]
  ;;

resume) # --resume-failed, refusing a changed input, a torn last line
  printf '%s\n' a b c d > in
  mr -a in --joblog jl 'echo {} >> ran; [ {} != b ]'
  expect_rc 1
  rm -f ran
  mr -a in --resume-failed --joblog jl 'echo {} >> ran; [ {} != b ]'
  expect_rc 1
  check "--resume-failed reran only the failed job" [ "$(cat ran)" = b ]
  cp jl jl.before
  printf '%s\n' a B c d > in2
  mr -a in2 --resume --joblog jl 'echo {} >> ran; [ {} != b ]'
  expect_rc 255
  check "a changed input is refused" grep -q 'refusing to resume' err.ours
  check "the refused joblog is untouched" cmp -s jl jl.before
  mr -a in --resume --joblog jl 'echo {} | tr a-z A-Z'
  expect_rc 255
  check "a changed template is refused" grep -q 'refusing to resume' err.ours
  # A run killed mid-write leaves a torn line: dropped, and that job runs again.
  printf '%s\n' 1 2 3 > in3
  mr -a in3 --joblog jl3 'echo {}'
  # (lines come in the order jobs finish: keep all but job 3's, then tear it)
  awk -F'\t' '$1 != 3' jl3 > jl3.torn && printf '3\tvm\t17' >> jl3.torn && mv jl3.torn jl3
  mr -a in3 --resume --joblog jl3 'echo {}'
  expect_rc 0
  check "the torn line's job ran again" [ "$(cat out)" = 3 ]
  check "the joblog is whole again" [ "$(lines jl3)" = 3 ]
  echo garbage > bad.jl
  mr -a in3 --resume --joblog bad.jl 'echo {}'
  expect_rc 255
  ;;

binary) # binary-safe and large output, in order, through the spool and the spill file
  head -c 6000000 /dev/urandom > big.bin   # above the 4 MiB a worker keeps in memory
  printf 'a\0b\0\n\377\376 no newline' > small.bin
  seq 1 5 > in
  # Job 1 fails once, so with -k every other job's output waits in the spool.
  mr -a in -k --retries 2 'if [ {} = 1 ] && [ ! -e m ]; then touch m; exit 1; fi; cat big.bin; cat small.bin >&2'
  expect_rc 0
  for i in 1 2 3 4 5; do cat big.bin; done > want.out
  for i in 1 2 3 4 5; do cat small.bin; done > want.err
  check "5 x 6 MB of binary stdout, byte for byte, in order" cmp -s out want.out
  # stderr: the jobs' bytes, then our summary line
  head -c "$(stat -c %s want.err)" err > err.jobs
  check "binary stderr, byte for byte" cmp -s err.jobs want.err
  check "then only our summary" [ "$(tail -c +$(( $(stat -c %s want.err) + 1 )) err | cut -c1-13)" = "mpipool-run: " ]
  mr -a one --results res 'cat small.bin; echo e >&2; exit 3'
  expect_rc 1
  check "--results stdout" cmp -s res/1/stdout small.bin
  check "--results stderr" [ "$(cat res/1/stderr)" = e ]
  check "--results exitval" [ "$(cat res/1/exitval)" = 3 ]
  ;;

edge) # empty input, malformed template, unwritable joblog, usage, environment
  : > empty
  mr -a empty --joblog jl echo
  expect_rc 0
  check "empty input prints nothing" [ ! -s out ]
  check "empty input: a joblog with only its header" [ "$(wc -l < jl)" = 1 ]
  mr -a one 'touch ran {..}'
  expect_rc 255
  check "malformed template: no job ran" [ ! -e ran ]
  check "malformed template named" grep -q "unknown placeholder '{..}'" err.ours
  mr -a one 'touch ran {1}'
  expect_rc 255
  mr -a one 'touch ran {/.'
  expect_rc 255
  only_ours
  mr -a one --joblog /nonexistent/dir/jl 'touch ran'
  expect_rc 255
  check "unwritable joblog: no job ran" [ ! -e ran ]
  check "unwritable joblog named" grep -q 'cannot write the joblog /nonexistent/dir/jl' err.ours
  mr --no-such-option
  expect_rc 255
  only_ours
  mr --retries
  expect_rc 255
  mr --resume echo
  expect_rc 255
  mr --help
  expect_rc 0
  check "--help on stdout" grep -q '^Usage: ' out
  mr --version
  expect_rc 0
  check "--version" grep -q '^mpipool-run (mpipool) [0-9]' out
  seq 1 20 > in
  mr -a in -k 'echo $MPIPOOL_TASK_ID $MPIPOOL_RANK {}'
  expect_rc 0
  check "MPIPOOL_TASK_ID is the job number" awk -v n="$n" '{ if ($1 != $3) exit 1 }' out
  check "MPIPOOL_RANK is a rank that runs jobs" \
    awk -v n="$n" '{ if (n == 1 ? $2 != 0 : ($2 < 1 || $2 >= n)) exit 1 }' out
  check "20 jobs printed" [ "$(wc -l < out)" = 20 ]
  # --progress: under a launcher rank 0's stderr is the launcher's pipe, so the
  # display is drawn (in place, with \r); the last redraw shows the total.
  mr -a in --progress --bar 'echo {}'
  expect_rc 0
  check "--progress draws a final 20/20" grep -q $'\r''mpipool-run: \[#*\] 100% 20/20 done, 0 failed, 0 running' err
  mr -a in 'echo {}'
  check_not "no progress unless asked" grep -q $'\r' err
  # without -k: as they finish, but every job's output is whole
  mr -a in 'printf "%s-a\n%s-b\n" {} {}'
  check "unordered output: each job's lines together" awk -F- 'NR % 2 == 1 { a = $1; next } { if ($1 != a) exit 1 }' out
  check "unordered output: all 40 lines" [ "$(wc -l < out)" = 40 ]
  ;;

*) echo "run.sh: unknown scenario '$scenario'" >&2; exit 2 ;;
esac

if [ "$fails" -ne 0 ]; then
  echo "mpipool-run $scenario on $n rank(s): $fails check(s) FAILED" >&2
  exit 1
fi
echo "mpipool-run $scenario on $n rank(s): passed"
