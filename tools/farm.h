/*
 * farm.h — what travels between mpipool-run's master and its workers.
 *
 * An item is an item_hdr followed by the command's bytes (no NUL); a result
 * is a res_hdr followed by the task's stdout then its stderr.  Both are
 * copied in and out with memcpy (the library's buffers carry no alignment
 * promise).  All ranks run the same binary, so the layout is the same
 * everywhere; like the library, we assume one byte order across the job.
 */
#ifndef MPIPOOL_RUN_FARM_H
#define MPIPOOL_RUN_FARM_H

#include <signal.h>
#include <stdint.h>
#include <mpi.h>
#include <mpipool.h>

#define MR_ITEM_FILLER 1u  /* no command: only takes a place in a retry round     */
#define MR_ITEM_GATE_FAIL 2u /* if the job fails, wait for rank 0's word (MR_CTL_GATE)
                              * before starting another job: --halt ...,fail=       */
#define MR_ITEM_GATE_OK 4u   /* the same if it succeeds: --halt ...,success=/done=  */

typedef struct item_hdr {
    uint64_t seq;       /* the job's number: its input line, 1-based             */
    double timeout;     /* seconds; 0: none                                      */
    int32_t avoid_rank; /* a retry: do not run it on this rank (-1: anywhere)     */
    uint32_t flags;     /* MR_ITEM_*                                             */
} item_hdr;

#define MR_RES_TIMEDOUT 1u    /* killed by --timeout                               */
#define MR_RES_INTERRUPTED 2u /* stopped (or never started) by a shutdown or halt */
#define MR_RES_BOUNCED 4u     /* not run: this rank is the one to avoid             */
#define MR_RES_FILLER 8u      /* a filler item's result                             */
#define MR_RES_SPAWN 16u      /* could not be started (pipe/fork failed)           */
#define MR_RES_LOST 32u       /* part of the output could not be captured           */
#define MR_RES_TERM 64u       /* the worker itself got SIGTERM/SIGINT: stop the farm */
#define MR_RES_GATED 128u     /* the worker waits for MR_CTL_GATE before its next job */
#define MR_RES_E2BIG 256u     /* the command line is over the kernel's limit         */

typedef struct res_hdr {
    uint64_t seq;
    int32_t rank;
    int32_t exitval;
    int32_t signal;
    uint32_t flags; /* MR_RES_* */
    double start, runtime;
    uint64_t out_len, err_len;
    char host[64];  /* the worker's host name, one word, NUL-terminated */
} res_hdr;

/* Tags of the tool's own control messages, on its own duplicate of
 * MPI_COMM_WORLD (never the pool's communicator). */
enum { MR_CTL_STOP = 1, MR_CTL_DONE = 2, MR_CTL_GATE = 3 };

/* The one-byte body of an MR_CTL_GATE: may the worker start its next job? */
enum { MR_GATE_GO = 1, MR_GATE_HALT = 0 };

/* Exit statuses, as GNU parallel's: 0 all jobs succeeded, 1..100 that many
 * failed, 101 more than 100 failed, 255 a usage or other error.  We add
 * 143 = 128 + SIGTERM: stopped by SIGTERM, the joblog is complete and
 * --resume will finish the work.  143 is what a shell reports for a
 * program killed by SIGTERM, so scripts and batch systems that already
 * treat "killed at the time limit" as "requeue" do the right thing, and it
 * cannot be confused with a count of failed jobs (at most 101). */
#define EXIT_USAGE 255
#define EXIT_RESUMABLE 143

/* --halt, as parallel's: when (never, soon, now), on what, how many. */
enum { HALT_NEVER = 0, HALT_SOON = 1, HALT_NOW = 2 };
enum { HALT_ON_FAIL = 1, HALT_ON_SUCCESS = 2, HALT_ON_DONE = 3 };

/* What the command line asked for (options.c parses it). */
typedef struct options {
    const char *joblog, *results;
    int joblog_append;  /* --joblog +FILE                                        */
    char *tmpl;         /* NULL: each input line is a command                    */
    int keep_order, tag, resume, resume_failed, summary, dry_run, verbose, trace;
    double timeout;     /* seconds; 0: none                                      */
    unsigned retries;   /* total tries per job (parallel's --retries); 0: forever */
    int halt_when, halt_on;
    unsigned long long halt_count; /* a number of jobs, or ...                  */
    double halt_pct;               /* ... a fraction of them (0: a number)       */
    unsigned progress;
    void *input;        /* the mr_input (input.h) the sources were added to      */
} options;

/* State shared by the files of the tool (defined in mpipool-run.c). */
extern volatile sig_atomic_t g_term; /* SIGTERM/SIGINT arrived on this rank    */
extern volatile sig_atomic_t g_halt; /* stop running jobs (halt, or rank 0 said) */
extern MPI_Comm g_ctl;               /* our own duplicate of MPI_COMM_WORLD     */
extern int g_rank, g_nranks;
extern char g_host[64];              /* this host's name, one word              */
extern int g_wake[2];                /* rank 0: a pipe that wakes the stop thread */
extern volatile sig_atomic_t g_orphan; /* this rank's launcher is gone          */
extern volatile sig_atomic_t g_nostart; /* start no more jobs on this rank (halt) */

/* Has this rank's launcher (its parent when it started) gone?  Then the
 * rank stops as on SIGTERM: sets g_term and g_orphan and returns 1. */
int mr_launcher_gone(void);

/* A diagnostic on stderr: "mpipool-run: ", plus "[rank N] " on a worker. */
#if defined(__GNUC__) || defined(__clang__)
/* ranks.c: SIGTERM/SIGINT set g_term; the watchdog notices the launcher's
 * death (g_orphan).  Both once, from main. */
void mr_install_signals(void);
void mr_start_watchdog(void);
void mr_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#else
void mr_diag(const char *fmt, ...);
#endif

/* 0: run; 1: --help or --version printed; -1: a usage error, reported.
 * `in` (an mr_input) receives the input sources. */
int mr_parse_options(int argc, char **argv, options *o, void *in);

/* The task every rank registers (job.c): run one job, return a res_hdr
 * followed by its stdout and stderr. */
int farm_job(mpipool_task *t);

/* Rank 0's whole run (master.c): returns the exit status. */
int mr_master(mpipool *pool, int argc, char **argv, int thread_multiple);

#endif
