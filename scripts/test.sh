#!/usr/bin/env bash
# Quick start 2: install what is missing, then build and run every test
# (unit, MPI at 1/2/4 ranks, examples, downstream install) twice: under
# Open MPI (build/, with the unit tests also under valgrind) and under
# MPICH (build-mpich/); then the tests again under AddressSanitizer +
# UndefinedBehaviorSanitizer (build-asan/, Open MPI; unit and MPI tests at
# 1 and 2 ranks) and ThreadSanitizer (build-tsan/, Open MPI; the tests
# that run threads), a short libFuzzer run
# of every tests/fuzz target (build-fuzz/, clang), and every benchmark once
# on tiny sizes (bench/run --smoke) so none rots.  Timings are never
# asserted.  Each stage prints how long it took.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh all
. scripts/env.sh

status=0
# run_suite NAME DIR CMAKE-ARGS CTEST-ARGS [only] (the ARGS as single words
# lists).  With "only", build just the targets the selected tests run
# (scripts/test_targets.py, from CMake's file API): the sanitizer stages run
# a subset of the tests, and compiling the rest with the sanitizer was
# minutes of their build on 2 cores.
run_suite() {
  local name=$1 dir=$2 cmake_args=$3 ctest_args=$4 only=${5:-} t0=$SECONDS t1 build_args=() targets=()
  echo "==== $name: configure and build ($dir)"
  mkdir -p "$dir/.cmake/api/v1/query"
  : >"$dir/.cmake/api/v1/query/codemodel-v2" # ask CMake for the target list (test_targets.py)
  # shellcheck disable=SC2086 # the argument lists are split on purpose
  (set -f; cmake -S . -B "$dir" $cmake_args) >"$dir/configure.log" 2>&1 \
    || { cat "$dir/configure.log"; return 1; }
  t1=$SECONDS
  if [ "$only" = only ]; then
    # shellcheck disable=SC2086
    mapfile -t targets < <(set -f; python3 scripts/test_targets.py "$dir" $ctest_args)
    [ ${#targets[@]} -gt 0 ] || { echo "==== $name: scripts/test_targets.py found nothing to build"; return 1; }
    build_args=(--target "${targets[@]}")
  fi
  if ! cmake --build "$dir" -j"$(nproc)" "${build_args[@]}" >"$dir/build.log" 2>&1; then
    grep -E -B2 -A6 "error|Error" "$dir/build.log" | head -n 80; return 1
  fi
  echo "==== $name: configured in $((t1 - t0)) s, built in $((SECONDS - t1)) s${targets:+ (${#targets[@]} targets)}"
  echo "==== $name: ctest"
  # shellcheck disable=SC2086
  # Two tests at a time: most are short MPI jobs whose time is launching
  # and waiting, not computing (the cluster and Slurm tests, mostly
  # waiting, run beside the others: tests/cluster, tests/slurm).  Not more:
  # the task farm's scenarios looked like waiting too, but most of their
  # time is CPU (Open MPI's mpiexec start-ups: `ctest -L 'tool|cluster'
  # -j4` used 211 s of user+sys for ~350 s of test time), and at -j4 the
  # longest one ran past its 180-s limit on the shared machine (2026-12-05).
  (set -f; cd "$dir" && ctest --output-on-failure --timeout 300 -j"$(nproc)" $ctest_args) || { echo "==== $name: $((SECONDS - t0)) s, FAILED"; return 1; }
  echo "==== $name: $((SECONDS - t0)) s"
}
common="-DMPIPOOL_BUILD_TESTS=ON -DMPIPOOL_WERROR=ON"
ompi="-DMPI_C_COMPILER=mpicc.openmpi -DMPIEXEC_EXECUTABLE=/usr/bin/mpiexec.openmpi"
mpich="-DMPI_C_COMPILER=mpicc.mpich -DMPIEXEC_EXECUTABLE=/usr/bin/mpiexec.mpich"

# The task farm's scenarios (tests/tools) run here at the rank counts where
# the count changes what runs, not at every one CMake registers (developers
# running ctest get them all), and those whose checks are rank 0's own C
# code under MPICH only.  Left out, with their reasons and their test time
# here (the per-test times of a fresh-clone run on a quiet machine,
# 2026-12-05):
#  - parallel_compat and halt at 2 ranks: one worker is the in-order case of
#    the 4-rank run (output kept in order across three workers, the other
#    workers' jobs stopped); 1 rank is the master running the jobs itself,
#    and MPICH runs the 2-rank case below.  ~10 s and ~7 s.
#  - resume, parallel_resume and exit_codes at 1 rank: their checks are rank
#    0's (the joblog read back, refused and repaired; GNU parallel reading
#    ours; the exit status counted from the results), the same at 2 ranks,
#    and the jobs run by the code every other one-rank scenario runs
#    (timeout, retry, halt, sigterm, binary, edge).  ~14 s, ~4 s, ~10 s.
#  - gnu_testsuite, gnu_behaviour, sources, refuse, resume and
#    parallel_resume (their one rank count, 2): the command line, input
#    sources, the joblog and GNU parallel's semantics, rank 0's own C code,
#    the same whatever the MPI; they run in the MPICH suite below, where
#    the same checks cost less than half (hydra starts and ends a job faster than
#    Open MPI's mpiexec, whose every non-zero exit also costs ~2 s more):
#    ~39, ~36, ~21, ~14, ~12 and ~4 s here against ~19, ~16, ~17, ~4, ~2
#    and ~2 s there.  What Open MPI's launcher does to the farm (its output
#    and input forwarded, exit statuses, signals, the launcher killed,
#    workers stopped) stays here: parallel_compat, edge, exit_codes,
#    timeout, retry, halt, sigterm, launcher_term, binary, results_full,
#    orphan.
# ~170 s of test time in all, ~85 s of the stage.
ompi_skip='^tool_mpipool_run_((parallel_compat|halt)_np2|(resume|parallel_resume|exit_codes)_np1'
ompi_skip+='|(gnu_testsuite|gnu_behaviour|sources|refuse|resume|parallel_resume)_np2)$'
run_suite "Open MPI" build "$ompi $common -DMPIPOOL_VALGRIND=ON" "-E $ompi_skip" || status=1
# MPICH runs every test at 1 and 2 ranks (the task farm's at 2): the
# 4-rank runs and the farm's one-rank runs exercise the same paths of
# mpipool as under Open MPI above, and CI must stay well under 20 minutes.
run_suite "MPICH" build-mpich "$mpich $common" "-E (_np4|^tool_mpipool_run_.*_np1)$" || status=1
# Sanitizers: reports are fatal and only MPI's own leaks are suppressed
# (tests/sanitizers/).  To keep this stage short (LeakSanitizer's exit
# check costs ~3 s per process with Open MPI's thousands of suppressed
# allocations), it runs the unit, MPI and canary tests at 1 and 2 ranks
# only, and leaves to the suites above: the 4-rank runs (the code paths of
# 2 ranks, at twice the cost on 2 cores), the examples (demos whose library
# paths the MPI tests cover; ~70 s here), downstream (its consumer is built
# without -fsanitize, so the ASan runtime would not come first) and the
# dead-rank tests (they check the launcher, and ASan's SIGSEGV handler
# changes how the rank dies), the task farm's and the observation tools'
# shell-level scenarios (~200 s here; the library paths they use are the
# MPI tests'), and the cluster test (it runs the examples, not built here).
# The recovery tests (mpi_recover_*: workers killed, crashing or timed out
# under mpirun --enable-recovery, and their journal cases) are left out for
# the dead-rank tests' reason: they check how ranks die and what the
# launcher does, and ASan's SIGSEGV handler changes how a rank dies; their
# 4-rank cases were already out (_np4), the 6- and 3-rank ones took ~48 s of
# test time here (fresh-clone CI, 2026-12-05).
# The journal's kill/resume, build-id and file-size scenarios and the hung
# task are shell-level checks of processes and launchers too (~150 s of test
# time under ASan); the journal's code runs under ASan in the resume tests,
# the unit tests and the fuzz target.
# test_imap's 1 GB bounded-memory case skips itself under ASan (its RSS
# bound means nothing with shadow memory).
# The shape test (file and function lengths, call cycles) reads the sources
# and the plain suites' objects: the same verdict as there.
# test_imap_single is test_imap's program under plain MPI_Init: a blocking
# imap runs the same library code under both thread levels (only async jobs
# start the progress thread), and with the 1 GB case skipped under ASan the
# two runs were the same work twice (89 s of test time at 1 and 2 ranks).
run_suite "ASan+UBSan (Open MPI)" build-asan "$ompi $common -DMPIPOOL_SANITIZE=address,undefined -DMPIPOOL_BUILD_EXAMPLES=OFF" \
  "-E ^(shape|mpi_test_imap_single_.*|downstream|modulefile|cluster|mpi_dead_rank_.*|mpi_recover_.*|mpi_journal_.*|mpi_hung_task_.*|.*_np4|example_.*|tool_mpipool_run_.*|observe_.*)$" only || status=1
# ThreadSanitizer (build-tsan/, Open MPI, gcc): reports are fatal (exit 66)
# and only the MPI library and the libraries under it are suppressed
# (tests/sanitizers/tsan.supp); a canary proves a race in our code is still
# reported.  TSan is about threads: the master's progress thread and the
# caller's threads.  To stay near 3 minutes on 2 cores it runs the unit
# tests; the MPI tests of async jobs and of what the progress thread does
# (async, policy: cancel/terminate, stats, resume and resume_imap:
# journalled async maps, badinput: refused async calls) at 1 and 2 ranks,
# async and policy at 4; and the threaded regression tests: close from
# another thread and stale handles (the unlocked handle table) at 1, 2 and
# 4, huge imap windows at 1 and 2, a map inside a task at 1 (its one-rank
# case), and SIGTERM with a close in atexit at 1 (the signal handler's
# calls, which TSan checks for async-signal safety; once the new API lands).  Left to the other suites, with their reasons: the plain blocking
# maps (map, errors, batch, pieces, hierarchy runs: ~40 s each under TSan
# at 2 ranks, the engine paths the async tests cover), test_varsize (~100 s
# per rank count under TSan), test_imap (its 1 GB stream, ~55 s), hooks
# (worker-side set-up, no thread of ours), the other 4-rank runs, and, as
# for ASan, the examples, downstream, dead-rank, journal-kill, task-farm,
# observation and cluster shell scenarios (they check processes and
# launchers, not threads).
tsan_tests="^(unit_.*|sanitizer_tsan_canary_np1|mpi_test_(async|policy|stats|resume|resume_imap|badinput)_np[12]"
tsan_tests+="|mpi_test_(async|policy)_np4|mpi_test_(close_busy|stale_handle)_np[124]|mpi_test_imap_window_np[12]"
tsan_tests+="|mpi_test_nested_map_np1|mpi_test_sigterm_atexit_np1"
# Callbacks (the pool's callback thread) at 1 and 2 ranks, the pull imap
# (its queue between the engine and the reader) at 2: ~24 s of test time.
# An imap's source and sink out of the engine's lock, on the progress
# thread too (test_stream_callbacks) at 2.
tsan_tests+="|mpi_test_callbacks_np[12]|mpi_test_imap_pull_np2|mpi_test_stream_callbacks_np2)$"
run_suite "TSan (Open MPI)" build-tsan "$ompi $common -DMPIPOOL_SANITIZE=thread -DMPIPOOL_BUILD_EXAMPLES=OFF" \
  "-R $tsan_tests" only || status=1
# Fuzzing: 10 s per target from the committed corpus (tests/fuzz/README.md).
run_suite "libFuzzer (clang)" build-fuzz \
  "-DCMAKE_C_COMPILER=clang -DMPI_C_COMPILER=mpicc.openmpi -DMPIPOOL_FUZZ=ON -DMPIPOOL_BUILD_TESTS=OFF -DMPIPOOL_BUILD_EXAMPLES=OFF" \
  "-L fuzz" || status=1
echo "==== benchmarks, smoke sizes (bench/run --smoke)"
bash bench/run --smoke || { echo "bench/run --smoke failed" >&2; status=1; }
# The library built with SimGrid's smpicc, 64 simulated ranks, hierarchy on
# and off, every result checked (bench/README.md, "Scale").
echo "==== scale benchmark, smoke sizes (bench/run scale --smoke)"
bash bench/run scale --smoke || { echo "bench/run scale --smoke failed" >&2; status=1; }
if [ $status -eq 0 ]; then echo "==== all suites passed (Open MPI, MPICH, ASan+UBSan, TSan, fuzz)"; else echo "==== FAILED" >&2; fi
exit $status
