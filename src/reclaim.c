/*
 * reclaim.c — the end game of a dynamic map with long items.  When no item
 * is left to send and a worker sits idle, a worker whose oldest chunk is
 * long past its time (heavy-tailed work: one item may take as long as the
 * rest of the map) would otherwise keep the items queued behind its long
 * one, and the idle workers would wait for them.  The master asks such a
 * worker for its unstarted items (TAG_RECLAIM, wire.h); the worker answers
 * each chunk as usual, with the items it ran (a chunk's last item it runs:
 * pace.c), and the rest go back to the job (redo.c), out before anything
 * else, to the idle workers.
 *
 * Invariants:
 *  - a worker is asked at most once per chunk sent to it (asked[w] is
 *    the count of chunks it had when asked; nsent[w], dispatch.c's);
 *  - at most one TAG_RECLAIM per worker is in flight (its buffer is reused);
 *  - only flat chunks of automatic size are asked for (work_hdr.reclaim):
 *    a group leader answers whole (it takes back from its own members:
 *    group_back.c), and a map's chunk_size is the calls a batch task sees.
 * No answer is owed to a TAG_RECLAIM, so a late one costs nothing.
 */
#include <stdlib.h>
#include "jobs.h"
#include "observe.h"
#include "reclaim.h"
#include "recover.h"

/* Look for stuck workers at most this often. */
#define LOOK_SECONDS (MIN_CHUNK_SECONDS / 2)

int mpipool__reclaim_init(mpipool__engine *e) {
    size_t n = (size_t)e->workers + 1;
    e->nsent = calloc(n, sizeof *e->nsent);
    e->asked = calloc(n, sizeof *e->asked);
    e->rc_buf = calloc(n, sizeof *e->rc_buf);
    e->rc_req = malloc(n * sizeof *e->rc_req);
    if (!e->nsent || !e->asked || !e->rc_buf || !e->rc_req) return -1;
    for (size_t w = 0; w < n; w++) e->rc_req[w] = MPI_REQUEST_NULL;
    return 0;
}

void mpipool__reclaim_free(mpipool__engine *e) {
    free(e->nsent);
    free(e->asked);
    free(e->rc_buf);
    free(e->rc_req);
}

void mpipool__reclaim_settle(mpipool__engine *e) {
    for (int w = 1; e->rc_req && w <= e->workers; w++) {
        if (e->rc_req[w] == MPI_REQUEST_NULL) continue;
        /* A live worker takes every message until its STOP; one that died
         * or left after an error never will. */
        if (e->broken || (e->dead && e->dead[w])) MPI_Request_free(&e->rc_req[w]);
        else MPI_Wait(&e->rc_req[w], MPI_STATUS_IGNORE);
    }
}

/* 1 if a job still has items to send (the idle workers will get them). */
static int work_left(const mpipool__engine *e) {
    for (const mpipool_job *j = e->head; j; j = j->next_job)
        if (!j->cancelled && (j->next < j->n || j->redo != NULL)) return 1;
    return 0;
}

/* Worker w's oldest chunk, if it is flat and past twice its expected
 * time (it may have waited behind the one before for up to once), and
 * the slack. */
static const slot *stuck(const mpipool__engine *e, int w, double now) {
    const slot *s = mpipool__oldest_slot(e, w);
    /* A stopped job (its error policy, a signal) keeps what it handed out:
     * those items run, as without reclamation. */
    if (s == NULL || s->completed || !s->whdr.reclaim || s->job->cancelled || s->job->per_item <= 0) return NULL;
    double expected = s->job->per_item * (double)s->count;
    return now - s->t_sent > 2 * expected + MPIPOOL__STUCK_SLACK_SECONDS ? s : NULL;
}

static int ask(mpipool__engine *e, int w) {
    if (e->rc_req[w] != MPI_REQUEST_NULL) {
        int flag = 0;
        ENGINE_MPI(e, MPI_Test(&e->rc_req[w], &flag, MPI_STATUS_IGNORE));
        if (!flag) return 0; /* the last one is still on its way: ask later */
    }
    e->rc_buf[w] = e->nsent[w];
    e->asked[w] = e->nsent[w];
    ENGINE_MPI(e, MPI_Isend(&e->rc_buf[w], 8, MPI_BYTE, w, MPIPOOL__TAG_RECLAIM, e->pool->comm, &e->rc_req[w]));
    return 0;
}

int mpipool__reclaim_look(mpipool__engine *e) {
    /* The clock last: while items are left to send, or no worker is idle,
     * there is nothing to look at (every pass of a busy map asks this). */
    if (e->busy == 0 || e->workers < 2 || work_left(e)) return 0;
    int idle = 0;
    for (int w = 1; w <= e->workers && !idle; w++) idle = !e->dead[w] && e->inflight[w] == 0;
    if (!idle) return 0;
    double now = MPI_Wtime(); /* not the pass's clock: compared with t_sent (dispatch.c) */
    if (now < e->rc_look) return 0;
    e->rc_look = now + LOOK_SECONDS;
    for (int w = 1; w <= e->workers; w++) {
        if (e->dead[w] || e->inflight[w] == 0 || e->asked[w] >= e->nsent[w] || !stuck(e, w, now)) continue;
        if (ask(e, w) != 0) return -1;
    }
    return 0;
}

void mpipool__reclaim_back(mpipool__engine *e, slot *s, uint64_t ran) {
    uint64_t first = s->first + ran, count = s->count - ran;
    mpipool__obs_given_back(e->pool, s->job, s->worker, first, count);
    mpipool__recover_put_back(s, first, count, s->deaths, s->why, "gave it back");
}
