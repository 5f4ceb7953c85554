/*
 * runner.h — run one command as a child process and capture its output:
 * /bin/sh -c CMD in its own process group, stdout and stderr read through
 * pipes with poll(), a timeout that kills the whole group.  No MPI here.
 */
#ifndef MPIPOOL_RUN_RUNNER_H
#define MPIPOOL_RUN_RUNNER_H

#include <stddef.h>
#include <stdint.h>

/* Captured bytes: the first MR_SPILL_BYTES in memory, the rest (if any) in
 * an unlinked temporary file, so a chatty task costs its worker disk, not
 * memory, while it runs. */
#define MR_SPILL_BYTES ((size_t)4 << 20)

typedef struct mr_capture {
    char *mem;
    size_t len, cap; /* bytes in mem                         */
    int fd;          /* spill file, -1 if none               */
    uint64_t spilled;/* bytes in the spill file, after mem   */
    int error;       /* errno of a failed spill, 0 if none   */
} mr_capture;

typedef struct mr_run_result {
    int exitval;      /* exit status; -1 when killed by --timeout (parallel's joblog) */
    int signal;       /* the signal that ended it, 0 if none                         */
    int timed_out;
    int interrupted;  /* stopped because should_stop() said so (shutdown, halt)      */
    int spawn_error;  /* errno of a failed pipe/fork, 0 if it ran                     */
    double start;     /* wall clock, seconds since the epoch                         */
    double runtime;   /* seconds                                                     */
    mr_capture out, err;
} mr_run_result;

/* Run `cmd` with environment `envp` (NULL-terminated), killing its process
 * group after `timeout` seconds (<= 0: never) or as soon as should_stop(ctx)
 * returns non-zero (checked at least every 100 ms; may be NULL).  Killing
 * sends SIGTERM to the group, then SIGKILL after MR_KILL_GRACE seconds.
 * Fills *r (free its captures with mr_run_result_free).  Returns 0 when the
 * command ran (whatever its exit status), -1 when it could not be started
 * (r->spawn_error says why). */
#define MR_KILL_GRACE 2.0
int mr_run(const char *cmd, char *const envp[], double timeout, int (*should_stop)(void *),
           void *ctx, mr_run_result *r);

/* Total bytes captured, and a copy of all of them into dst (room for that
 * many).  mr_capture_copy returns 0, or -1 if the spill file cannot be read. */
uint64_t mr_capture_size(const mr_capture *c);
int mr_capture_copy(const mr_capture *c, char *dst);
void mr_run_result_free(mr_run_result *r);

#endif
