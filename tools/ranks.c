/*
 * ranks.c — what every rank of the task farm shares with its signal
 * handlers and the runner: the stop flags, SIGTERM/SIGINT, and the watchdog
 * that notices the launcher's death.  A leaf under main (mpipool-run.c) and
 * the farm's files: it calls none of them but mr_diag.
 */
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
int g_nranks;
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

void mr_install_signals(void) {
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

void mr_start_watchdog(void) {
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

