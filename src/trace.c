/*
 * trace.c — a timeline of the run as a Chrome trace-event JSON file
 * (MPIPOOL_TRACE=FILE; open it in https://ui.perfetto.dev or
 * chrome://tracing).  One track per rank: the workers' chunks (with their
 * job and item range), and on rank 0 the master's sends and receives.
 *
 * Clocks: every time in the file is the master's MPI_Wtime.  Workers send
 * no timestamps.  MPI_Wtime on different hosts has different origins (and
 * MPI_WTIME_IS_GLOBAL is false on most clusters), so a worker's own clock
 * could not be compared with the master's without an offset estimate that
 * is itself off by a message latency.  Instead a chunk's span on a worker
 * is derived from what the master knows: the result's `busy` seconds
 * (measured on the worker, so each span's length is right), when the
 * master finished sending the chunk (s), and when it collected the result
 * (c).  A worker runs its chunks one after another in the order they were
 * sent, starting each as soon as it has it and has finished the one
 * before, so chunk k is placed as early as that allows:
 *
 *     start_k = max(s_k, end_(k-1)),   end_k = start_k + busy_k
 *
 * and, should that end after c_k (it cannot, but for clock noise), pulled
 * back to end at c_k.  Spans never overlap on a track, never start before
 * their chunk was sent, and add up to the busy time of the stats.  A gap
 * on a track is time the worker had no chunk — waiting for the master;
 * the worker's own message latency is not seen (it is small beside a
 * chunk, or the chunks are too small).
 *
 * Cost: off, one predictable branch per chunk in the hooks (stats.c).  On,
 * one 56-byte record appended per event (three per chunk) — no I/O until
 * close.  At most MAX_EVENTS events are kept (about 110 MB); later ones are
 * counted and the count is written into the file's metadata.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "observe.h"

#define MAX_EVENTS ((size_t)1 << 21)
/* Chunks remembered per worker: the engine keeps 2 in flight, or up to 32
 * in a deep window (MPIPOOL__WINDOW_MAX, pure.h), a group leader a few
 * more while it borrows; past this the oldest send time (only a bound on
 * a chunk's start) is forgotten. */
#define FIFO 32

typedef struct {
    double start, end;
    uint64_t job, first, count, bytes;
    int32_t rank;
    int32_t kind;
} event;

typedef struct {
    double sent[FIFO];
    unsigned head, len;
    double last_end;
} track;

struct mpipool__trace {
    char *path;
    double origin;
    int ranks;
    track *tracks;
    event *ev;
    size_t n, cap, dropped;
};

mpipool__trace *mpipool__trace_new(const char *path, int ranks, double origin) {
    mpipool__trace *t = calloc(1, sizeof *t);
    if (t == NULL) return NULL;
    t->path = strdup(path);
    t->tracks = calloc((size_t)(ranks > 0 ? ranks : 1), sizeof *t->tracks);
    t->ranks = ranks;
    t->origin = origin;
    if (t->path == NULL || t->tracks == NULL) {
        mpipool__trace_free(t);
        return NULL;
    }
    return t;
}

void mpipool__trace_free(mpipool__trace *t) {
    if (t == NULL) return;
    free(t->path);
    free(t->tracks);
    free(t->ev);
    free(t);
}

void mpipool__trace_add(mpipool__trace *t, int kind, int rank, double start, double end, uint64_t job,
                        uint64_t first, uint64_t count, uint64_t bytes) {
    if (t->n == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 4096;
        if (ncap > MAX_EVENTS) ncap = MAX_EVENTS;
        event *p = t->n < ncap ? realloc(t->ev, ncap * sizeof *p) : NULL;
        if (p == NULL) {
            t->dropped++;
            return;
        }
        t->ev = p;
        t->cap = ncap;
    }
    t->ev[t->n++] = (event){start, end < start ? start : end, job, first, count, bytes, rank, kind};
}

void mpipool__trace_sent(mpipool__trace *t, int rank, double at) {
    if (rank < 0 || rank >= t->ranks) return;
    track *k = &t->tracks[rank];
    if (k->len == FIFO) { /* forget the oldest */
        k->head = (k->head + 1) % FIFO;
        k->len--;
    }
    k->sent[(k->head + k->len) % FIFO] = at;
    k->len++;
}

void mpipool__trace_chunk_done(mpipool__trace *t, int rank, double now, double busy, uint64_t job,
                               uint64_t first, uint64_t count) {
    if (rank < 0 || rank >= t->ranks) return;
    track *k = &t->tracks[rank];
    double start = k->last_end;
    if (k->len > 0) {
        /* Results come back in the order their chunks were sent. */
        if (k->sent[k->head] > start) start = k->sent[k->head];
        k->head = (k->head + 1) % FIFO;
        k->len--;
    }
    if (busy < 0) busy = 0;
    double end = start + busy;
    if (end > now) {
        end = now;
        start = now - busy > k->last_end ? now - busy : k->last_end;
        if (start > end) start = end;
    }
    mpipool__trace_add(t, MPIPOOL__EV_CHUNK, rank, start, end, job, first, count, 0);
    k->last_end = end;
}

static const char *kind_name(int kind) {
    switch (kind) {
    case MPIPOOL__EV_CHUNK: return "chunk";
    case MPIPOOL__EV_STATIC: return "static";
    case MPIPOOL__EV_SEND: return "send";
    case MPIPOOL__EV_RECV: return "recv";
    case MPIPOOL__EV_LOST: return "lost";
    case MPIPOOL__EV_BACK: return "given_back";
    default: return "scatter/gather";
    }
}

int mpipool__trace_write(const mpipool__trace *t, const char *label) {
    FILE *f = fopen(t->path, "w");
    if (f == NULL) return -1;
    fprintf(f, "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"generator\":\"mpipool %s\",\"clock\":\"master "
               "MPI_Wtime; worker spans derived from busy time\",\"events\":%zu,\"dropped\":%zu},\n"
               "\"traceEvents\":[\n",
            mpipool_version_string(), t->n, t->dropped);
    fprintf(f, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":0,\"tid\":0,\"args\":{\"name\":\"%s\"}}", label);
    for (int r = 0; r < t->ranks; r++) {
        fprintf(f, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":0,\"tid\":%d,\"args\":{\"name\":\"rank %d%s\"}}",
                r, r, r == 0 ? " (master)" : "");
        fprintf(f, ",\n{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":0,\"tid\":%d,\"args\":{\"sort_index\":%d}}",
                r, r);
    }
    for (size_t i = 0; i < t->n; i++) {
        const event *e = &t->ev[i];
        double ts = (e->start - t->origin) * 1e6, dur = (e->end - e->start) * 1e6;
        const char *kn = kind_name(e->kind);
        if (e->kind == MPIPOOL__EV_CHUNK || e->kind == MPIPOOL__EV_STATIC)
            fprintf(f, ",\n{\"name\":\"items %llu-%llu\",\"cat\":\"%s\",\"ph\":\"X\",\"pid\":0,\"tid\":%d,"
                       "\"ts\":%.3f,\"dur\":%.3f,\"args\":{\"job\":%llu,\"first\":%llu,\"count\":%llu}}",
                    (unsigned long long)e->first, (unsigned long long)(e->first + e->count - (e->count > 0)), kn,
                    (int)e->rank, ts, dur, (unsigned long long)e->job, (unsigned long long)e->first,
                    (unsigned long long)e->count);
        else
            fprintf(f, ",\n{\"name\":\"%s\",\"cat\":\"master\",\"ph\":\"X\",\"pid\":0,\"tid\":0,"
                       "\"ts\":%.3f,\"dur\":%.3f,\"args\":{\"peer\":%d,\"job\":%llu,\"first\":%llu,\"count\":%llu,"
                       "\"bytes\":%llu}}",
                    kn, ts, dur, (int)e->rank, (unsigned long long)e->job, (unsigned long long)e->first,
                    (unsigned long long)e->count, (unsigned long long)e->bytes);
    }
    fprintf(f, "\n]}\n");
    int err = ferror(f);
    if (fclose(f) != 0 || err) {
        if (errno == 0) errno = EIO;
        return -1;
    }
    return 0;
}
