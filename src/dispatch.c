/*
 * dispatch.c — dynamic chunks on the master: choosing a chunk's size,
 * sending it straight from the caller's `in`, and posting the receive of
 * its results straight into `out` (collect.c takes the answers).
 *
 * Invariants:
 *  - jobs are served in submission order: chunks come from the oldest job
 *    that still has unassigned items; a static job waits until no chunk is
 *    in flight, then runs alone (static.c);
 *  - a worker never has more than two chunks in flight (one once the
 *    unassigned items are few, so the end of a map is balanced; one in a
 *    heavy-tailed map of long items, so none waits behind a long item),
 *    except in a deep window: chunks whose size the caller fixed and that
 *    are short against a round trip, up to about MPIPOOL__WINDOW_SECONDS
 *    of work and the rank's slots (flat_depth); and a group leader whose
 *    oldest chunk is stuck (leader_depth);
 *  - the result receive is posted before the chunk is sent.
 * Called only with the engine's lock held (engine.c).
 */
#include <stdlib.h>
#include <string.h>
#include "dispatch.h"
#include "jobs.h"
#include "observe.h"
#include "recover.h"

static int slot_grow(char **p, size_t *cap, size_t need) {
    char *q = realloc(*p, need);
    if (q == NULL) return -1;
    *p = q;
    *cap = need;
    return 0;
}

/* The chunk is refused before anything was sent: fail the job, not the
 * engine. */
static int chunk_refused(mpipool_job *j, slot *s, const char *what) {
    j->stream_rc = MPIPOOL_ENOMEM;
    snprintf(j->err, sizeof j->err, "%s: out of memory for %s", j->func, what);
    j->cancelled = 1;
    s->worker = 0;
    return 0;
}

/* Post the receive of a chunk's fixed-size results: through the slot's
 * buffer (small), as a header then pieces straight into place (pieced), or
 * header + slice of `out` in one hindexed datatype. */
static int post_result(mpipool__engine *e, mpipool_job *j, slot *s, size_t rbytes, int rpieced) {
    MPI_Comm comm = e->pool->comm;
    MPI_Datatype rt = MPI_DATATYPE_NULL;
    MPI_Aint disp[2];
    int len[2], w = s->worker;
    size_t piece = e->pool->piece;
    char *dst = j->out ? j->out + s->first * j->out_size : NULL;
    if (s->var_out) {
        s->rreq = MPI_REQUEST_NULL; /* probed for in mpipool__dispatch_collect */
    } else if (s->rsmall && s->units > 1) {
        /* A group chunk's receive may be cancelled (the leader gives the
         * chunk back: reclaim.c), and SMPI 3.32 reported a restarted
         * persistent receive, cancelled, as not cancelled (with its last
         * completion's status): a plain one for these few chunks. */
        ENGINE_MPI(e, MPI_Irecv(s->rbuf, (int)s->rcap, MPI_BYTE, w, MPIPOOL__TAG_RESULT, comm, &s->rreq));
    } else if (s->rsmall) {
        /* A slot mostly serves one worker: its receive is made once
         * (again if the buffer moved, or a leader borrowed the slot) and
         * started per chunk, cheaper than an MPI_Irecv.  It takes up to
         * the buffer's size: collect.c checks the length. */
        if (s->rpers != MPI_REQUEST_NULL && (s->rpers_buf != s->rbuf || s->rpers_cap != s->rcap || s->rpers_src != w))
            MPI_Request_free(&s->rpers);
        if (s->rpers == MPI_REQUEST_NULL) {
            ENGINE_MPI(e, MPI_Recv_init(s->rbuf, (int)s->rcap, MPI_BYTE, w, MPIPOOL__TAG_RESULT, comm, &s->rpers));
            s->rpers_buf = s->rbuf;
            s->rpers_cap = s->rcap;
            s->rpers_src = w;
        }
        ENGINE_MPI(e, MPI_Start(&s->rpers));
        s->rreq = s->rpers;
    } else if (rpieced) {
        ENGINE_MPI(e, MPI_Irecv(&s->rhdr, (int)sizeof s->rhdr, MPI_BYTE, w, MPIPOOL__TAG_RESULT, comm, &s->rreq));
        for (int k = 0; k < s->nrecv_pieces; k++) {
            size_t off = (size_t)k * piece, rlen = rbytes - off < piece ? rbytes - off : piece;
            ENGINE_MPI(e, MPI_Irecv(dst + off, (int)rlen, MPI_BYTE, w, MPIPOOL__TAG_RPIECE, comm,
                                    &s->pieces[s->nsend_pieces + k]));
        }
    } else {
        MPI_Get_address(&s->rhdr, &disp[0]);
        MPI_Get_address(dst, &disp[1]);
        len[0] = (int)sizeof s->rhdr;
        len[1] = (int)rbytes;
        ENGINE_MPI(e, MPI_Type_create_hindexed(2, len, disp, MPI_BYTE, &rt));
        ENGINE_MPI(e, MPI_Type_commit(&rt));
        int rc = MPI_Irecv(MPI_BOTTOM, 1, rt, w, MPIPOOL__TAG_RESULT, comm, &s->rreq);
        MPI_Type_free(&rt); /* does not affect the receive already posted */
        ENGINE_MPI(e, rc);
    }
    return 0;
}

/* 1 if j's group chunks are paced (TRANSIT_MAX): while its workers could
 * keep the master's link busy, unless MPIPOOL_PACE says. */
static int paced(const mpipool__engine *e, const mpipool_job *j) {
    if (e->pool->pace != MPIPOOL__HIER_AUTO) return e->pool->pace == MPIPOOL__HIER_ON;
    return mpipool__plan_link_busy((double)e->workers, (size_t)(j->in_size + j->out_size), j->per_item);
}

/* Send the chunk: header + pieces (never blocking: the worker may be busy
 * for long), the copied items (variable or small), or header + slice of
 * `in` in one hindexed datatype. */
static int post_work(mpipool__engine *e, mpipool_job *j, slot *s, size_t payload, int var_in, int wpieced,
                     int wsmall) {
    MPI_Comm comm = e->pool->comm;
    MPI_Datatype st = MPI_DATATYPE_NULL;
    MPI_Aint disp[2];
    int len[2], w = s->worker;
    size_t piece = e->pool->piece;
    const char *src = var_in ? s->sbuf + sizeof s->whdr : j->in ? j->in + s->first * j->in_size : NULL;
    if (var_in) memcpy(s->sbuf, &s->whdr, sizeof s->whdr);
    if (wpieced) {
        ENGINE_MPI(e, MPI_Isend(&s->whdr, (int)sizeof s->whdr, MPI_BYTE, w, MPIPOOL__TAG_WORK, comm, &s->sreq));
        for (int k = 0; k < s->nsend_pieces; k++) {
            size_t off = (size_t)k * piece, plen = payload - off < piece ? payload - off : piece;
            ENGINE_MPI(e, MPI_Isend(src + off, (int)plen, MPI_BYTE, w, MPIPOOL__TAG_WPIECE, comm, &s->pieces[k]));
        }
    } else if (var_in || wsmall) {
        if (!var_in) {
            memcpy(s->sbuf, &s->whdr, sizeof s->whdr);
            if (payload) memcpy(s->sbuf + sizeof s->whdr, src, payload);
        }
        ENGINE_MPI(e, MPI_Isend(s->sbuf, (int)(sizeof s->whdr + payload), MPI_BYTE, w, MPIPOOL__TAG_WORK, comm,
                                &s->sreq));
    } else {
        MPI_Get_address(&s->whdr, &disp[0]);
        MPI_Get_address(src, &disp[1]);
        len[0] = (int)sizeof s->whdr;
        len[1] = (int)payload;
        ENGINE_MPI(e, MPI_Type_create_hindexed(2, len, disp, MPI_BYTE, &st));
        ENGINE_MPI(e, MPI_Type_commit(&st));
        /* A group chunk: synchronously, so the master sees it arrive
         * (TRANSIT_MAX; dispatch_fill). */
        int group = s->whdr.kind == MPIPOOL__KIND_GROUP && e->ntransit < TRANSIT_MAX && paced(e, j);
        int rc = group ? MPI_Issend(MPI_BOTTOM, 1, st, w, MPIPOOL__TAG_WORK, comm, &s->sreq)
                       : MPI_Isend(MPI_BOTTOM, 1, st, w, MPIPOOL__TAG_WORK, comm, &s->sreq);
        MPI_Type_free(&st);
        ENGINE_MPI(e, rc);
        if (group) {
            s->transit = 1;
            e->transit[e->ntransit++] = s;
        }
    }
    return 0;
}

/* Forget the group chunks that reached their leader (their synchronous
 * send is done, here or wherever its request was completed or freed:
 * collect.c, a lost worker), those whose slot went to another chunk, and
 * those far later than chunks take to arrive (plan_transit_late). */
static int transit_poll(mpipool__engine *e) {
    int n = 0;
    double now = mpipool__engine_now(e);
    for (int i = 0; i < e->ntransit; i++) {
        slot *s = e->transit[i];
        int done = 1;
        if (s->transit && s->worker && s->sreq != MPI_REQUEST_NULL)
            ENGINE_MPI(e, MPI_Test(&s->sreq, &done, MPI_STATUS_IGNORE));
        if (done && s->transit && s->worker) /* the mean over the last ~8 */
            e->transit_mean += ((now - s->t_sent) - e->transit_mean) / (e->transit_mean > 0 ? 8 : 1);
        if (done || mpipool__plan_transit_late(now - s->t_sent, e->transit_mean)) s->transit = 0;
        else e->transit[n++] = s;
    }
    e->ntransit = n;
    return 0;
}

/* How many of the `count` items planned for a chunk of j it holds: a
 * redo entry's, or never past the map's end, whoever sized it (a fair
 * part may reach past it: fair_count), nor into what a journal already
 * has. */
static size_t chunk_count(mpipool_job *j, const mpipool__redo *r, size_t count) {
    if (r) return mpipool__redo_count(j, count);
    if (count > j->n - j->next) count = j->n - j->next;
    return j->resume ? mpipool__job_clip(j, count) : count;
}

/* Send worker w the next `count` items of j; with members > 0, w is a group
 * leader and the chunk is for its ranks w+1 .. w+members (kind GROUP). */
static int send_chunk(mpipool__engine *e, mpipool_job *j, slot *s, int w, size_t count, int members) {
    size_t bytes = 0, piece = e->pool->piece;
    int var_in = j->in_var || j->source != NULL;
    double obs_t0 = mpipool__obs_now(e->pool);
    const mpipool__redo *r = j->redo; /* items a dead worker had go first */
    if ((count = chunk_count(j, r, count)) == 0) return 0;
    size_t first = r ? (size_t)r->first : j->next;
    if (var_in) {
        /* Copy the items first: a stream may end (or fail) here. */
        int64_t got = r ? mpipool__redo_items(j, count, &s->sbuf, &s->scap, sizeof s->whdr, &bytes)
                        : mpipool__job_take_items(j, count, &s->sbuf, &s->scap, sizeof s->whdr, &bytes);
        if (got < 0) return chunk_refused(j, s, "a chunk");
        if (got == 0) return 0;
        count = (size_t)got;
    }
    e->room[w] = 0; /* a TAG_ROOM asks for one chunk: this one */
    if (members > 0 && e->room_req == MPI_REQUEST_NULL) /* a leader may ask for more (collect.c) */
        ENGINE_MPI(e, MPI_Irecv(&e->room_buf, 1, MPI_INT, MPI_ANY_SOURCE, MPIPOOL__TAG_ROOM, e->pool->comm,
                                &e->room_req));
    char *why = r && r->why ? strdup(r->why) : NULL; /* a journal's crash counts too: */
    int deaths = r ? r->deaths : j->resume && count == 1 ? mpipool__resume_suspect(j, first, &why) : 0;
    *s = (slot){.worker = w, .seq = e->seq++, .job = j, .first = first, .count = count,
                .var_out = j->out_var || j->source != NULL, .sbuf = s->sbuf, .scap = s->scap,
                .rbuf = s->rbuf, .rcap = s->rcap, .rpers = s->rpers, .rpers_buf = s->rpers_buf,
                .rpers_cap = s->rpers_cap, .rpers_src = s->rpers_src,
                .sreq = MPI_REQUEST_NULL, .rreq = MPI_REQUEST_NULL,
                .deaths = deaths, .why = why};
    size_t payload = var_in ? bytes - sizeof s->whdr : count * j->in_size;
    size_t rbytes = s->var_out ? 0 : count * j->out_size;
    /* Workers post their receive for our next TAG_WORK ahead (wire.h). */
    size_t work_max = MPIPOOL__SIMULATED || piece < MPIPOOL__WORK_MSG_MAX ? piece : MPIPOOL__WORK_MSG_MAX;
    int wpieced = sizeof s->whdr + payload > work_max;
    int rpieced = !s->var_out && sizeof s->rhdr + rbytes > piece;
    s->whdr = (mpipool__work_hdr){members ? MPIPOOL__KIND_GROUP : MPIPOOL__KIND_CHUNK, (uint32_t)j->fn_index,
                                  j->id, first, count, var_in ? MPIPOOL__VAR : j->in_size,
                                  s->var_out ? MPIPOOL__VAR : j->out_size, wpieced ? payload : 0,
                                  members ? (uint32_t)w + 1 : 0, (uint32_t)members, j->task_timeout,
                                  e->recover > 0 || j->resume != NULL, (uint32_t)j->capture,
                                  !members && j->user_chunk == 0, 0};
    s->units = members + 1; /* a leader runs items too */
    /* Piece counts fit an int: a chunk is at most MPIPOOL__CHUNK_BYTES_CAP
     * bytes of items (or one variable item), a piece at least 256 bytes. */
    size_t nsp = wpieced ? mpipool__npieces(payload, piece) : 0, nrp = rpieced ? mpipool__npieces(rbytes, piece) : 0;
    if (nsp + nrp > (size_t)0x7fffffff) return chunk_refused(j, s, "a chunk of too many pieces");
    s->nsend_pieces = (int)nsp;
    s->nrecv_pieces = (int)nrp;
    if (nsp + nrp > 0 && (s->pieces = malloc((nsp + nrp) * sizeof *s->pieces)) == NULL)
        return chunk_refused(j, s, "a chunk's pieces");
    s->sbig = payload > BIG_MESSAGE_BYTES;
    s->rbig = s->var_out || rbytes > BIG_MESSAGE_BYTES;
    /* Its own clock, not the pass's: a pass that sends to thousands of
     * workers takes long, and a t_sent from its start made late chunks look
     * stuck to reclaim.c (SimGrid, 64 x 1 ms uniform, flat: 0.71 against
     * 0.86 efficiency). */
    s->t_sent = MPI_Wtime();
    int wsmall = !var_in && !wpieced && payload <= SMALL_CHUNK_BYTES;
    s->rsmall = !s->var_out && !rpieced && rbytes <= SMALL_CHUNK_BYTES;
    /* No memory for a copy: go zero-copy instead. */
    size_t sneed = sizeof s->whdr + payload, rneed = sizeof s->rhdr + rbytes;
    if (wsmall && sneed > s->scap && slot_grow(&s->sbuf, &s->scap, sneed) != 0) wsmall = 0;
    if (s->rsmall && rneed > s->rcap && slot_grow(&s->rbuf, &s->rcap, rneed) != 0) s->rsmall = 0;
    if (post_result(e, j, s, rbytes, rpieced) != 0 || post_work(e, j, s, payload, var_in, wpieced, wsmall) != 0)
        return -1;
    if (r) mpipool__redo_sent(j, count);
    else j->next += count;
    mpipool__recover_heard(e, w);
    j->chunks_out++;
    if (e->last_job[w] != j->id) e->job_items[w] = 0;
    e->job_items[w] += count;
    e->last_job[w] = j->id;
    e->last_count[w] = count;
    e->nsent[w]++;
    e->inflight[w]++;
    e->busy++;
    e->var_busy += s->var_out;
    mpipool__obs_sent(e->pool, j, w, first, count, sizeof s->whdr + payload, obs_t0);
    return 0;
}

/* The least chunk of a flat map, `was` by the master's budget of two
 * CHUNK_CPU_SECONDS a chunk per rank it serves: with `cpu` = one (or
 * MIN_CHUNK_SECONDS, if more) instead.  Guided chunks are larger until
 * the last few per worker, and a map's end is unbalanced by about one
 * least chunk; there the master may be busy all the time by its budget
 * (about 70 % at the measured 1.4 us a chunk).  SimGrid, 256 ranks: 100 us
 * uniform 0.975 -> 0.984 (static peer 0.987), 10 us uniform 0.978 ->
 * 0.984, 10 us Pareto 0.856 -> 0.864, 100 us Pareto 0.911 -> 0.908; 64
 * ranks up by 0.0005 at most; 1 ms unchanged.  (0.7 CHUNK_CPU_SECONDS
 * gave 0.986 at 100 us uniform; 0.6 gave 0.982 at 10 us uniform and 0.5
 * gave 0.977: the master saturates.)  Never one item where it was two or
 * more: at the end every worker has one chunk out (plan_depth), so one-
 * item chunks cost a round trip an item, with the workers, finishing
 * together, queued at the master (256 x 1 ms uniform 0.992 -> 0.9895). */
static size_t end_chunk(const mpipool_job *j, double cpu, size_t was) {
    double least = cpu > MIN_CHUNK_SECONDS ? cpu : MIN_CHUNK_SECONDS, want = least / j->per_item;
    size_t c = want >= (double)j->max_chunk ? j->max_chunk : (size_t)want + 1;
    if (c < 2 && was >= 2) c = 2;
    return c < was ? c : was;
}

/* Items in the next chunk of j for one worker (of `workers`); `fanout` is
 * the most ranks one scheduler serves: the master's targets, or a group. */
static size_t next_chunk(mpipool_job *j, size_t workers, size_t fanout) {
    size_t min_chunk = 1, max_chunk = j->max_chunk;
    if (j->per_item > 0) {
        double least = MIN_CHUNK_SECONDS, busy = 2.0 * CHUNK_CPU_SECONDS * (double)fanout;
        if (busy > least) least = busy;
        double want = least / j->per_item;
        min_chunk = want >= (double)j->max_chunk ? j->max_chunk : (size_t)want + 1;
        /* Once every item went out, what is left is items given back
         * (a long item's chunk, reclaim.c; a dead worker's), and the
         * master serves the chunks still out, not every worker: its
         * budget is for those.  SimGrid, 256 x 10 us Pareto, the 104
         * items behind the longest item went out in 5 chunks, not 2:
         * 0.902 -> 0.906 (and up in 5 of 6 other draws; 64 ranks and 1 ms
         * items: the same).  (Chunks of MIN_CHUNK_SECONDS whatever was
         * out: 4096 x 10 us uniform, flat, 0.371 -> 0.320, where the
         * master, bound by its link, still had thousands out.) */
        if (j->group <= 1 && !j->source) {
            size_t serving = mpipool__plan_serving(fanout, j->next >= j->n, (size_t)j->chunks_out);
            min_chunk = end_chunk(j, CHUNK_CPU_SECONDS * (double)serving, min_chunk);
        }
        /* Flat: a few times the least (the master's load then stays low),
         * so that a long item waits behind little: reclaim.c gives back
         * what is queued behind it, but what went before it in its chunk,
         * and the chunk before, it must wait out.  (A group's chunk is cut
         * again by its leader, which takes back its members' unstarted
         * items itself: group_back.c; the master never does.) */
        double cap = j->group > 1 ? MAX_CHUNK_SECONDS : CHUNK_TAIL_FACTOR * least;
        if (j->group > 1 && j->per_item >= MPIPOOL__HEAVY_ITEM_SECONDS) cap = GROUP_LONG_CHUNK_SECONDS;
        if (cap > MAX_CHUNK_SECONDS) cap = MAX_CHUNK_SECONDS;
        double most = (least > cap ? least : cap) / j->per_item;
        if (most < (double)max_chunk) max_chunk = most < (double)min_chunk ? min_chunk : (size_t)most;
    } else if (j->user_chunk == 0 && !j->source) {
        /* Task time unknown (the first chunks of a map): one item each, so
         * that a map of long tasks does not start with a long chunk; the
         * first results give the time per item. */
        return 1;
    }
    if (j->source) {
        /* Unknown length: no guided shrinking; two chunks a worker fill the window (+2 to reorder, if several). */
        size_t cap = j->unordered ? j->max_chunk : j->window / (2 * workers + (workers > 1 ? 2 : 0));
        size_t c = j->user_chunk ? j->user_chunk : min_chunk;
        if (c > j->max_chunk) c = j->max_chunk;
        if (c > cap) c = cap;
        if (!j->unordered && c > j->window - (j->next - j->emitted)) c = j->window - (j->next - j->emitted);
        return c ? c : 1;
    }
    /* Items given back (a death, a reclaim) count as left, or the end of
     * a map would send them one per chunk. */
    return mpipool__plan_chunk(j->n - j->next + j->redo_items, workers, j->user_chunk, min_chunk,
                               j->user_chunk ? j->max_chunk : max_chunk);
}

/* The oldest job that can take a chunk now, or NULL.  A static job is a
 * barrier: nothing behind it starts before it has run. */
static mpipool_job *current_job(mpipool__engine *e, size_t *unassigned) {
    mpipool_job *first = NULL;
    *unassigned = 0;
    for (mpipool_job *j = e->head; j; j = j->next_job) {
        if (j->cancelled || (j->next >= j->n && j->redo == NULL)) continue;
        /* An ordered stream whose window is full waits for its oldest item
         * (unless that is among the items a dead worker had). */
        if (j->source && !j->unordered && j->next - j->emitted >= j->window && j->redo == NULL) continue;
        if (first == NULL) first = j;
        if (j->schedule == MPIPOOL_SCHEDULE_STATIC) break;
        *unassigned += j->source ? SIZE_MAX / 4 : j->n - j->next + j->redo_items;
    }
    return first;
}

/* The next chunk for a target running it on `units` workers: one ordinary
 * chunk per worker, within the job's message cap. */
static size_t next_chunk_for(mpipool_job *j, size_t workers, size_t fanout, size_t units) {
    size_t c = next_chunk(j, workers, fanout);
    if (units <= 1) return c;
    size_t left = j->n - j->next + j->redo_items, cap = j->max_chunk < left ? j->max_chunk : left;
    return c > cap / units ? cap : c * units;
}

/* 1 if the current job is a flat map whose time per item is still unknown:
 * its chunks are one item each (next_chunk). */
static int blind(mpipool__engine *e) {
    size_t unassigned;
    mpipool_job *j = current_job(e, &unassigned);
    return j != NULL && j->per_item <= 0 && j->user_chunk == 0 && !j->source && j->group <= 1 &&
           j->schedule != MPIPOOL_SCHEDULE_STATIC;
}

/* 1 if the current job goes through group leaders. */
static int grouped(mpipool__engine *e) {
    size_t unassigned;
    mpipool_job *j = current_job(e, &unassigned);
    return j != NULL && j->group > 1 && j->schedule != MPIPOOL_SCHEDULE_STATIC;
}

/* How many chunks leader w (of a group with `members`) may have out: two,
 * while its oldest chunk is on time.  A group answers its chunks in order,
 * so once the oldest holds a long item, the rest of the group would run
 * out of work behind it: it gets one chunk more, and one more for each
 * later chunk whose time has passed (done, its answer held behind the
 * oldest), within the slot pairs of its ranks.  "Long": past twice its
 * time since it could start (it was sent, and the chunk before it was
 * answered), plus two items (a leader notices its members between its own
 * items), plus the slack.  Sooner, one chunk more than it has, when the
 * leader said its members ran dry behind a long share (TAG_ROOM,
 * mpipool__plan_room). */
static int leader_depth(mpipool__engine *e, int w, int members) {
    if (e->room[w]) return e->inflight[w] + 1;
    slot *old = mpipool__oldest_slot(e, w);
    if (old == NULL || old->completed || old->job->per_item <= 0) return 2;
    double now = mpipool__engine_now(e), per = old->job->per_item;
    double start = old->t_sent > e->answered[w] ? old->t_sent : e->answered[w];
    double took = per * (double)old->count / (double)old->units;
    if (now - start <= 2 * took + 2 * per + MPIPOOL__STUCK_SLACK_SECONDS) return 2;
    /* Late, and overtaken: at least two chunks for every leader, sent
     * after it, are back (collected chunks beyond the old->seq sent before
     * it).  Where the master's link is the bound every group runs late
     * alike, and a deeper queue only crowds the link: SimGrid, 4096 ranks
     * x 10 us, uniform 0.464 -> 0.335 on lateness alone, and with one
     * chunk a leader 0.457 (Pareto 0.846 -> 0.821); with two, 0.464 and
     * 0.845, while 1024 x 100 us Pareto gains 0.690 -> 0.723.  (When
     * most groups hold a long item at once, few chunks come back to
     * overtake it; the leaders' TAG_ROOM covers that.  Letting a leader
     * have more once its chunk is past four times its time instead:
     * 1024 x 1 ms Pareto 0.960 -> 0.969, but 4096 x 10 us Pareto 0.845 ->
     * 0.697.) */
    int leaders = (e->workers + members) / (members + 1);
    if (e->nanswered < old->seq + 2 * (uint64_t)leaders) return 2;
    int depth = 3;
    for (slot *s = mpipool__rank_slots(e, w), *end = s + e->per * (members + 1); s < end; s++)
        if (s->worker == w && s != old && now > s->t_sent + per * (double)s->count / (double)s->units) depth++;
    return depth;
}

/* A free slot for rank w: among its own, or (borrow: a leader's deeper
 * queue) its members'; NULL if none. */
static slot *free_slot(mpipool__engine *e, int w, int borrow) {
    slot *base = mpipool__rank_slots(e, w), *s = base, *end = s + e->per * (borrow + 1);
    for (; s < end; s++)
        if (!s->worker) {
            int set = (int)(s - base) / e->per + 1;
            if (set > e->span[w]) e->span[w] = set;
            return s;
        }
    return NULL;
}

/* How many chunks a flat map's worker may have out once the first round
 * is out (`depth`: plan_depth's): more than two only for chunks whose
 * size the caller fixed, when they are short (mpipool__plan_window);
 * automatic chunks are sized to take long against a round trip.  Not in
 * a map that stops at a failure (on_error, max_failures): what is out
 * when it stops still runs, and its promise is two chunks a worker. */
static int flat_depth(const mpipool__engine *e, const mpipool_job *j, int depth) {
    if (depth < 2 || j->user_chunk == 0 || j->source || j->per_item <= 0) return depth;
    if (j->on_error == MPIPOOL_ON_ERROR_STOP || j->max_failures) return depth;
    size_t c = j->user_chunk < j->max_chunk ? j->user_chunk : j->max_chunk;
    return mpipool__plan_window(j->per_item * (double)c, e->per);
}

/* A group chunk of j (automatic size: a map with a chunk_size goes flat):
 * within one work message, items or results.  TRANSIT_MAX says why. */
static size_t group_cap(const mpipool_job *j, size_t count) {
    size_t most = mpipool__plan_max_items(j->in_size, j->out_size, MPIPOOL__HDR_MAX, MPIPOOL__WORK_MSG_MAX);
    return count < most ? count : most;
}

/* A plain worker's chunk of j: within PLAIN_CHUNK_BYTES, unless the
 * caller chose a chunk_size (kept as asked) or the sizes vary. */
static size_t plain_cap(const mpipool_job *j, size_t count) {
    if (j->user_chunk || j->source || j->in_var || j->out_var) return count;
    size_t most = mpipool__plan_max_items(j->in_size, j->out_size, 0, PLAIN_CHUNK_BYTES);
    return count < most ? count : most;
}

/* Leader w's next chunk of `count` items (guided), for its `members`:
 * once every one of the job's `groups` said its items are even and long
 * (collect.c), a fair part of the map in few chunks (plan.c,
 * mpipool__plan_fair_chunk), and 0 once the group has its part.  Not
 * where the parts could be lost or sent twice: a dead worker, items
 * given back, a journal's resume (parts of n are done), a stream (no n),
 * a chunk_size the caller chose. */
static size_t fair_count(mpipool__engine *e, mpipool_job *j, int w, int members, size_t count, size_t groups) {
    if (j->redo || e->ndead) j->uneven = 1;
    if (j->uneven || j->even_leaders < groups || j->resume || j->source || j->user_chunk || j->per_item <= 0)
        return count;
    size_t part = mpipool__plan_fair_part(j->n, (size_t)members + 1, (size_t)e->workers);
    size_t had = e->last_job[w] == j->id ? e->job_items[w] : 0;
    /* Parts are rounded up, and a lone rank beside the groups takes plain
     * chunks, more than its part if it is faster: a group's part may run
     * past what is left, and send_chunk ends it at the map's end. */
    return had >= part ? 0 : mpipool__plan_fair_chunk(part - had, (size_t)members + 1, count);
}

/* Hand out chunks: first one to every worker, then a second to each, then
 * (a third round) more to a group leader whose oldest chunk is stuck.  A
 * job that uses the hierarchy goes to the group leaders only (ranks 1,
 * 1 + G, ...), each chunk sized for the leader's members. */
int mpipool__dispatch_fill(mpipool__engine *e) {
    int any = 0;
    if (e->ntransit > 0 && transit_poll(e) != 0) return -1;
    for (int round = 1; round <= 3; round++) {
        /* A flat map's first chunks went out blind, one item each: the
         * second ones wait for the next pass, which collects first.  With
         * many workers the first answers are in by then (sending to them
         * all took longer than an item), and the second chunks are sized
         * from them instead of being one more item each.  SimGrid, flat:
         * 256 x 100 us uniform 0.969 -> 0.975, x 10 us 0.970 -> 0.978,
         * x 100 us Pareto 0.903 -> 0.911.  (The hierarchy's leaders: within
         * 0.002 either way at 1024 ranks, so they keep their two.) */
        if (round == 2 && any && blind(e)) return any;
        /* The third round is only for group leaders (leader_depth). */
        if (round == 3 && !grouped(e)) return any;
        for (int w = 1; w <= e->workers; w++) {
            size_t unassigned;
            mpipool_job *j = current_job(e, &unassigned);
            if (j == NULL) return any;
            int members = 0;
            if (j->group > 1 && j->schedule != MPIPOOL_SCHEDULE_STATIC) {
                /* Leaders sit at 1 + k*G: skip to the next one. */
                int g = (int)j->group, off = (w - 1) % g;
                if (off != 0) {
                    w += g - off - 1;
                    continue;
                }
                members = e->workers - w < g - 1 ? e->workers - w : g - 1;
            }
            /* The master serves every worker, or one leader per group;
             * a leader serves its members (and runs items itself). */
            size_t fanout = (size_t)e->workers, leaders = 0;
            if (j->group > 1) {
                leaders = ((size_t)e->workers + j->group - 1) / j->group;
                fanout = leaders > j->group ? leaders : j->group;
            }
            if (j->schedule == MPIPOOL_SCHEDULE_STATIC) {
                if (e->busy > 0) return any; /* wait for the workers to drain */
                if (mpipool__static_run(e, j) != 0) return -1;
                any = 1;
                w = 0; /* start over: the next job may be dynamic */
                continue;
            }
            /* A group's members are the leader's to feed (group.c); a
             * leader's third round is leader_depth's. */
            int depth = mpipool__plan_depth(unassigned, (size_t)e->workers, j->heavy && members == 0, j->per_item);
            if (members == 0) depth = flat_depth(e, j, depth);
            int most = round == 1 ? 1 : round == 2 ? depth
                                      : members > 0 && depth >= 2 ? leader_depth(e, w, members) : 0;
            if (e->dead[w] || e->gave[w] || e->inflight[w] >= most) continue;
            slot *s = free_slot(e, w, round == 3 ? members : 0);
            if (s == NULL) continue;
            size_t count = next_chunk_for(j, (size_t)e->workers, fanout, (size_t)members + 1);
            /* A map's chunk_size is kept as asked; a stream's chunks are
             * bounded by its window instead. */
            if (j->user_chunk == 0 && !j->source && !j->in_var && !j->out_var && e->last_job[w] == j->id)
                count = mpipool__plan_slow_start(count, e->last_count[w],
                                                 SLOW_START_BYTES / (j->in_size + j->out_size + 1));
            if (members == 0) count = plain_cap(j, count);
            if (members > 0) {
                /* A fair part may be larger than slow start allows: its
                 * items are long (0.5 ms or more), so the link is idle.  A
                 * last "group" of one rank gets plain chunks, never says. */
                size_t groups = (size_t)e->workers / j->group + ((size_t)e->workers % j->group > 1);
                if ((count = fair_count(e, j, w, members, count, groups)) == 0) continue; /* it has its part */
                count = group_cap(j, count);
                if (count * j->in_size > SMALL_CHUNK_BYTES && e->ntransit >= TRANSIT_MAX && paced(e, j))
                    continue; /* the link is busy with other groups' chunks: later */
            }
            int before = e->inflight[w];
            if (send_chunk(e, j, s, w, count, members) != 0) return -1;
            any = 1;
            /* A deep window (flat_depth): this worker's next, at once. */
            if (round == 2 && most > 2 && e->inflight[w] > before && e->inflight[w] < most) w--;
        }
    }
    return any;
}
