/*
 * progress.c — a one-line progress display, redrawn in place with \r.
 *
 * Drawn when stderr is a terminal, and also when it is a pipe or a socket:
 * under mpirun, mpiexec or srun rank 0's stderr is the launcher's pipe,
 * which the launcher copies to its own stderr, usually the user's
 * terminal; we cannot see past it.  Never drawn into a regular file (a log
 * would fill with carriage returns); a launcher that writes our stderr to
 * a file does get the redraws, which is the price of the rule above.
 */
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "progress.h"

static int stderr_shows_progress(void) {
    struct stat st;
    if (isatty(2)) return 1;
    if (fstat(2, &st) != 0) return 0;
    return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void mr_progress_init(mr_progress *p, unsigned mode) {
    p->mode = stderr_shows_progress() ? mode : 0;
    p->t0 = p->last = now();
    p->drawn = 0;
}

void mr_progress_update(mr_progress *p, const mr_counts *c, int force) {
    if (p->mode == 0) return;
    double t = now();
    if (!force && t - p->last < 0.2) return;
    p->last = t;
    unsigned long long finished = c->done + c->failed + c->skipped;
    char line[200];
    int n = 0;
    if (p->mode & MR_PROGRESS_BAR) {
        int width = 30, fill = 0;
        double frac = c->total ? (double)finished / (double)c->total : 0;
        if (frac > 1) frac = 1;
        fill = (int)(frac * width);
        n += snprintf(line + n, sizeof line - (size_t)n, "[");
        for (int i = 0; i < width; i++) line[n++] = i < fill ? '#' : ' ';
        n += snprintf(line + n, sizeof line - (size_t)n, "] %3.0f%% ", frac * 100);
    }
    n += snprintf(line + n, sizeof line - (size_t)n, "%llu", finished);
    if (c->total) n += snprintf(line + n, sizeof line - (size_t)n, "/%llu", c->total);
    n += snprintf(line + n, sizeof line - (size_t)n, " done, %llu failed, %llu running",
                  c->failed, c->running);
    if ((p->mode & MR_PROGRESS_ETA) && c->total && c->done + c->failed > 0) {
        double per = (t - p->t0) / (double)(c->done + c->failed);
        double left = per * (double)(c->total - finished);
        long s = (long)left;
        n += snprintf(line + n, sizeof line - (size_t)n, ", ETA %ld:%02ld:%02ld", s / 3600,
                      s / 60 % 60, s % 60);
    }
    fprintf(stderr, "\rmpipool-run: %s\033[K", line);
    fflush(stderr);
    p->drawn = 1;
}

void mr_progress_end(mr_progress *p) {
    if (p->mode && p->drawn) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
    p->drawn = 0;
}
