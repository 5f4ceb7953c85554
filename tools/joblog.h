/*
 * joblog.h — GNU parallel's --joblog format for mpipool-run: one header
 * line, then one tab-separated line per finished job:
 *
 *     Seq Host Starttime JobRuntime Send Receive Exitval Signal Command
 *
 * Pure code (no MPI, no I/O), unit-tested in tests/unit/test_joblog.c.
 */
#ifndef MPIPOOL_RUN_JOBLOG_H
#define MPIPOOL_RUN_JOBLOG_H

#include <stddef.h>

#define MR_JOBLOG_HEADER "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n"

typedef struct mr_joblog_entry {
    unsigned long long seq;
    const char *host;    /* no tab, space or newline (parallel's reader needs \S+) */
    double start;        /* seconds since the epoch                              */
    double runtime;      /* seconds                                              */
    unsigned long long send, receive;
    int exitval;         /* -1 for a job killed by --timeout, as parallel writes */
    int signal;
    const char *command; /* the rest of the line (may hold tabs)                 */
    size_t command_len;
} mr_joblog_entry;

/* Format `e` as one joblog line, newline included, into a malloc'd string
 * (*len its length).  Newlines in the command become NUL bytes, as
 * parallel writes them.  NULL when out of memory. */
char *mr_joblog_format(const mr_joblog_entry *e, size_t *len);

/* Parse one line (without its newline) into *e; e->host and e->command
 * point into `line`, e->host not terminated (its length in *host_len).
 * Returns 0, or -1 if the line is not a joblog line. */
int mr_joblog_parse(const char *line, size_t len, mr_joblog_entry *e, size_t *host_len);

/* Is `line` (without its newline) the header?  1 or 0. */
int mr_joblog_is_header(const char *line, size_t len);

/* Did the job succeed (exit value 0 and no signal)?  The test parallel's
 * --resume-failed applies. */
int mr_joblog_succeeded(const mr_joblog_entry *e);

#endif
