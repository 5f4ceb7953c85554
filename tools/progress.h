/*
 * progress.h — mpipool-run's progress display on stderr (--progress,
 * --eta, --bar): its own counts, drawn by the library's terminal rules
 * (src/term.c).
 */
#ifndef MPIPOOL_RUN_PROGRESS_H
#define MPIPOOL_RUN_PROGRESS_H

#define MR_PROGRESS_COUNTS 1u /* --progress: counts                    */
#define MR_PROGRESS_ETA 2u    /* --eta: counts and estimated time left */
#define MR_PROGRESS_BAR 4u    /* --bar: a bar and a percentage         */

typedef struct mr_counts {
    unsigned long long done, failed, skipped, running;
    unsigned long long total; /* 0 while the input is not read to its end */
} mr_counts;

typedef struct mr_progress {
    unsigned mode;  /* 0: off */
    int style;      /* src/term.h: redrawn, or plain lines */
    int width;      /* stderr's columns; 0: unknown */
    double interval; /* seconds between draws (term.c) */
    double t0, last;
    int drawn;
} mr_progress;

void mr_progress_init(mr_progress *p, unsigned mode);
/* Draw at most once per interval (term.c) unless `force`. */
void mr_progress_update(mr_progress *p, const mr_counts *c, int force);
/* Erase a redrawn display (before the summary line is printed); plain
 * lines stay. */
void mr_progress_end(mr_progress *p);

#endif
