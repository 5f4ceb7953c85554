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
#include <pthread.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <mpi.h>
#include <mpipool.h>

#include "farm.h"

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
    mr_install_signals();
    mr_start_watchdog();

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
            /* Take every STOP (and unanswered GATE) rank 0 sent, up to its DONE. */
            MPI_Status st;
            char byte;
            do {
                MPI_Recv(&byte, 1, MPI_BYTE, 0, MPI_ANY_TAG, g_ctl, &st);
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
