/*
 * stats.c — the master's observer: per-worker statistics (mpipool_stats,
 * MPIPOOL_STATS=1), and the glue that feeds the trace (trace.c) and the
 * progress display (progress.c) from the engine's hooks (observe.h).
 *
 * Invariant: every count here comes from what the master already handles —
 * chunk boundaries, the bytes it sends and receives, and the `busy`
 * seconds of each result header — so observing adds no message and no
 * work on the workers.  All state is behind the observer's own lock, taken
 * once per hook, because hooks run on the progress thread and on the
 * caller's thread alike.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "engine.h"
#include "observe.h"

/* A job whose progress is being shown. */
typedef struct shown {
    const mpipool_job *job;
    uint64_t id;
    mpipool__progress p;
    struct shown *next;
} shown;

struct mpipool__obs {
    pthread_mutex_t lock;
    int ranks;                     /* tracks: comm size                      */
    mpipool_worker_stats *w;       /* per rank (index 0 used in one-rank pools) */
    mpipool_worker_stats *snap;    /* what mpipool_stats hands out           */
    double opened, first, last;    /* MPI_Wtime; first/last < 0: no work yet */
    double cpu0;
    int print_stats;
    int progress_mode;             /* for every job (MPIPOOL_PROGRESS)       */
    int flag_mode;                 /* for jobs with MPIPOOL_MAP_PROGRESS     */
    double progress_interval, flag_interval;
    shown *shown;
    mpipool__trace *trace;         /* NULL: tracing off                      */
};

static double cpu_seconds(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return 0.0;
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int env_on(const char *name) {
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

void mpipool__obs_open(mpipool *pool) {
    mpipool__obs *o = calloc(1, sizeof *o);
    if (o == NULL) return;
    o->ranks = pool->size;
    o->w = calloc((size_t)o->ranks, sizeof *o->w);
    o->snap = calloc((size_t)o->ranks, sizeof *o->snap);
    if (o->w == NULL || o->snap == NULL) {
        free(o->w);
        free(o->snap);
        free(o);
        return;
    }
    for (int r = 0; r < o->ranks; r++) o->w[r].rank = r;
    pthread_mutex_init(&o->lock, NULL);
    o->opened = MPI_Wtime();
    o->first = o->last = -1.0;
    o->cpu0 = cpu_seconds();
    o->print_stats = env_on("MPIPOOL_STATS");
    int tty = isatty(STDERR_FILENO);
    const char *iv = getenv("MPIPOOL_PROGRESS_INTERVAL");
    o->progress_mode = mpipool__progress_mode(getenv("MPIPOOL_PROGRESS"), tty);
    if (o->progress_mode == MPIPOOL__PROGRESS_INVALID) o->progress_mode = MPIPOOL__PROGRESS_OFF; /* refused at open */
    o->progress_interval = mpipool__progress_interval(iv, o->progress_mode);
    /* The flag asks for progress; the environment may still pick the style. */
    o->flag_mode = o->progress_mode != MPIPOOL__PROGRESS_OFF ? o->progress_mode
                                                              : mpipool__progress_mode("1", tty);
    o->flag_interval = mpipool__progress_interval(iv, o->flag_mode);
    const char *path = getenv("MPIPOOL_TRACE");
    if (path != NULL && path[0] != '\0') {
        o->trace = mpipool__trace_new(path, o->ranks, o->opened);
        if (o->trace == NULL) fprintf(stderr, "mpipool: MPIPOOL_TRACE=%s: out of memory; not tracing\n", path);
    }
    pool->obs = o;
}

/* Only a trace needs to know when a send or a collect began: with tracing
 * off this is the one branch the engine pays for it. */
double mpipool__obs_now(const mpipool *pool) { return pool->obs && pool->obs->trace ? MPI_Wtime() : 0.0; }

double mpipool__obs_clock(const mpipool *pool) { return pool->obs ? MPI_Wtime() : 0.0; }

/* ---- progress ------------------------------------------------------------- */

/* The job's display, created on its first event; NULL if it shows none.
 * Called with o->lock held. */
static shown *shown_for(mpipool__obs *o, const mpipool_job *j, double now) {
    if (o->progress_mode == MPIPOOL__PROGRESS_OFF && !(j->flags & MPIPOOL_MAP_PROGRESS)) return NULL;
    int mode = o->progress_mode;
    double interval = o->progress_interval;
    if (j->flags & MPIPOOL_MAP_PROGRESS) {
        mode = o->flag_mode;
        interval = o->flag_interval;
    } else if (strncmp(j->func, "mpipool_apply", 13) == 0) {
        return NULL; /* one item: a bar per apply would be noise */
    }
    if (mode == MPIPOOL__PROGRESS_OFF) return NULL;
    for (shown *s = o->shown; s; s = s->next)
        if (s->job == j && s->id == j->id) return s;
    shown *s = calloc(1, sizeof *s);
    if (s == NULL) return NULL;
    char label[64];
    snprintf(label, sizeof label, "mpipool: job %llu", (unsigned long long)j->id);
    mpipool__progress_init(&s->p, stderr, mode, interval, label, now);
    s->job = j;
    s->id = j->id;
    s->next = o->shown;
    o->shown = s;
    return s;
}

/* 1 if the job may show progress: the one test a hook pays with it off. */
static inline int may_show(const mpipool__obs *o, const mpipool_job *j) {
    return o->progress_mode != MPIPOOL__PROGRESS_OFF || (j->flags & MPIPOOL_MAP_PROGRESS);
}

static void progress_tick(mpipool__obs *o, const mpipool_job *j, double now) {
    if (!may_show(o, j)) return;
    shown *s = shown_for(o, j, now);
    if (s) mpipool__progress_update(&s->p, j->done, j->n, now);
}

void mpipool__obs_job_done(const mpipool_job *j) {
    mpipool__obs *o = j->pool ? j->pool->obs : NULL;
    if (o == NULL) return;
    pthread_mutex_lock(&o->lock);
    for (shown **pp = &o->shown; *pp; pp = &(*pp)->next) {
        shown *s = *pp;
        if (s->job != j || s->id != j->id) continue;
        mpipool__progress_finish(&s->p, j->done, j->n, MPI_Wtime(),
                                 j->rc == MPIPOOL_OK ? NULL : mpipool_err_name(j->rc));
        *pp = s->next;
        free(s);
        break;
    }
    pthread_mutex_unlock(&o->lock);
}

/* ---- hooks ----------------------------------------------------------------- */

static void work_seen(mpipool__obs *o, double start, double end) {
    if (o->first < 0 || start < o->first) o->first = start;
    if (end > o->last) o->last = end;
}

void mpipool__obs_sent(mpipool *pool, const mpipool_job *j, int rank, uint64_t first, uint64_t count,
                       size_t bytes, double t0) {
    mpipool__obs *o = pool->obs;
    if (o == NULL || rank < 0 || rank >= o->ranks) return;
    pthread_mutex_lock(&o->lock);
    /* The clock is read only when something needs it: the first chunk
     * starts the wall time, a trace and a progress display need it always. */
    double now = o->trace || o->first < 0 || o->shown || o->progress_mode || (j->flags & MPIPOOL_MAP_PROGRESS)
                     ? MPI_Wtime() : 0.0;
    if (t0 == 0.0) t0 = now;
    o->w[rank].bytes_in += bytes;
    if (now != 0.0) work_seen(o, t0, now);
    if (o->trace) {
        mpipool__trace_add(o->trace, MPIPOOL__EV_SEND, rank, t0, now, j->id, first, count, bytes);
        mpipool__trace_sent(o->trace, rank, now); /* the chunk is on its way from here */
    }
    if (may_show(o, j)) shown_for(o, j, t0); /* the clock of its items/s starts at its first chunk */
    pthread_mutex_unlock(&o->lock);
}

void mpipool__obs_collected(mpipool *pool, const mpipool_job *j, int rank, uint64_t first, uint64_t count,
                            double busy, size_t bytes, double t0) {
    if (pool->obs) mpipool__obs_collected_at(pool, j, rank, first, count, busy, bytes, t0, MPI_Wtime());
}

void mpipool__obs_collected_at(mpipool *pool, const mpipool_job *j, int rank, uint64_t first, uint64_t count,
                               double busy, size_t bytes, double t0, double now) {
    mpipool__obs *o = pool->obs;
    if (o == NULL || rank < 0 || rank >= o->ranks) return;
    pthread_mutex_lock(&o->lock);
    mpipool_worker_stats *w = &o->w[rank];
    w->items += count;
    w->chunks++;
    w->busy_seconds += busy > 0 ? busy : 0;
    w->bytes_out += bytes;
    work_seen(o, now, now);
    if (o->trace) {
        /* t0: when the master took the result up (it was in by then). */
        mpipool__trace_chunk_done(o->trace, rank, t0, busy, j->id, first, count);
        mpipool__trace_add(o->trace, MPIPOOL__EV_RECV, rank, t0, now, j->id, first, count, bytes);
    }
    progress_tick(o, j, now);
    pthread_mutex_unlock(&o->lock);
}

void mpipool__obs_lost(mpipool *pool, const mpipool_job *j, int rank, uint64_t first, uint64_t count) {
    mpipool__obs *o = pool->obs;
    if (o == NULL || rank < 0 || rank >= o->ranks) return;
    double now = MPI_Wtime();
    pthread_mutex_lock(&o->lock);
    o->w[rank].lost = 1;
    if (o->trace && j) mpipool__trace_add(o->trace, MPIPOOL__EV_LOST, rank, now, now, j->id, first, count, 0);
    pthread_mutex_unlock(&o->lock);
}

void mpipool__obs_given_back(mpipool *pool, const mpipool_job *j, int rank, uint64_t first, uint64_t count) {
    mpipool__obs *o = pool->obs;
    if (o == NULL || rank < 0 || rank >= o->ranks) return;
    double now = MPI_Wtime();
    pthread_mutex_lock(&o->lock);
    o->w[rank].given_back += count;
    if (o->trace) mpipool__trace_add(o->trace, MPIPOOL__EV_BACK, rank, now, now, j->id, first, count, 0);
    pthread_mutex_unlock(&o->lock);
}

void mpipool__obs_members_gave_back(mpipool *pool, int rank, uint64_t count) {
    mpipool__obs *o = pool->obs;
    if (o == NULL || rank < 0 || rank >= o->ranks) return;
    pthread_mutex_lock(&o->lock);
    o->w[rank].given_back += count;
    pthread_mutex_unlock(&o->lock);
}

void mpipool__obs_static(mpipool *pool, const mpipool_job *j, int rank, uint64_t first, uint64_t count,
                         size_t in_bytes, size_t out_bytes, double busy, double t0) {
    mpipool__obs *o = pool->obs;
    if (o == NULL || rank < 0 || rank >= o->ranks) return;
    double now = MPI_Wtime();
    pthread_mutex_lock(&o->lock);
    mpipool_worker_stats *w = &o->w[rank];
    w->items += count;
    w->chunks++;
    w->busy_seconds += busy > 0 ? busy : 0;
    w->bytes_in += in_bytes;
    w->bytes_out += out_bytes;
    work_seen(o, t0, now);
    if (o->trace) {
        /* Every share starts when the scatter does: a worker computes as
         * soon as its share is in, and the scatter is one collective.  The
         * master's bar spans the scatter, the gather, and the status
         * messages up to this one. */
        mpipool__trace_add(o->trace, MPIPOOL__EV_STATIC, rank, t0, t0 + (busy > 0 ? busy : 0), j->id, first,
                           count, 0);
        if (rank == o->ranks - 1)
            mpipool__trace_add(o->trace, MPIPOOL__EV_SCATTER, 0, t0, now, j->id, 0, j->n, 0);
    }
    progress_tick(o, j, now);
    pthread_mutex_unlock(&o->lock);
}

void mpipool__obs_ran(mpipool *pool, const mpipool_job *j, uint64_t first, uint64_t count, double t0) {
    mpipool__obs *o = pool->obs;
    if (o == NULL) return;
    double now = MPI_Wtime();
    pthread_mutex_lock(&o->lock);
    mpipool_worker_stats *w = &o->w[0];
    w->items += count;
    w->chunks++;
    w->busy_seconds += now - t0;
    work_seen(o, t0, now);
    if (o->trace) mpipool__trace_add(o->trace, MPIPOOL__EV_CHUNK, 0, t0, now, j->id, first, count, 0);
    shown_for(o, j, t0);
    progress_tick(o, j, now);
    pthread_mutex_unlock(&o->lock);
}

/* ---- mpipool_stats ------------------------------------------------------------ */

/* The workers' entries of o->w: ranks 1.. in a pool with workers, rank 0
 * alone in a one-rank pool. */
static void snapshot(mpipool__obs *o, mpipool_pool_stats *st) {
    int lo = o->ranks > 1 ? 1 : 0, n = o->ranks > 1 ? o->ranks - 1 : 1;
    double wall = o->first >= 0 ? o->last - o->first : 0.0, sum = 0, max = 0;
    memset(st, 0, sizeof *st);
    for (int i = 0; i < n; i++) {
        mpipool_worker_stats *s = &o->snap[i];
        *s = o->w[lo + i];
        s->idle_seconds = wall > s->busy_seconds ? wall - s->busy_seconds : 0.0;
        st->items += s->items;
        st->chunks += s->chunks;
        sum += s->busy_seconds;
        if (s->busy_seconds > max) max = s->busy_seconds;
    }
    st->nworkers = n;
    st->workers = o->snap;
    st->wall_seconds = wall;
    st->imbalance = sum > 0 ? max / (sum / n) : 0.0;
    st->master_cpu_seconds = cpu_seconds() - o->cpu0;
}

int mpipool_stats(mpipool *pool, mpipool_pool_stats *stats) {
    if (pool == NULL) return mpipool__error(NULL, MPIPOOL_EINVAL, "mpipool_stats: pool is NULL");
    if (!mpipool__handle_live(pool))
        return mpipool__error(NULL, MPIPOOL_ECLOSED, "mpipool_stats: the pool is closed (or was never opened)");
    if (stats == NULL) return mpipool__error(pool, MPIPOOL_EINVAL, "mpipool_stats: stats is NULL");
    if (pool->rank != 0)
        return mpipool__error(pool, MPIPOOL_ENOTMASTER, "mpipool_stats: called on rank %d; only the master "
                              "(rank 0) keeps statistics", pool->rank);
    mpipool__obs *o = pool->obs;
    if (o == NULL) return mpipool__error(pool, MPIPOOL_ENOMEM, "mpipool_stats: no memory was left for statistics");
    pthread_mutex_lock(&o->lock);
    snapshot(o, stats);
    pthread_mutex_unlock(&o->lock);
    return MPIPOOL_OK;
}

static void print_table(mpipool__obs *o) {
    mpipool_pool_stats st;
    snapshot(o, &st);
    FILE *f = stderr;
    fprintf(f, "mpipool stats: %d worker%s, %llu items in %llu chunks, %.3f s from first chunk to last result\n",
            st.nworkers, st.nworkers == 1 ? "" : "s", (unsigned long long)st.items,
            (unsigned long long)st.chunks, st.wall_seconds);
    fprintf(f, "  %5s %10s %8s %10s %10s %6s %12s %12s\n", "rank", "items", "chunks", "busy s", "idle s", "busy%",
            "bytes in", "bytes out");
    for (int i = 0; i < st.nworkers; i++) {
        const mpipool_worker_stats *w = &st.workers[i];
        double pct = st.wall_seconds > 0 ? 100.0 * w->busy_seconds / st.wall_seconds : 0.0;
        fprintf(f, "  %5d %10llu %8llu %10.3f %10.3f %5.1f%% %12llu %12llu\n", w->rank,
                (unsigned long long)w->items, (unsigned long long)w->chunks, w->busy_seconds, w->idle_seconds, pct,
                (unsigned long long)w->bytes_in, (unsigned long long)w->bytes_out);
    }
    for (int i = 0; i < st.nworkers; i++)
        if (st.workers[i].lost)
            fprintf(f, "  rank %d died during the run: its unfinished items ran on other workers\n",
                    st.workers[i].rank);
    for (int i = 0; i < st.nworkers; i++)
        if (st.workers[i].given_back)
            fprintf(f, "  rank %d gave back %llu unstarted items held up behind a long one; they ran elsewhere\n",
                    st.workers[i].rank, (unsigned long long)st.workers[i].given_back);
    if (st.imbalance > 0)
        fprintf(f, "  load imbalance: max/mean busy = %.2f (the busiest worker did %.0f%% more than the average)\n",
                st.imbalance, 100.0 * (st.imbalance - 1.0));
    else
        fprintf(f, "  load imbalance: - (nothing ran)\n");
    fprintf(f, "  master CPU: %.3f s (%.0f%% of the time the pool was open)\n", st.master_cpu_seconds,
            MPI_Wtime() > o->opened ? 100.0 * st.master_cpu_seconds / (MPI_Wtime() - o->opened) : 0.0);
}

void mpipool__obs_close(mpipool *pool) {
    mpipool__obs *o = pool->obs;
    if (o == NULL) return;
    pthread_mutex_lock(&o->lock);
    for (shown *s = o->shown, *next; s; s = next) {
        next = s->next;
        free(s);
    }
    o->shown = NULL;
    if (o->print_stats) print_table(o);
    if (o->trace) {
        const char *path = getenv("MPIPOOL_TRACE");
        if (mpipool__trace_write(o->trace, "mpipool") != 0)
            fprintf(stderr, "mpipool: cannot write the trace MPIPOOL_TRACE=%s: %s\n", path ? path : "",
                    strerror(errno));
        mpipool__trace_free(o->trace);
        o->trace = NULL;
    }
    pthread_mutex_unlock(&o->lock);
    pthread_mutex_destroy(&o->lock);
    free(o->w);
    free(o->snap);
    free(o);
    pool->obs = NULL;
}
