/*
 * progress.c — the progress display: items done / total, items per second
 * and the time left, as a bar redrawn in place on a terminal or as plain
 * lines at a fixed interval elsewhere (which, and how a line is drawn: the
 * rules of term.c, shared with mpipool-run).  No MPI and no pool: the caller
 * passes counts and the clock, so a tool can drive it with its own counts
 * and a test can drive it without sleeping.
 *
 * Invariant: a bar redraws at most once per interval (its first update and
 * its final line excepted), and only mpipool__progress_finish ends its line
 * with a newline, so a finished job's last line stays on screen.  Two jobs
 * drawing bars at once share the one line (the stats table and the trace
 * are written at close, after every job has finished).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "observe.h"
#include "term.h"

#define BAR_WIDTH 24

int mpipool__progress_mode(const char *value, int is_tty) {
    if (value == NULL || value[0] == '\0' || strcmp(value, "0") == 0) return MPIPOOL__PROGRESS_OFF;
    if (strcmp(value, "bar") != 0 && strcmp(value, "log") != 0 && strcmp(value, "1") != 0)
        return MPIPOOL__PROGRESS_INVALID;
    return mpipool__term_style(is_tty, value) == MPIPOOL__TERM_REDRAW ? MPIPOOL__PROGRESS_BAR : MPIPOOL__PROGRESS_LOG;
}

double mpipool__progress_interval(const char *value, int mode) {
    double dflt = mpipool__term_interval(mode == MPIPOOL__PROGRESS_BAR ? MPIPOOL__TERM_REDRAW : MPIPOOL__TERM_LINES);
    if (value == NULL || value[0] == '\0') return dflt;
    char *end;
    double v = strtod(value, &end);
    if (end == value || *end != '\0' || !(v >= 0.0) || v > 86400.0) return -1.0;
    return v < MPIPOOL__PROGRESS_MIN_INTERVAL ? MPIPOOL__PROGRESS_MIN_INTERVAL : v;
}

void mpipool__progress_init(mpipool__progress *p, FILE *out, int mode, double interval, const char *label,
                            double now) {
    memset(p, 0, sizeof *p);
    p->out = out;
    p->mode = mode;
    p->interval = interval;
    p->start = p->last = now;
    p->width = out ? mpipool__term_width_fd(fileno(out)) : 0;
    snprintf(p->label, sizeof p->label, "%s", label ? label : "mpipool");
}

/* "12.3 s" under a minute, then "2:03" and "1:02:03". */
static void fmt_duration(char *buf, size_t size, double s) {
    if (!(s >= 0.0) || s > 359999.0) {
        snprintf(buf, size, "?");
        return;
    }
    if (s < 59.95) {
        snprintf(buf, size, "%.1f s", s);
        return;
    }
    unsigned long t = (unsigned long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, size, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, size, "%lu:%02lu", t / 60, t % 60);
}

size_t mpipool__progress_format(char *buf, size_t size, const mpipool__progress *p, size_t done, size_t total,
                                double now, const char *status, int final) {
    double elapsed = now - p->start;
    double rate = elapsed > 0 ? (double)done / elapsed : 0.0;
    int known = total != MPIPOOL__PROGRESS_UNKNOWN;
    char eta[32], took[32], bar[BAR_WIDTH + 3] = "";
    size_t len = 0;
    int n;
    fmt_duration(took, sizeof took, elapsed);
    if (known && rate > 0 && done <= total)
        fmt_duration(eta, sizeof eta, (double)(total - done) / rate);
    else
        snprintf(eta, sizeof eta, "?");
    double frac = known && total > 0 ? (double)done / (double)total : (known ? 1.0 : 0.0);
    if (frac > 1.0) frac = 1.0;
    if (p->mode == MPIPOOL__PROGRESS_BAR && known) {
        int fill = (int)(frac * BAR_WIDTH + 1e-9);
        bar[0] = '[';
        for (int i = 0; i < BAR_WIDTH; i++) bar[1 + i] = i < fill ? '#' : '.';
        bar[BAR_WIDTH + 1] = ']';
        bar[BAR_WIDTH + 2] = '\0';
    }
    if (known)
        n = snprintf(buf, size, "%s: %s%s%3.0f%% %zu/%zu items, %.1f items/s", p->label, bar, bar[0] ? " " : "",
                     100.0 * frac, done, total, rate);
    else
        n = snprintf(buf, size, "%s: %zu items, %.1f items/s", p->label, done, rate);
    if (n > 0) len = (size_t)n < size ? (size_t)n : size - 1;
    if (final)
        n = snprintf(buf + len, size - len, ", %s in %s", status ? status : "done", took);
    else if (known)
        n = snprintf(buf + len, size - len, ", ETA %s", eta);
    else
        n = snprintf(buf + len, size - len, ", %s so far", took);
    if (n > 0) len += (size_t)n < size - len ? (size_t)n : size - len - 1;
    return len;
}

static void draw(mpipool__progress *p, size_t done, size_t total, double now, const char *status, int final) {
    char line[256];
    mpipool__progress_format(line, sizeof line, p, done, total, now, status, final);
    int bar = p->mode == MPIPOOL__PROGRESS_BAR;
    mpipool__term_draw(p->out, bar ? MPIPOOL__TERM_REDRAW : MPIPOOL__TERM_LINES, p->width, line, final);
    p->on_screen = bar && !final;
    p->last = now;
    p->draws++;
}

int mpipool__progress_update(mpipool__progress *p, size_t done, size_t total, double now) {
    if (p->mode == MPIPOOL__PROGRESS_OFF) return 0;
    int first = p->mode == MPIPOOL__PROGRESS_BAR && p->draws == 0;
    if (!first && now - p->last < p->interval) return 0;
    draw(p, done, total, now, NULL, 0);
    return 1;
}

void mpipool__progress_finish(mpipool__progress *p, size_t done, size_t total, double now, const char *status) {
    if (p->mode == MPIPOOL__PROGRESS_OFF) return;
    draw(p, done, total, now, status, 1);
}
