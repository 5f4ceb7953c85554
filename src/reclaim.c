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
 * A group leader answers its chunks whole and in order, so a group held
 * up behind a long item also keeps every chunk queued behind that one
 * (dispatch.c gives a late leader more, to keep its members busy).  The
 * master asks a leader whose oldest chunk is long past its time for the
 * chunks it has not started (TAG_TAKE_BACK); it answers with the ones it
 * gives back (TAG_GAVE, group_back.c), whose items go back to the job as
 * above.  (SimGrid, 1024 ranks x 100 us Pareto, the grid's draw, at eight
 * message costs: 0.726-0.772 before, 0.753-0.773 with this; bench/RESULTS.md.)
 *
 * Invariants:
 *  - a worker is asked at most once per chunk sent to it (asked[w] is
 *    the count of chunks it had when asked; nsent[w], dispatch.c's);
 *  - at most one TAG_RECLAIM or TAG_TAKE_BACK per worker is in flight
 *    (its buffer is reused);
 *  - only flat chunks of automatic size are asked for items
 *    (work_hdr.reclaim): a group leader answers whole (it takes back from
 *    its own members: group_back.c), and a map's chunk_size is the calls a
 *    batch task sees;
 *  - a leader asked is sent nothing until its TAG_GAVE came (gave[w]): the
 *    chunks it gives back are then the newest the master sent it, whose
 *    result receives nothing else can match (collect.c cancels them).
 * No answer is owed to a TAG_RECLAIM, so a late one costs nothing; every
 * TAG_TAKE_BACK is answered, and the engine takes the answer before it ends.
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
    e->gave = calloc(n, 1);
    if (!e->nsent || !e->asked || !e->rc_buf || !e->rc_req || !e->gave) return -1;
    for (size_t w = 0; w < n; w++) e->rc_req[w] = MPI_REQUEST_NULL;
    return 0;
}

void mpipool__reclaim_free(mpipool__engine *e) {
    free(e->nsent);
    free(e->asked);
    free(e->rc_buf);
    free(e->rc_req);
    free(e->gave);
}

static int take_gave(mpipool__engine *e, int wait);

void mpipool__reclaim_settle(mpipool__engine *e) {
    /* A live leader answers every TAG_TAKE_BACK before its STOP (it has
     * nothing left to give by now). */
    if (!e->broken) (void)take_gave(e, 1);
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

/* Whether a rank the master fed job `id` (members never are) is idle,
 * looked up once per job in a look (*job, *idle: the last answer). */
static int job_idle(const mpipool__engine *e, uint64_t id, uint64_t *job, int *idle) {
    if (*job == id) return *idle;
    *job = id;
    *idle = 0;
    for (int v = 1; v <= e->workers && !*idle; v++)
        *idle = !e->dead[v] && e->inflight[v] == 0 && e->last_job[v] == id;
    return *idle;
}

/* 1 if leader w's oldest chunk is past twice its time since it could
 * start, plus two items and the slack (dispatch.c, leader_depth's "long"),
 * with a chunk queued behind it, and a rank of its job is idle. */
static int late_leader(const mpipool__engine *e, int w, double now, uint64_t *job, int *idle) {
    const slot *s = mpipool__oldest_slot(e, w);
    if (s == NULL || s->units <= 1 || s->completed || e->inflight[w] < 2 || s->job->cancelled ||
        s->job->per_item <= 0)
        return 0;
    double per = s->job->per_item, start = s->t_sent > e->answered[w] ? s->t_sent : e->answered[w];
    if (now - start <= 2 * per * (double)s->count / (double)s->units + 2 * per + MPIPOOL__STUCK_SLACK_SECONDS)
        return 0;
    return job_idle(e, s->job->id, job, idle);
}

/* Ask worker w for its unstarted items (TAG_RECLAIM), or group leader w
 * for its unstarted chunks (TAG_TAKE_BACK: it is sent nothing more until
 * its TAG_GAVE came). */
static int ask(mpipool__engine *e, int w, int leader) {
    if (e->rc_req[w] != MPI_REQUEST_NULL) {
        int flag = 0;
        ENGINE_MPI(e, MPI_Test(&e->rc_req[w], &flag, MPI_STATUS_IGNORE));
        if (!flag) return 0; /* the last one is still on its way: ask later */
    }
    e->rc_buf[w] = e->nsent[w];
    e->asked[w] = e->nsent[w];
    int tag = leader ? MPIPOOL__TAG_TAKE_BACK : MPIPOOL__TAG_RECLAIM;
    ENGINE_MPI(e, MPI_Isend(&e->rc_buf[w], 8, MPI_BYTE, w, tag, e->pool->comm, &e->rc_req[w]));
    if (leader) {
        e->gave[w] = 1;
        e->ngave++;
    }
    return 0;
}

/* Take the leaders' TAG_GAVEs that came (all that are awaited, with
 * `wait`; a dead rank's never comes).  0, or -1 when the engine broke. */
static int take_gave(mpipool__engine *e, int wait) {
    for (int w = 1; w <= e->workers && e->ngave > 0; w++)
        if (e->gave[w] && e->dead[w]) {
            e->gave[w] = 0;
            e->ngave--;
        }
    while (e->ngave > 0) {
        MPI_Status st;
        int flag = 0, len = 0;
        if (wait) ENGINE_MPI(e, MPI_Probe(MPI_ANY_SOURCE, MPIPOOL__TAG_GAVE, e->pool->comm, &st));
        else ENGINE_MPI(e, MPI_Iprobe(MPI_ANY_SOURCE, MPIPOOL__TAG_GAVE, e->pool->comm, &flag, &st));
        if (!wait && !flag) return 0;
        ENGINE_MPI(e, MPI_Get_count(&st, MPI_BYTE, &len));
        uint64_t *t = malloc(len > 0 ? (size_t)len : 1);
        if (t == NULL) {
            mpipool__engine_break(e, MPI_ERR_NO_MEM, "a leader's TAG_GAVE");
            return -1;
        }
        int w = st.MPI_SOURCE, rc = MPI_Recv(t, len, MPI_BYTE, w, MPIPOOL__TAG_GAVE, e->pool->comm, MPI_STATUS_IGNORE);
        if (rc == MPI_SUCCESS && w >= 1 && w <= e->workers && e->gave[w]) {
            e->gave[w] = 0;
            e->ngave--;
            rc = mpipool__dispatch_gave(e, w, t, (size_t)len / (3 * sizeof *t)) == 0 ? MPI_SUCCESS : MPI_ERR_OTHER;
        }
        free(t);
        if (rc != MPI_SUCCESS) {
            if (!e->broken) mpipool__engine_break(e, rc, "MPI_Recv of a TAG_GAVE");
            return -1;
        }
    }
    return 0;
}

int mpipool__reclaim_look(mpipool__engine *e) {
    if (e->ngave > 0 && take_gave(e, 0) != 0) return -1;
    /* The clock last: while items are left to send, or no worker is idle,
     * there is nothing to look at (every pass of a busy map asks this). */
    if (e->busy == 0 || e->workers < 2 || work_left(e)) return 0;
    int idle = 0;
    for (int w = 1; w <= e->workers && !idle; w++) idle = !e->dead[w] && e->inflight[w] == 0;
    if (!idle) return 0;
    double now = MPI_Wtime(); /* not the pass's clock: compared with t_sent (dispatch.c) */
    if (now < e->rc_look) return 0;
    e->rc_look = now + LOOK_SECONDS;
    uint64_t job = 0; /* job ids start at 1 */
    int job_has_idle = 0;
    for (int w = 1; w <= e->workers; w++) {
        if (e->dead[w] || e->inflight[w] == 0 || e->asked[w] >= e->nsent[w]) continue;
        int leader = late_leader(e, w, now, &job, &job_has_idle);
        if ((leader || stuck(e, w, now)) && ask(e, w, leader) != 0) return -1;
    }
    return 0;
}
