/*
 * progress.c — mpipool-run's progress display on stderr: its counts (done,
 * failed, running), a bar and the time left.  How it is drawn is the
 * library's rule (src/term.c, compiled in here too): redrawn in place with
 * \r on a terminal, and with --bar anywhere (under mpirun rank 0's stderr
 * is the launcher's pipe), as MPIPOOL_PROGRESS=bar does for the library;
 * plain lines every 10 s elsewhere, with the last line at the end.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include "progress.h"
#include "term.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void mr_progress_init(mr_progress *p, unsigned mode) {
    p->mode = mode;
    /* --bar asks for the bar as MPIPOOL_PROGRESS=bar does the library's
     * (as GNU parallel's --bar, drawn through a launcher's pipe too). */
    p->style = mpipool__term_style_fd(2, (mode & MR_PROGRESS_BAR) ? "bar" : NULL);
    p->width = mpipool__term_width_fd(2);
    p->interval = mpipool__term_interval(p->style);
    p->t0 = p->last = now();
    p->drawn = 0;
}

void mr_progress_update(mr_progress *p, const mr_counts *c, int force) {
    if (p->mode == 0) return;
    double t = now();
    if (!force && t - p->last < p->interval) return;
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
    char text[220];
    snprintf(text, sizeof text, "mpipool-run: %s", line);
    mpipool__term_draw(stderr, p->style, p->width, text, 0);
    p->drawn = 1;
}

void mr_progress_end(mr_progress *p) {
    if (p->mode && p->drawn) mpipool__term_erase(stderr, p->style); /* plain lines stay */
    p->drawn = 0;
}
