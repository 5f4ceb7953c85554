/*
 * mpipool-run.c — a task farm for batch jobs, built on mpipool's public API:
 *
 *     mpirun -n 64 mpipool-run [options] [command template] < inputs
 *
 * Rank 0 reads the input lines, fills the template (template.c) and streams
 * one item per job through mpipool_imap() (master.c); a worker runs each
 * job as /bin/sh -c in its own process group (job.c, runner.c) and sends
 * back one result: exit status, signal, times and the captured stdout and
 * stderr (farm.h has the formats).  Rank 0 writes the joblog (joblog.c),
 * the --results files and the output.  With one rank the master runs the
 * jobs itself (the library does that).  This file: main on every rank,
 * signals, diagnostics, and the command line.
 *
 * Why these choices:
 *  - imap, unordered, one job per chunk: jobs are whole programs, so the
 *    message cost per job is nothing, and a chunk of one means a job's
 *    result comes back the moment it ends.  The tool orders output itself
 *    (--keep-order), because a retried job is finished after later ones.
 *    Output that must wait for an earlier job goes to a spool file on rank
 *    0, not to memory.
 *  - Retries run in later rounds (a new imap over the jobs to retry), since
 *    an imap's source cannot be refilled once it has ended.  A retry names
 *    the rank it failed on; the first item of a round goes to rank 1, the
 *    next to rank 2 and so on (the engine's first pass), so the round is laid
 *    out with filler items to put each retry on another rank, and a rank
 *    that gets a job it must avoid anyway sends it back ("bounced") for the
 *    next round, at most MAX_BOUNCES times, after which it runs anywhere.
 *  - A side channel (MR_CTL_STOP on our own duplicate of MPI_COMM_WORLD)
 *    lets rank 0 stop the jobs running on workers: for --halt now, and for
 *    a SIGTERM that reached rank 0 only.  A worker probes for it while it
 *    waits on its child.  Rank 0 sends it from a small thread woken through
 *    a pipe (so a signal handler can trigger it) when MPI gives
 *    MPI_THREAD_MULTIPLE; otherwise from the imap callbacks, which then run
 *    on the main thread.  MR_CTL_DONE, sent after the pool is closed, tells
 *    each worker that no STOP can follow, so no message is left unreceived.
 *  - SIGTERM (a batch system's time limit) stops the jobs in flight; they are
 *    not written to the joblog, so --resume runs them again; the joblog is
 *    fsync'ed; the exit status is 143 (see EXIT_RESUMABLE).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <mpi.h>
#include <mpipool.h>

#include "farm.h"
#include "progress.h"
#include "template.h"

/* ---- state shared with signal handlers and the runner ------------------- */

volatile sig_atomic_t g_term;  /* SIGTERM/SIGINT arrived on this rank   */
volatile sig_atomic_t g_halt;  /* rank 0 asked us to stop (halt, term)  */
MPI_Comm g_ctl = MPI_COMM_NULL;
int g_rank, g_nranks;
char g_host[64];
int g_wake[2] = {-1, -1};      /* rank 0: wakes the stop thread         */

static void on_signal(int sig) {
    (void)sig;
    int saved = errno;
    g_term = 1;
    if (g_wake[1] >= 0) {
        ssize_t w = write(g_wake[1], "T", 1);
        (void)w;
    }
    errno = saved;
}

static void install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a closed stdout is an error we report, not a death */
}

void mr_diag(const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (g_rank == 0) fprintf(stderr, "mpipool-run: %s\n", msg);
    else fprintf(stderr, "mpipool-run: [rank %d] %s\n", g_rank, msg);
}

/* ---- the master: options --------------------------------------------------- */


static void usage(FILE *f) {
    fprintf(f,
        "Usage: mpirun -n N mpipool-run [options] [command template] < inputs\n"
        "Run a command for every input line across the ranks of an MPI job\n"
        "(rank 0 hands out the jobs, the other ranks run them).\n"
        "\n"
        "Without a template each input line is a whole shell command.  In a template\n"
        "{} is the line, {.} the line without extension, {/} its basename, {//} its\n"
        "dirname, {/.} the basename without extension, {#} the job number; values\n"
        "are shell-quoted; with no placeholder, \" {}\" is appended (GNU parallel).\n"
        "\n"
        "Options:\n"
        "  -a, --arg-file FILE  read input lines from FILE (- for standard input)\n"
        "  -k, --keep-order     print output in input order (default: as jobs finish)\n"
        "      --tag            prefix each output line with the input line and a tab\n"
        "      --results DIR    also write DIR/<job>/{stdout,stderr,exitval,signal,cmd}\n"
        "      --joblog FILE    log each finished job in GNU parallel's joblog format\n"
        "      --resume         skip jobs the joblog lists; refuse a joblog whose\n"
        "                       commands do not match the input\n"
        "      --resume-failed  the same, but run again the jobs that failed\n"
        "      --timeout SECS   kill a job's process group after SECS seconds\n"
        "      --retries N      run a failing job up to N times in all, on another\n"
        "                       rank where there is one\n"
        "      --halt WHEN      never (default), now,fail=N (kill running jobs after\n"
        "                       N failures), soon,fail=N (let running jobs finish)\n"
        "      --progress, --eta, --bar\n"
        "                       show progress on stderr when it is a terminal\n"
        "  -h, --help           show this help and exit\n"
        "  -V, --version        show the version and exit\n"
        "\n"
        "Each job gets MPIPOOL_TASK_ID (its number) and MPIPOOL_RANK in its environment.\n"
        "Exit status: 0 if every job succeeded, N (up to 100) if N jobs failed, 101 if\n"
        "more failed, 143 if stopped by SIGTERM (resumable with --resume), 255 for a\n"
        "usage or other error.  See mpipool-run(1).\n");
}

static int parse_ull(const char *s, unsigned long long *v) {
    char *end;
    if (s == NULL || *s < '0' || *s > '9') return -1;
    errno = 0;
    *v = strtoull(s, &end, 10);
    return errno || *end ? -1 : 0;
}

static int parse_halt(const char *s, options *o) {
    unsigned long long n;
    if (strcmp(s, "never") == 0 || strcmp(s, "0") == 0) {
        o->halt_now = 0;
        return 0;
    }
    if (strcmp(s, "1") == 0 || strcmp(s, "2") == 0) { /* parallel's old numeric forms */
        o->halt_now = s[0] == '2' ? 2 : 1;
        o->halt_fail = 1;
        return 0;
    }
    const char *rest;
    if (strncmp(s, "now,fail=", 9) == 0) {
        o->halt_now = 2;
        rest = s + 9;
    } else if (strncmp(s, "soon,fail=", 10) == 0) {
        o->halt_now = 1;
        rest = s + 10;
    } else {
        return -1;
    }
    if (parse_ull(rest, &n) != 0 || n == 0) return -1;
    o->halt_fail = n;
    return 0;
}

int mr_parse_options(int argc, char **argv, options *o) {
    enum { O_TAG = 256, O_RESULTS, O_JOBLOG, O_RESUME, O_RESUME_FAILED, O_TIMEOUT, O_RETRIES,
           O_HALT, O_PROGRESS, O_ETA, O_BAR };
    static const struct option longs[] = {
        {"arg-file", required_argument, NULL, 'a'}, {"keep-order", no_argument, NULL, 'k'},
        {"tag", no_argument, NULL, O_TAG}, {"results", required_argument, NULL, O_RESULTS},
        {"joblog", required_argument, NULL, O_JOBLOG}, {"resume", no_argument, NULL, O_RESUME},
        {"resume-failed", no_argument, NULL, O_RESUME_FAILED},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"retries", required_argument, NULL, O_RETRIES}, {"halt", required_argument, NULL, O_HALT},
        {"progress", no_argument, NULL, O_PROGRESS}, {"eta", no_argument, NULL, O_ETA},
        {"bar", no_argument, NULL, O_BAR}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->retries = 1;
    opterr = 0;
    optind = 1;
    int c;
    unsigned long long n;
    while ((c = getopt_long(argc, argv, "+:a:khV", longs, NULL)) != -1) {
        switch (c) {
        case 'a': o->argfile = optarg; break;
        case 'k': o->keep_order = 1; break;
        case O_TAG: o->tag = 1; break;
        case O_RESULTS: o->results = optarg; break;
        case O_JOBLOG: o->joblog = optarg; break;
        case O_RESUME: o->resume = 1; break;
        case O_RESUME_FAILED: o->resume_failed = 1; break;
        case O_TIMEOUT: {
            char *end;
            errno = 0;
            o->timeout = strtod(optarg, &end);
            if (errno || *end || !(o->timeout > 0) || o->timeout > 1e9) {
                mr_diag("--timeout wants a number of seconds > 0, not '%s'", optarg);
                return -1;
            }
            break;
        }
        case O_RETRIES:
            if (parse_ull(optarg, &n) != 0 || n > 255) {
                mr_diag("--retries wants a whole number from 0 to 255, not '%s'", optarg);
                return -1;
            }
            o->retries = n ? (unsigned)n : 1;
            break;
        case O_HALT:
            if (parse_halt(optarg, o) != 0) {
                mr_diag("--halt wants never, now,fail=N or soon,fail=N (N >= 1), not '%s'", optarg);
                return -1;
            }
            break;
        case O_PROGRESS: o->progress |= MR_PROGRESS_COUNTS; break;
        case O_ETA: o->progress |= MR_PROGRESS_ETA; break;
        case O_BAR: o->progress |= MR_PROGRESS_BAR; break;
        case 'h': usage(stdout); return 1;
        case 'V':
            printf("mpipool-run (mpipool) %s\n", mpipool_version_string());
            return 1;
        case ':':
            mr_diag("option '%s' needs an argument (see --help)", argv[optind - 1]);
            return -1;
        default:
            if (optopt) mr_diag("unknown option '-%c' (see --help)", optopt);
            else mr_diag("unknown option '%s' (see --help)", argv[optind - 1]);
            return -1;
        }
    }
    if ((o->resume || o->resume_failed) && o->joblog == NULL) {
        mr_diag("--resume and --resume-failed need --joblog FILE");
        return -1;
    }
    if (o->resume && o->resume_failed) {
        mr_diag("--resume and --resume-failed exclude each other");
        return -1;
    }
    if (optind < argc) {
        size_t len = 0;
        for (int i = optind; i < argc; i++) len += strlen(argv[i]) + 1;
        o->tmpl = malloc(len);
        if (o->tmpl == NULL) return -1;
        o->tmpl[0] = '\0';
        for (int i = optind; i < argc; i++) {
            if (i > optind) strcat(o->tmpl, " ");
            strcat(o->tmpl, argv[i]);
        }
        char err[256];
        if (mr_template_check(o->tmpl, NULL, err, sizeof err) != 0) {
            mr_diag("%s", err);
            return -1;
        }
    }
    return 0;
}

/* ---- main: every rank ------------------------------------------------------- */

int main(int argc, char **argv) {
    int provided = MPI_THREAD_SINGLE;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "mpipool-run: MPI_Init_thread failed\n");
        return EXIT_USAGE;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_nranks);
    MPI_Comm_dup(MPI_COMM_WORLD, &g_ctl);
    if (gethostname(g_host, sizeof g_host) != 0 || g_host[0] == '\0') snprintf(g_host, sizeof g_host, ":");
    g_host[sizeof g_host - 1] = '\0';
    for (char *p = g_host; *p; p++) /* parallel's joblog reader wants one word */
        if (*p == ' ' || *p == '\t' || *p == '\n') *p = '_';
    install_signals();

    mpipool *pool;
    int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
    if (rc != MPIPOOL_OK) {
        mr_diag("cannot open the pool: %s", mpipool_last_error(NULL));
        MPI_Comm_free(&g_ctl);
        MPI_Finalize();
        return EXIT_USAGE;
    }
    int code = 0;
    if (!mpipool_is_master(pool)) {
        rc = mpipool_serve(pool);
        if (rc == MPIPOOL_OK) {
            /* Take every STOP rank 0 sent, up to its DONE. */
            MPI_Status st;
            do {
                MPI_Recv(NULL, 0, MPI_BYTE, 0, MPI_ANY_TAG, g_ctl, &st);
            } while (st.MPI_TAG != MR_CTL_DONE);
        } else {
            code = 1;
        }
    } else {
        code = mr_master(pool, argc, argv, provided == MPI_THREAD_MULTIPLE);
        if (mpipool_close(pool) != MPIPOOL_OK) {
            mr_diag("closing the pool failed: %s", mpipool_last_error(NULL));
            if (code == 0) code = EXIT_USAGE;
        }
        for (int r = 1; r < g_nranks; r++) MPI_Send(NULL, 0, MPI_BYTE, r, MR_CTL_DONE, g_ctl);
    }
    MPI_Comm_free(&g_ctl);
    MPI_Finalize();
    return code;
}
