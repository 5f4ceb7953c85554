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

/* ---- state shared with signal handlers and the runner ------------------- */

volatile sig_atomic_t g_term;  /* SIGTERM/SIGINT arrived on this rank   */
volatile sig_atomic_t g_halt;  /* rank 0 asked us to stop (halt, term)  */
volatile sig_atomic_t g_nostart; /* start no more jobs here (halt)       */
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
    signal(SIGXFSZ, SIG_IGN); /* a file-size limit: EFBIG, reported, not a death      */
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

/* ---- the launcher's death ---------------------------------------------------
 * A rank's parent is its launcher (mpirun, or a local daemon: orted,
 * hydra_pmi_proxy, slurmstepd).  When it dies the job is over: a batch
 * system or a user killed it.  The ranks must then stop as on SIGTERM,
 * and must not go on running jobs or writing the joblog, which the next
 * run (--resume) is about to read.  A watchdog thread on every rank (no
 * MPI calls) looks every WATCH_MS; rank 0 also looks before every joblog
 * line.  If the rank has not ended ORPHAN_GRACE seconds after the launcher
 * died (MPI may hang with its peers gone), the watchdog ends it. */

#define WATCH_MS 100
#define ORPHAN_GRACE 3.0

static pid_t g_parent = -1, g_grandparent = -1;
volatile sig_atomic_t g_orphan;

/* The parent of `pid`, from /proc (-1 if unknown). */
static pid_t parent_of(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    int ppid;
    return p && sscanf(p + 1, " %*c %d", &ppid) == 1 ? (pid_t)ppid : -1;
}

/* MPICH's hydra starts ranks under a per-node proxy that may outlive
 * mpiexec: there the launcher is the proxy's parent. */
static int parent_is_proxy(pid_t pid) {
    char path[64], comm[64] = "";
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) return 0;
    int ok = fgets(comm, sizeof comm, f) != NULL;
    fclose(f);
    return ok && strncmp(comm, "hydra_pmi_proxy", 15) == 0;
}

int mr_launcher_gone(void) {
    if (g_orphan) return 1;
    if (g_parent <= 1) return 0; /* started by init (no launcher to watch) */
    int gone = getppid() != g_parent;
    if (!gone && g_grandparent > 1) gone = parent_of(g_parent) != g_grandparent;
    if (gone) {
        g_orphan = 1;
        g_term = 1;
        if (g_wake[1] >= 0) {
            ssize_t w = write(g_wake[1], "T", 1);
            (void)w;
        }
    }
    return gone;
}

static void *watchdog(void *arg) {
    (void)arg;
    struct timespec tick = {0, WATCH_MS * 1000000L};
    while (!mr_launcher_gone()) nanosleep(&tick, NULL);
    mr_diag("the launcher (pid %d) is gone: stopping", (int)g_parent);
    for (int i = 0; i < (int)(ORPHAN_GRACE * 1000 / WATCH_MS); i++) nanosleep(&tick, NULL);
    /* Still here: MPI is stuck on peers that are gone.  Nothing we hold
     * needs a flush (the joblog is written line by line with write(2)). */
    _exit(EXIT_RESUMABLE);
    return NULL;
}

/* The kernel's word that our parent died (PR_SET_PDEATHSIG): at once, where
 * the watchdog would take up to WATCH_MS.  The signal also comes when the
 * parent *thread* that started us ends, so it is only a hint: check. */
static void on_parent_death(int sig) {
    (void)sig;
    int saved = errno;
    if (g_parent > 1 && getppid() != g_parent) { /* async-signal-safe part of mr_launcher_gone */
        g_orphan = 1;
        g_term = 1;
        if (g_wake[1] >= 0) {
            ssize_t w = write(g_wake[1], "T", 1);
            (void)w;
        }
    }
    errno = saved;
}

static void start_watchdog(void) {
    g_parent = getppid();
#ifdef __linux__
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_parent_death;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, NULL); /* no SA_RESTART: a job's poll() wakes up */
    prctl(PR_SET_PDEATHSIG, SIGUSR2);
#endif
    if (parent_is_proxy(g_parent)) g_grandparent = parent_of(g_parent);
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (g_parent > 1 && pthread_create(&th, &at, watchdog, NULL) != 0)
        mr_diag("warning: cannot watch the launcher: %s", strerror(errno));
    pthread_attr_destroy(&at);
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
    start_watchdog();

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
