/*
 * progress.h — mpipool-run's own progress display on stderr (--progress,
 * --eta, --bar).  Kept behind these three calls so it can be swapped for
 * the library's display (issue 7) without touching the tool.
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
    unsigned mode; /* 0: off (also when stderr is a file) */
    double t0, last;
    int drawn;
} mr_progress;

void mr_progress_init(mr_progress *p, unsigned mode);
/* Redraw at most 5 times a second unless `force`. */
void mr_progress_update(mr_progress *p, const mr_counts *c, int force);
/* Erase the display (before the summary line is printed). */
void mr_progress_end(mr_progress *p);

#endif
