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
# alive PID: running, not a zombie.  One read of its stat: a process reaped
# between a check that the file exists and the read once looked alive.
alive() { local s; s=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) && [ -n "$s" ] && [ "${s#[ZX]}" = "$s" ]; }
lines() { grep -c '^[0-9]' "$1"; } # joblog entries (not the header)
col() { awk -F'\t' -v s="$2" -v c="$3" '$1 == s { print $c }' "$1" | tail -n 1; } # col LOG SEQ COLUMN
expect_rc() { [ "$rc" = "$1" ] || { fail "exit status $rc, expected $1"; sed 's/^/  | /' err >&2; }; }
only_ours() { # every diagnostic line starts with mpipool-run:
  ! grep -v '^mpipool-run: ' err.ours | grep -q . || { fail "a diagnostic without the mpipool-run: prefix"; cat err.ours >&2; }
}

case $scenario in

parallel_reference | parallel_compat)
  # -k output byte-identical to GNU parallel -k, several templates.  GNU
  # parallel's side does not depend on the rank count: the CTest fixture
  # tool_mpipool_run_parallel_reference (scenario parallel_reference) runs
  # it once into $MPIPOOL_PARALLEL_REF, and parallel_compat at every rank
  # count compares against that (or runs it itself when the variable is
  # unset).  Each parallel start costs 1-4 s on the 2-core machine.
  command -v parallel >/dev/null || { echo "GNU parallel is not installed: skipped"; exit 77; }
  templates=('echo' 'echo {}' 'echo {.}' 'echo {/}' 'echo {//}' 'echo {/.}' 'echo {#} {}'
             'printf %s\\n {} {.} {/} {//} {/.}' 'echo {} >&2; echo out {#}')
  ref=${MPIPOOL_PARALLEL_REF:-$work/ref}
  if [ "$scenario" = parallel_reference ] || [ -z "${MPIPOOL_PARALLEL_REF:-}" ]; then
    rm -rf "$ref" && mkdir -p "$ref" || { fail "cannot make $ref"; exit 1; }
    printf '%s\n' 'plain' 'two words' 'dir/file.txt' '/abs/path/arch.tar.gz' 'dir.d/noext' \
      '' 'trailing/' "it's" '$HOME' 'a"b' 'back\slash' '*glob*' 'tab	here' '  lead' '.hidden' \
      'x;echo injected' 'ünï' "'lead" "trail'" > "$ref/in"
    for i in "${!templates[@]}"; do
      # shellcheck disable=SC2086
      PARALLEL_SHELL=/bin/sh timeout 60 parallel -k --joblog "$ref/jl.$i" ${templates[$i]} < "$ref/in" \
        > "$ref/want.$i" 2>/dev/null || fail "parallel -k '${templates[$i]}' failed"
    done
    # --tag, and launcher style (each line a command)
    PARALLEL_SHELL=/bin/sh timeout 60 parallel -k --tag 'printf "l1\nl2"' < "$ref/in" > "$ref/want.tag" 2>/dev/null
    printf '%s\n' 'echo one' 'echo two; echo three' '' 'printf "no newline"' 'echo $((6*7))' > "$ref/cmds"
    PARALLEL_SHELL=/bin/sh timeout 60 parallel -k < "$ref/cmds" > "$ref/want.cmds" 2>/dev/null
    [ "$fails" -eq 0 ] && touch "$ref/complete"
  fi
  if [ "$scenario" = parallel_compat ]; then
    [ -e "$ref/complete" ] || { fail "no complete reference from GNU parallel in $ref"; exit 1; }
    for i in "${!templates[@]}"; do
      t=${templates[$i]}
      # shellcheck disable=SC2086
      mr -k --joblog jl.mr $t < "$ref/in"
      expect_rc 0
      cmp -s out "$ref/want.$i" || { fail "'$t': output differs from parallel -k"; diff "$ref/want.$i" out | head >&2; }
      # The very commands (quoting included) are parallel's: compare the joblogs'
      # Seq and Command columns.
      tail -n +2 "$ref/jl.$i" | cut -f1,9- | sort -n > cmds.par
      tail -n +2 jl.mr | cut -f1,9- | sort -n > cmds.mr
      cmp -s cmds.mr cmds.par || { fail "'$t': commands differ from parallel's"; diff cmds.par cmds.mr | head >&2; }
    done
    mr -k --tag 'printf "l1\nl2"' < "$ref/in"
    cmp -s out "$ref/want.tag" || { fail "--tag output differs from parallel -k --tag"; diff "$ref/want.tag" out | head >&2; }
    mr -k < "$ref/cmds"
    expect_rc 0
    cmp -s out "$ref/want.cmds" || { fail "launcher-style output differs from parallel -k"; diff "$ref/want.cmds" out | head >&2; }
  fi
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
    # The kill is asynchronous: under load the child may not have run (and
    # died) yet when the farm returns.  Wait for it, 10 s at the most.
    for _ in $(seq 100); do alive "$(cat bg.pid)" || break; sleep 0.1; done
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
  if [ "$n" -ge 3 ]; then
    # Many retries at once: those beyond the first round's places bounce
    # off the rank they failed on, some several times (5 seen at 30 jobs);
    # every one still runs its second try elsewhere.
    seq 1 30 > in30
    rm -f mark.* ranks.*
    mr -a in30 --retries 2 \
      'echo $MPIPOOL_RANK >> ranks.{}; if [ -e mark.{} ]; then echo ok {}; else touch mark.{}; exit 1; fi'
    expect_rc 0
    same=""
    for i in $(seq 1 30); do [ "$(sort -u ranks.$i | wc -l)" = 2 ] || same="$same $i"; done
    check "30 jobs: each retried on another rank (not:$same)" [ -z "$same" ]
  fi
  mr -a one --retries 3 'echo x >> tries; exit 7'
  expect_rc 1
  check "--retries 3 ran the job 3 times" [ "$(wc -l < tries)" = 3 ]
  ;;

halt) # --halt now / soon / never
  { echo 'exit 1'; for i in $(seq 2 12); do echo 'sleep 300'; done; } > in
  mr -a in --halt now,fail=1 --joblog jl
  expect_rc 1
  check "halt now: only the failure is logged" [ "$(lines jl)" = 1 ]
  check "halt now: says so" grep -q 'halting after job 1 (--halt now' err.ours
  { echo 'exit 1'; echo 'exit 2'; for i in $(seq 3 40); do echo 'echo x'; done; } > in2
  mr -a in2 --halt soon,fail=2 --joblog jl2
  expect_rc 2
  check "halt soon: both failures logged" [ "$(awk -F'\t' '$7 != 0' jl2 | grep -c '^[0-9]')" = 2 ]
  check "halt soon: jobs stopped being started" [ "$(lines jl2)" -lt 40 ]
  mr -a in2 --halt never
  expect_rc 2
  check "halt never: every job ran" [ "$(grep -c x out)" = 38 ]
  ;;

sigterm) # stopped by SIGTERM as a batch system stops a job: every process gets it, the job's
  # command first (it dies of it), its rank 0.1 s later.  The command was cut short by the
  # stop: not logged, and --resume runs it again (before: logged as failed, Signal 15).
  { for i in 1 2 3 4 5; do echo "echo job$i"; done
    echo 'if [ ! -e stopped ]; then touch stopped; r=$(cut -d" " -f4 /proc/$PPID/stat);' \
         '(sleep 0.1; kill -TERM $r) >/dev/null 2>&1 & kill -TERM $$; fi; echo job6'
    for i in 7 8 9 10 11 12; do echo "echo job$i"; done; } > in
  mr -a in --joblog jl
  expect_rc 143
  check "says how to resume" grep -q 'resume' err.ours
  first=$(lines jl)
  check_not "the job killed by the stop's SIGTERM is not logged" grep -q $'^6\t' jl
  cp out out1
  mr -a in --resume --joblog jl --summary
  expect_rc 0
  check "after --resume every job is logged once" [ "$(cut -f1 jl | grep '^[0-9]' | sort -n | uniq | wc -l)" = 12 ]
  check "no job logged twice" [ "$(lines jl)" = 12 ]
  check "each job printed exactly once over both runs, the killed one rerun" \
    [ "$(cat out1 out | sort | tr '\n' ' ')" = "job1 job10 job11 job12 job2 job3 job4 job5 job6 job7 job8 job9 " ]
  check "the resumed run skipped what the first finished" grep -q "$first skipped" err.ours
  ;;

launcher_term) # SIGTERM to the launcher (the batch system's way): joblog whole, resume finishes
  { for i in 1 2 3 4 5; do echo "echo job$i"; done
    echo 'if [ ! -e stopped ]; then touch stopped; kill -TERM $(cat launcher.pid); sleep 300; fi; echo job6 >> ran6'
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
    [ "$(for i in 1 2 3 4 5 7 8 9 10 11 12; do cat "res/1/echo job$i/stdout"; done | tr '\n' ' ')" = \
      "job1 job2 job3 job4 job5 job7 job8 job9 job10 job11 job12 " ]
  check "no job printed twice over both runs" [ -z "$(cat out1 out | sort | uniq -d)" ]
  check "the job killed by the stop ran to its end once, in the resumed run" [ "$(cat ran6)" = job6 ]
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
  # stderr: the jobs' bytes and nothing else (no summary unless asked or on a terminal)
  check "binary stderr, byte for byte, and nothing more" cmp -s err want.err
  mr -a one --results res 'cat small.bin; echo e >&2; exit 3'
  expect_rc 1
  check "--results stdout (parallel's layout: DIR/1/<arg>/)" cmp -s res/1/x/stdout small.bin
  check "--results stderr" [ "$(cat res/1/x/stderr)" = e ]
  check "--results exitval" [ "$(cat res/1/x/exitval)" = 3 ]
  check "--results seq" [ "$(cat res/1/x/seq)" = 1 ]
  check "--results: nothing printed, as parallel" [ ! -s out ]
  ;;

edge) # empty input, malformed template, unwritable joblog, usage, environment
  : > empty
  mr -a empty --joblog jl echo
  expect_rc 0
  check "empty input prints nothing" [ ! -s out ]
  check "empty input: a joblog with only its header" [ "$(wc -l < jl)" = 1 ]
  # Refusals of the command line (malformed templates, an unwritable joblog,
  # usage, --help, --version) are decided on rank 0 before any job, the
  # same code at every rank count: checked at 2 ranks only (both MPIs run
  # np2), where the refusal also has a worker to stop.  One rank's refusals
  # are the refuse scenario's (a singleton).  These 11 runs were most of
  # np1's time: `run.sh edge 1` took 32 s with them, 9 s without (timed
  # alone, twice each, on the busy shared machine, 2026-12-05).
  if [ "$n" -ge 2 ]; then
    mr -a one 'touch ran {..}'
    expect_rc 255
    check "malformed template: no job ran" [ ! -e ran ]
    check "malformed template named" grep -q "unknown replacement string '{..}'" err.ours
    mr -a one 'touch ran {2..}'
    expect_rc 255
    check "a malformed positional string named" grep -q "unknown replacement string '{2..}'" err.ours
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
  fi
  seq 1 20 > in
  mr -a in -k 'echo $MPIPOOL_TASK_ID $MPIPOOL_RANK {}'
  expect_rc 0
  check "MPIPOOL_TASK_ID is the job number" awk -v n="$n" '{ if ($1 != $3) exit 1 }' out
  check "MPIPOOL_RANK is a rank that runs jobs" \
    awk -v n="$n" '{ if (n == 1 ? $2 != 0 : ($2 < 1 || $2 >= n)) exit 1 }' out
  check "20 jobs printed" [ "$(wc -l < out)" = 20 ]
  # --bar: drawn in place (\r) even into the launcher's pipe, as GNU
  # parallel's --bar and MPIPOOL_PROGRESS=bar; the last redraw shows the total.
  mr -a in --progress --bar 'echo {}'
  expect_rc 0
  check "--progress --bar draws a final 20/20" grep -q $'\r''mpipool-run: \[#*\] 100% 20/20 done, 0 failed, 0 running' err
  # --progress alone: rank 0's stderr is the launcher's pipe, not a terminal,
  # so whole lines (the library's rule, src/term.c), the last one the total.
  mr -a in --progress 'echo {}'
  expect_rc 0
  check "--progress into a pipe: a whole last line" grep -qx 'mpipool-run: 20/20 done, 0 failed, 0 running' err
  check_not "--progress into a pipe: no redraws" grep -q $'\r' err
  mr -a in 'echo {}'
  check_not "no progress unless asked" grep -q $'\r' err
  # without -k: as they finish, but every job's output is whole
  mr -a in 'printf "%s-a\n%s-b\n" {} {}'
  check "unordered output: each job's lines together" awk -F- 'NR % 2 == 1 { a = $1; next } { if ($1 != a) exit 1 }' out
  check "unordered output: all 40 lines" [ "$(wc -l < out)" = 40 ]
  ;;

sources) # input sources as GNU parallel combines them, compared with parallel itself
  command -v parallel >/dev/null || { echo "GNU parallel is not installed: skipped"; exit 77; }
  printf '%s\n' p q > f1; printf '%s\n' 1 2 3 > f2
  same() { # same "args...": parallel -k ARGS and mpipool-run -k ARGS print the same, exit 0
    # shellcheck disable=SC2086
    PARALLEL_SHELL=/bin/sh timeout 60 parallel -k "$@" < /dev/null > want 2>/dev/null
    mr -k "$@" < /dev/null
    expect_rc 0
    cmp -s out want || { fail "'$*': output differs from parallel -k"; diff want out | head >&2; }
  }
  same echo ::: It works
  same echo ::: a b ::: 1 2
  same echo ::: a b c :::+ 1 2
  same echo ::: a b :::+ 1 2 3 ::: x y
  same echo :::: f1 ::: 1 2
  same echo :::: f1 ::::+ f2
  same echo {2} {1} ::: a b ::: 1 2
  same echo {1.} {2/} {2//} {3} ::: d/x.c ::: /e/y.tar.gz
  same --tag echo ::: a b ::: 1
  same -v echo ::: a 'b c'
  same --dry-run echo ::: "a b" ::: "c'd"
  same ::: 'echo a' 'echo b'
  same -a f1 -a f2 echo
  same echo :::
  # standard input as a named source, and beside -a
  printf 's1\ns2\n' | PARALLEL_SHELL=/bin/sh timeout 60 parallel -k echo :::: - ::: z > want 2>/dev/null
  printf 's1\ns2\n' | mr -k echo :::: - ::: z
  cmp -s out want || fail "':::: -' differs from parallel"
  # delimiters and columns
  printf 'a\0b c\0' > nul.in; printf 'a,b,c' > comma.in; printf 'a\tb\nc\td\n' > tab.in
  for args in "-0 echo" "-d , echo" "--colsep \t echo {2} {1}" "-C , echo {1}-{2}"; do
    # shellcheck disable=SC2086
    case $args in -0*) f=nul.in ;; -d*|-C*) f=comma.in ;; *) f=tab.in ;; esac
    # shellcheck disable=SC2086
    PARALLEL_SHELL=/bin/sh timeout 60 parallel -k $args < $f > want 2>/dev/null
    # shellcheck disable=SC2086
    mr -k $args < $f
    cmp -s out want || { fail "'$args': output differs from parallel -k"; diff want out | head >&2; }
  done
  # NUL bytes in a line (issue 21 item 10): replaced with \0 and warned about, as parallel
  printf 'a\0b\n' > nul.line; printf 'echo safe\0; echo SECOND\n' > nul.cmd
  PARALLEL_SHELL=/bin/sh timeout 60 parallel -k echo < nul.line > want 2>/dev/null
  mr -k --joblog jl echo < nul.line
  expect_rc 0
  check "a NUL in an argument becomes \\0, as parallel" cmp -s out want
  check "the NUL warning" grep -q 'NUL character in the input was replaced' err.ours
  mr -k --joblog jl --resume echo < nul.line
  expect_rc 0
  check "--resume accepts the same input with a NUL" [ ! -s out ]
  PARALLEL_SHELL=/bin/sh timeout 60 parallel -k < nul.cmd > want 2>/dev/null
  mr -k < nul.cmd
  check "launcher style with a NUL: both commands run, as parallel" cmp -s out want
  # --joblog - (standard output) and +FILE (append)
  mr -k --joblog - echo ::: a b
  check "--joblog -: header and two lines on stdout" [ "$(grep -c $'\t''echo [ab]$' out)" = 2 ]
  check "--joblog -: no file named -" [ ! -e ./- ]
  rm -f jl2
  mr --joblog +jl2 echo ::: a
  mr --joblog +jl2 echo ::: b
  check "--joblog +FILE appends" [ "$(cut -f9 jl2 | tail -n 2 | tr '\n' ' ')" = "echo a echo b " ]
  check "--joblog +FILE: no file named +jl2" [ ! -e +jl2 ]
  ;;

refuse) # nothing is silently taken as text: refused by name, exit 255, nothing runs.
  # Run without a launcher (a one-rank MPI singleton): a refusal needs no ranks, and
  # mpiexec itself takes a lone ':' as its own separator.
  mr1() { timeout -s KILL 60 "$bin" "$@" >out 2>err; rc=$?; cp err err.ours; }
  for args in "-j 2" "-j0" "-N 2" "-n 2" "-X" "-m" "-L 1" "--pipe" "--block 1M" "-u" "--ungroup" \
              "--line-buffer" "--tagstring x" "--retry-failed" "--delay 1" "--memfree 1G" \
              "--load 80%" "--nice 5" "--header=:" "--frobnicate" "--timeout 200%"; do
    # shellcheck disable=SC2086
    mr1 $args touch ran ::: x
    expect_rc 255
    name=${args%% *}; name=${name%%=*}; case $name in --*) ;; *) name=${name:0:2} ;; esac
    check "'$args' refused naming it" grep -qF -- "'$name" err.ours
    check "'$args': no job ran" [ ! -e ran ]
  done
  for t in '{%}' '{##}' '{= $_ =}' '{+.}' '{-1}' '{0}' '{1..}'; do
    mr1 touch ran "$t" ::: x ::: y
    expect_rc 255
    check "'$t' refused naming it" grep -qF -- "$t" err.ours
    check "'$t': no job ran" [ ! -e ran ]
  done
  only_ours
  ;;

results_full) # issue 21 item 1: --results on a full disk is not logged as done; and -k's joblog order
  # A 256 KiB tmpfs in a private mount namespace when we may mount (root or
  # user namespaces); else a file-size limit (ulimit -f), which fails the big
  # files with EFBIG the same way.  Jobs 2, 4, ... write 100 KB, the others 10 bytes.
  seq 1 12 > in
  t='if [ $(({} % 2)) = 0 ]; then head -c 100000 /dev/zero; else echo small{}; fi'
  if unshare -m sh -c 'mkdir -p res && mount -t tmpfs -o size=256k tmpfs res && umount res' 2>/dev/null; then
    how=tmpfs
    unshare -m sh -c 'mount -t tmpfs -o size=256k tmpfs res && "$@" >out 2>err; echo $? > rc; cp -r res res.copy' \
      sh timeout -s KILL 60 "${launch[@]}" "$bin" --joblog jl -a in --results res "$t"
    rc=$(cat rc); rm -rf res; mv res.copy res
  else
    how="ulimit -f"
    (ulimit -f 50; timeout -s KILL 60 "${launch[@]}" "$bin" --joblog jl -a in --results res "$t" >out 2>err)
    rc=$?
  fi
  echo "full disk simulated with: $how"
  grep -v -e '^---' -e 'non-zero' -e 'Process name' -e 'Exit code:' -e 'the job to be' -e 'Per user-direction' err > err.ours || true
  expect_rc 255
  check "says which jobs were not recorded" grep -q 'could not be written: not logged as done' err.ours
  check "some jobs did not fit" [ "$(lines jl)" -lt 12 ]
  check "some did" [ "$(lines jl)" -ge 1 ]
  # Every job in the joblog has whole --results files.
  for s in $(awk -F'\t' 'NR > 1 { print $1 }' jl); do
    want=$(( ${#s} + 6 )); [ $((s % 2)) = 0 ] && want=100000
    [ "$(cat "res/1/$s/stdout" 2>/dev/null | wc -c)" = "$want" ] && [ "$(cat "res/1/$s/exitval" 2>/dev/null)" = 0 ] ||
      fail "job $s is logged as done but its --results are not whole"
  done
  mr --joblog jl -a in --results res --resume "$t"
  expect_rc 0
  check "--resume then runs exactly the unrecorded jobs: all 12 logged once" \
    [ "$(cut -f1 jl | grep '^[0-9]' | sort -n | uniq | wc -l)" = 12 ] && check "no job logged twice" [ "$(lines jl)" = 12 ]
  # -k: the joblog in input order, as parallel writes it (the first job is the slowest)
  mr -k --joblog jlk 'sleep {}' ::: 1.5 0.5 0 0 0
  expect_rc 0
  check "-k: joblog in input order" [ "$(awk -F'\t' 'NR > 1 { printf "%s ", $1 }' jlk)" = "1 2 3 4 5 " ]
  ;;

gnu_behaviour) # issue 20's differences, on one worker (np2) so the order is GNU's -j1
  command -v parallel >/dev/null || { echo "GNU parallel is not installed: skipped"; exit 77; }
  cmpar() { # cmpar ARGS...: same stdout and exit status as parallel -j1 ARGS
    PARALLEL_SHELL=/bin/sh timeout 60 parallel -j1 "$@" < in > want 2>/dev/null
    prc=$?
    mr "$@" < in
    [ "$rc" = "$prc" ] || fail "'$*': exit status $rc, parallel's $prc"
    cmp -s out want || { fail "'$*': output differs from parallel -j1"; diff want out | head >&2; }
  }
  printf '0\n1\n0\n' > in
  cmpar --halt soon,fail=1 'echo {#};exit {}'     # starts no more jobs: 1 2, status 1
  cmpar --halt now,fail=1 'echo {#};exit {}'
  printf '%s\n' 0 3 0 > in
  cmpar --halt 1 'exit {}'                        # the failing job's status (3)
  cmpar --halt now,fail=1 non_exist               # 127
  printf '%s\n' 1 1 1 0 0 0 > in
  cmpar --halt soon,fail=50% 'echo {#}; exit {}'  # a percentage: 50
  cmpar --halt soon,success=1 'echo {#}; exit {}'
  printf '%s\n' 3 > in
  cmpar --timeout 1s 'sleep {}'                   # time units
  cmpar --timeout 0.02m 'sleep {}'
  # --retries 0: until it succeeds (here the third try)
  rm -f count
  echo x > in
  mr --retries 0 'n=$(cat count 2>/dev/null || echo 0); echo $((n + 1)) > count; [ $n -ge 2 ] # {}' < in
  expect_rc 0
  check "--retries 0 retried until success" [ "$(cat count)" = 3 ]
  # the summary only when asked (or on a terminal)
  mr echo ::: a
  check_not "no summary line unless asked" grep -q 'done, 0 failed' err.ours
  mr --summary echo ::: a
  check "--summary prints it" grep -q '1 done, 0 failed' err.ours
  # issue 21 item 11: over the kernel's argument limit: "command line too long" naming the job
  # (from a file: MPICH's hydra gives up forwarding a 200 KB line on stdin)
  { head -c 200000 /dev/zero | tr '\0' x; echo; echo ok; } > in
  mr -k -a in echo
  expect_rc 1
  check "E2BIG named" grep -q 'job 1: command line too long' err.ours
  check "the other job ran" [ "$(cat out)" = ok ]
  # issue 21 item 12: a damaged joblog line with a huge job number: refused, naming the line
  printf '%s\n' a b > in
  mr --joblog jl echo < in
  printf '99999999\tvm\t1.0\t1.0\t0\t0\t0\t0\techo z\n' >> jl
  mr --joblog jl --resume echo < in
  expect_rc 255
  check "the damaged line named" grep -q 'jl line 4 names job 99999999 but the input has only 2' err.ours
  # --resume with a changed template: refused (documented in the man page)
  mr --joblog jl2 echo < in
  mr --joblog jl2 --resume 'echo new' < in
  expect_rc 255
  check "a changed template is refused on --resume" grep -q 'refusing to resume (use a new joblog' err.ours
  # the joblog is locked while a run uses it: a new run is refused at once; a --resume
  # waits for the run that holds it (a killed run winding down), then runs the rest.  The
  # first run's job holds until the test writes to a fifo.
  mkfifo hold; echo y > free
  timeout -s KILL 60 "${launch[@]}" "$bin" --joblog jl3 'read x < {}' ::: hold >out.first 2>err.first &
  first=$!
  for _ in $(seq 600); do [ "$(grep -c . jl3 2>/dev/null)" = 1 ] && break; sleep 0.05; done # its header: it holds the lock
  mr --joblog jl3 echo ::: x
  expect_rc 255
  check "a second run on the same joblog is refused" grep -q 'jl3 is in use by another run' err.ours
  timeout -s KILL 60 "${launch[@]}" "$bin" --joblog jl3 --resume 'read x < {}' ::: hold free >out.second 2>err.second &
  second=$!
  for _ in $(seq 600); do grep -q 'waiting up to' err.second && break; sleep 0.05; done
  check "a --resume waits for the run that holds the joblog" grep -q 'jl3 is in use by another run; waiting' err.second
  echo go > hold
  wait "$first"
  wait "$second"
  check "... then runs, exit 0" [ $? = 0 ]
  check "... only what that run left: both jobs logged once" [ "$(cut -f1 jl3 | tail -n +2 | sort | tr '\n' ' ')" = "1 2 " ]
  ;;

orphan) # issue 20: the launcher killed, then --resume at once.  ORPHAN_MODE=term (the issue's
  # case, the default): SIGTERM, then SIGKILL 1 s later if it still lives; kill: SIGKILL at once.
  # ORPHAN_ITERS runs (CTest: 2; tests/tools/orphan-soak.sh: 20).  Every run: the resume is
  # not refused (it may wait while the old run lets go of the joblog) and exits 0; the joblog
  # at the launcher's death is kept whole; every job is logged once and ran once; and the
  # lines written after the launcher died come in two blocks, the old run's (jobs it had
  # started, logged while it still held the lock) then the resumed run's: the joblog is never
  # written by two runs at once.  How many lines the old run wrote late is printed.
  seq 1 20 > in
  t='sleep 0.2; echo {} >> done'
  mode=${ORPHAN_MODE:-term}
  for it in $(seq "${ORPHAN_ITERS:-2}"); do
    rm -f jl done
    "${launch[@]}" "$bin" --joblog jl -a in "$t" >out1 2>err1 &
    lp=$!
    for _ in $(seq 400); do [ "$(grep -c . jl 2>/dev/null || echo 0)" -ge 4 ] && break; sleep 0.05; done
    if [ "$mode" = term ]; then
      kill -TERM "$lp"
      for _ in $(seq 20); do kill -0 "$lp" 2>/dev/null || break; sleep 0.05; done
    fi
    kill -KILL "$lp" 2>/dev/null
    wait "$lp" 2>/dev/null
    dead=$(date +%s.%N)
    cp jl jl.at_death
    mr --joblog jl --resume -a in "$t"
    expect_rc 0
    check "run $it: the joblog at the launcher's death is kept whole" \
      cmp -s jl.at_death <(head -c "$(stat -c %s jl.at_death)" jl)
    check "run $it: every job logged once" [ "$(lines jl)" = 20 ] && \
      check "run $it: ... and no job twice" [ -z "$(cut -f1 jl | sort | uniq -d)" ]
    check "run $it: every job ran" [ "$(sort -un done | wc -l)" = 20 ]
    dup=$(sort -n done | uniq -d | tr '\n' ' ')
    # Starttime (column 3) before the death: a job of the old run.
    tail -n +"$(($(wc -l < jl.at_death) + 1))" jl |
      awk -F'\t' -v d="$dead" '{ print ($3 < d ? "old" : "new") }' > after
    late=$(grep -c old after)
    check "run $it: no line of the old run after the resumed run's" \
      [ "$(uniq after | tr '\n' ' ')" = "$( { [ "$late" = 0 ] || echo old; grep -q new after && echo new; } | tr '\n' ' ')" ]
    if [ "$mode" = term ]; then
      check "run $it: no job ran twice (twice: $dup)" [ -z "$dup" ]
    else
      for d in $dup; do # SIGKILL at once: only a job in flight at the launcher's death may
        check "run $it: job $d ran twice though logged before the launcher died" \
          [ -z "$(awk -F'\t' -v s="$d" 'NR > 1 && $1 == s' jl.at_death)" ]
      done
    fi
    echo "run $it ($mode): $(($(lines jl.at_death))) jobs logged at the launcher's death, $late more by the old run after it;" \
         "resume waited: $(grep -c 'waiting up to' err.ours); ran twice: [${dup% }]"
  done
  ;;

gnu_testsuite) # cases from GNU parallel's own testsuite, run by both: same stdout and status.
  # Source: https://github.com/GitMirroring/parallel (commit 5335212d),
  # testsuite/tests-to-run/parallel-local-0.3s.sh; each case names its par_ function.
  # np2 = one worker, so jobs run one at a time, as parallel -j1 runs them.
  command -v parallel >/dev/null || { echo "GNU parallel is not installed: skipped"; exit 77; }
  case_() { # case_ NAME STDIN-FILE ARGS...: parallel -j1 ARGS vs mpipool-run ARGS
    local name=$1 in=$2; shift 2
    PARALLEL_SHELL=/bin/sh timeout 60 parallel -j1 "$@" < "$in" > want 2>/dev/null
    local prc=$?
    mr "$@" < "$in"
    [ "$rc" = "$prc" ] || fail "$name '$*': exit status $rc, parallel's $prc"
    cmp -s out want || { fail "$name '$*': output differs from parallel's"; diff want out | head -5 >&2; }
  }
  printf '%s\n' "中国 (Zhōngguó)/China's (中国) road.jpg" "中国.(中国)" \
    '/tmp/test-of-{.}-parallel/subdir/file' '/tmp/test-of-{.}-parallel/subdir/file{.}.funkyextension}}' > utf8
  case_ par_replacement_string_on_utf8 utf8 -k echo {} {.}
  case_ par_echo_jobseq /dev/null -k echo {#} ::: 1 2 ::: 1 2
  case_ par_no_joblog_with_dryrun /dev/null --dryrun --joblog - echo ::: Only_this
  printf 'foo\0not printed' > nul
  case_ par_xargs_nul_char_in_input nul echo
  echo line 1Nline 2Nline 3 > dN; printf "delimiter NUL line 1\0line 2\0line 3" > d0
  printf "delimiter TAB line 1\tline 2\tline 3" > dT
  case_ par_delimiter dN -k -d N echo This is
  case_ par_delimiter d0 -k -d '\0' echo
  case_ par_delimiter dT -k --delimiter '\t' echo
  seq 1 10 > ten
  case_ par_argfile /dev/null -k --arg-file ten echo
  echo > empty1
  case_ par_read_from_stdin empty1 echo empty input line
  perl -e 'for(1..25) {print "echo a $_; echo b $_\n"}' > cmds
  case_ par_read_from_stdin cmds -k
  echo A,B,, > csv
  case_ par_expansion_in_colsep csv --colsep , echo {1}{3}{2}
  case_ par_empty /dev/null echo ::: true
  printf 'echo a\n\necho b\n' > el
  case_ par_empty_line el -k
  printf 0 > zero
  case_ par_0_no_newline zero echo
  case_ par_delimiter_space /dev/null -k -d " " echo ::: "1 done"
  case_ par_halt_on_error_division_by_zero /dev/null --halt-on-error soon,fail=100% echo
  seq 10 > ten
  case_ par_exit_val ten --halt now,fail=1 true
  echo false > f
  case_ par_exit_val f
  case_ par_halt_one_job /dev/null --halt now,fail=1 'echo {#};exit {}' ::: 0 1 0
  case_ par_halt_one_job /dev/null --halt soon,fail=1 'echo {#};exit {}' ::: 1 0 1
  # par_verbose_t: -t prints each command on stderr
  printf '%s\n' b c f > bcf
  PARALLEL_SHELL=/bin/sh timeout 60 parallel -j1 -k -t echo {}ar < bcf 2> want >/dev/null
  mr -k -t echo {}ar < bcf
  check "par_verbose_t: -t's commands on stderr" cmp -s err.ours want
  # par_append_joblog and par_dryrun_append_joblog: the joblog's line count
  mr --joblog jl echo ::: 1; mr --joblog +jl echo ::: 1
  check "par_append_joblog: 3 lines" [ "$(wc -l < jl)" = 3 ]
  mr -k --jl jl2 echo ::: 1 2 3; mr --dryrun -k --jl +jl2 echo ::: 1 2 3 4
  check "par_dryrun_append_joblog: --dry-run does not log (4 lines)" [ "$(wc -l < jl2)" = 4 ]
  # par_resume_k (its first two runs; the third changes the command: refused here, see the man page)
  for try in 1 2; do
    PARALLEL_SHELL=/bin/sh timeout 60 parallel -k --resume --joblog jlp echo job{}id\;exit {} ::: 0 1 2 3 0 5 > want 2>/dev/null
    mr -k --resume --joblog jlm echo job{}id\;exit {} ::: 0 1 2 3 0 5
    cmp -s out want || fail "par_resume_k run $try: output differs from parallel's"
  done
  # par_results: parallel's --results layout
  mr -k --results rdir echo ::: a b c
  check "par_results: cat rdir/*/*/stdout" [ "$(cat rdir/*/*/stdout | tr '\n' ' ')" = "a b c " ]
  # Options these cases use that we do not offer: refused by name, exit 255.
  for c in "par_eof_on_command_line_input_source:-E" "par_empty_string_command_line:-r" \
           "par_test_L_context_replace:-L" "par_quote:-q" "par_colsep_default:--header"; do
    opt=${c#*:}
    mr "$opt" x echo ::: a
    expect_rc 255
    check "${c%%:*}: $opt refused by name" grep -qF -- "'$opt'" err.ours
  done
  ;;

*) echo "run.sh: unknown scenario '$scenario'" >&2; exit 2 ;;
esac

if [ "$fails" -ne 0 ]; then
  echo "mpipool-run $scenario on $n rank(s): $fails check(s) FAILED" >&2
  exit 1
fi
echo "mpipool-run $scenario on $n rank(s): passed"
