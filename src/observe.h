/*
 * observe.h — watching a run on the master: per-worker statistics
 * (stats.c), a Chrome trace-event timeline (trace.c) and a progress display
 * (progress.c).  Private.
 *
 * Everything here is built from what the master already sees — chunk
 * boundaries, message sizes, the `busy` seconds in each result header, and
 * the master's own clock.  No message is added to the protocol and nothing
 * runs on the workers.
 *
 * The engine calls the mpipool__obs_* hooks (one line each) where a chunk
 * is sent, a result is collected, a static share is accounted for, the
 * master runs a batch itself, and a job finishes; pool.c calls open/close.
 * Every hook is a no-op when pool->obs is NULL (workers, or no memory).
 * Hooks may run on the progress thread or the caller's thread: the
 * observer has its own lock, so they never need the engine's.
 */
#ifndef MPIPOOL_OBSERVE_H
#define MPIPOOL_OBSERVE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "mpipool.h"
#include "term.h"

struct mpipool_job;
typedef struct mpipool__obs mpipool__obs;

/* ---- hooks (stats.c), master only ---------------------------------------- */

/* Set up the observer on the master (reads MPIPOOL_STATS, MPIPOOL_TRACE,
 * MPIPOOL_PROGRESS, MPIPOOL_PROGRESS_INTERVAL).  Leaves pool->obs NULL if
 * out of memory: the pool works, unobserved. */
void mpipool__obs_open(mpipool *pool);
/* At close, after every job has finished: print the stats table
 * (MPIPOOL_STATS=1), write the trace file (MPIPOOL_TRACE=FILE), free. */
void mpipool__obs_close(mpipool *pool);
/* The start time the send and collect hooks take: MPI_Wtime when tracing,
 * else 0 (the hooks read the clock themselves if they need to). */
double mpipool__obs_now(const mpipool *pool);
/* MPI_Wtime (0 with no observer): the start time the static and ran hooks
 * take, once per static job or inline batch. */
double mpipool__obs_clock(const mpipool *pool);
/* A chunk of `count` items from `first` went to `rank`: `bytes` on the wire
 * (header included); the send began at t0. */
void mpipool__obs_sent(mpipool *pool, const struct mpipool_job *j, int rank, uint64_t first, uint64_t count,
                       size_t bytes, double t0);
/* Its result came back: `busy` seconds of task time on the worker, `bytes`
 * received; collecting it began at t0.  j->done already counts it. */
void mpipool__obs_collected(mpipool *pool, const struct mpipool_job *j, int rank, uint64_t first,
                            uint64_t count, double busy, size_t bytes, double t0);
/* The same, at `now` (MPI_Wtime, read by the caller: the engine's pass clock). */
void mpipool__obs_collected_at(mpipool *pool, const struct mpipool_job *j, int rank, uint64_t first,
                               uint64_t count, double busy, size_t bytes, double t0, double now);
/* A static share [first, first+count) ran on `rank` (busy seconds); the
 * scatter began at t0.  j->done already counts it. */
void mpipool__obs_static(mpipool *pool, const struct mpipool_job *j, int rank, uint64_t first, uint64_t count,
                         size_t in_bytes, size_t out_bytes, double busy, double t0);
/* A one-rank pool: the master ran [first, first+count) itself since t0. */
void mpipool__obs_ran(mpipool *pool, const struct mpipool_job *j, uint64_t first, uint64_t count, double t0);
/* The job is settled (j->rc final): the progress display's last line. */
void mpipool__obs_job_done(const struct mpipool_job *j);
/* Worker `rank` died with items [first, first + count) of j (they run
 * again elsewhere); count 0: it held nothing. */
void mpipool__obs_lost(mpipool *pool, const struct mpipool_job *j, int rank, uint64_t first, uint64_t count);
/* Worker `rank` gave back items [first, first + count) of j unstarted
 * (reclaim.c); they run again elsewhere. */
void mpipool__obs_given_back(mpipool *pool, const struct mpipool_job *j, int rank, uint64_t first, uint64_t count);
/* A group leader's members gave back `count` items inside its group
 * (group_back.c): counted as the leader's, with no trace event (the items
 * ran again in the group, within the leader's chunk). */
void mpipool__obs_members_gave_back(mpipool *pool, int rank, uint64_t count);

/* ---- trace (trace.c) -------------------------------------------------------
 * Events in memory, written as JSON at close.  Times are the master's
 * MPI_Wtime; see trace.c for how worker spans are derived. */
typedef struct mpipool__trace mpipool__trace;
enum mpipool__trace_kind {
    MPIPOOL__EV_CHUNK,   /* a chunk running on a worker (or on the master of a one-rank pool) */
    MPIPOOL__EV_STATIC,  /* a static share running on a worker              */
    MPIPOOL__EV_SEND,    /* the master sending a chunk                      */
    MPIPOOL__EV_RECV,    /* the master collecting a result                  */
    MPIPOOL__EV_SCATTER, /* the master's Scatterv/Gatherv of a static job   */
    MPIPOOL__EV_LOST,    /* a worker died with this chunk (in-job recovery) */
    MPIPOOL__EV_BACK     /* a worker gave back these items unstarted (reclaim.c) */
};
/* NULL when out of memory.  `ranks` tracks (0 .. ranks-1); `origin` is
 * time zero of the file. */
mpipool__trace *mpipool__trace_new(const char *path, int ranks, double origin);
/* Record one event [start, end] on rank's track (dropped past the cap). */
void mpipool__trace_add(mpipool__trace *t, int kind, int rank, double start, double end, uint64_t job,
                        uint64_t first, uint64_t count, uint64_t bytes);
/* The master sent a chunk to `rank` at time t: remembered, so the chunk's
 * span on the worker can be placed when its result comes back. */
void mpipool__trace_sent(mpipool__trace *t, int rank, double at);
/* Its result came back at `now` after `busy` seconds of work: add the
 * chunk's span on the worker's track. */
void mpipool__trace_chunk_done(mpipool__trace *t, int rank, double now, double busy, uint64_t job,
                               uint64_t first, uint64_t count);
/* Write the JSON file; 0 or -1 (errno set).  `label` names the process. */
int mpipool__trace_write(const mpipool__trace *t, const char *label);
void mpipool__trace_free(mpipool__trace *t);

/* ---- progress display (progress.c) -------------------------------------------
 * A small, MPI-free API, so a tool (mpipool-run --progress) can drive the
 * same display with its own counts.  The caller passes the clock (`now`,
 * seconds), which keeps the display testable without sleeping. */
enum mpipool__progress_mode {
    MPIPOOL__PROGRESS_OFF = 0,
    MPIPOOL__PROGRESS_BAR = 1, /* a terminal: one line redrawn in place with \r */
    MPIPOOL__PROGRESS_LOG = 2, /* anything else: a plain line every interval    */
    MPIPOOL__PROGRESS_INVALID = -1 /* a value that means none of these        */
};
/* Seconds between redraws (term.h: the rules shared with mpipool-run).
 * MPIPOOL_PROGRESS_INTERVAL overrides both. */
#define MPIPOOL__PROGRESS_BAR_INTERVAL MPIPOOL__TERM_REDRAW_INTERVAL
#define MPIPOOL__PROGRESS_LOG_INTERVAL MPIPOOL__TERM_LINES_INTERVAL
/* ... and never more often than this, whatever it says (0 would draw a
 * line per item). */
#define MPIPOOL__PROGRESS_MIN_INTERVAL 0.01
/* Total unknown (a stream). */
#define MPIPOOL__PROGRESS_UNKNOWN SIZE_MAX

typedef struct mpipool__progress {
    FILE *out;
    int mode;
    double interval;
    double start, last;   /* when it began; when it last drew      */
    int on_screen;        /* bar: a line is drawn and not yet ended */
    int width;            /* columns of `out` (term.c); 0: unknown  */
    unsigned draws;
    char label[96];
} mpipool__progress;

/* The mode for MPIPOOL_PROGRESS's value: NULL, "", "0" -> OFF; "bar",
 * "log", "1" -> BAR or LOG as mpipool__term_style decides (term.c: "1"
 * is BAR on a terminal only); anything else -> INVALID (mpipool_open
 * refuses it). */
int mpipool__progress_mode(const char *value, int is_tty);
/* The interval for MPIPOOL_PROGRESS_INTERVAL's value: NULL or "" -> the
 * mode's default; seconds -> at least MPIPOOL__PROGRESS_MIN_INTERVAL;
 * anything else (a sign, a unit, more than a day) -> -1 (refused). */
double mpipool__progress_interval(const char *value, int mode);
void mpipool__progress_init(mpipool__progress *p, FILE *out, int mode, double interval, const char *label,
                            double now);
/* `done` of `total` items at `now`: redraw if the interval has passed (a
 * bar also draws on its first update).  Returns 1 if it drew. */
int mpipool__progress_update(mpipool__progress *p, size_t done, size_t total, double now);
/* The last line: the final counts, and `status` (NULL for success, else
 * e.g. "MPIPOOL_ETASK") — a bar is redrawn once more and ended. */
void mpipool__progress_finish(mpipool__progress *p, size_t done, size_t total, double now, const char *status);
/* The text of one line (no \r, no newline) into buf; its length. */
size_t mpipool__progress_format(char *buf, size_t size, const mpipool__progress *p, size_t done, size_t total,
                                double now, const char *status, int final);

#endif
