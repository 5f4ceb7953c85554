/*
 * collect.c — the master's side of the workers' answers: receiving each
 * chunk's results (fixed-size straight into `out`, variable-size probed
 * for), checking that an answer is the chunk's, and settling chunks whose
 * worker left the pool or died (recover.c decides which are dead), or
 * that a group leader gave back unstarted (reclaim.c, TAG_GAVE).
 *
 * Invariants:
 *  - each worker's chunks are collected in the order they were sent (its
 *    TAG_FAILs follow its results in that order);
 *  - while chunks are out, a receive for TAG_ABORT is posted too, so a
 *    worker that leaves after a local error fails the jobs instead of
 *    leaving the master waiting for ever.
 * Called only with the engine's lock held (engine.c).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "dispatch.h"
#include "jobs.h"
#include "observe.h"
#include "recover.h"
#include "transport.h"

/* The engine breaks on an answer that does not fit what was asked. */
static int bad_answer(mpipool__engine *e, const char *fmt, ...) MPIPOOL__PRINTF(2, 3);
static int bad_answer(mpipool__engine *e, const char *fmt, ...) {
    if (!e->broken) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->broken_msg, sizeof e->broken_msg, fmt, ap);
        va_end(ap);
    }
    e->broken = 1;
    return -1;
}

/* A group leader's word on its items (wire.h, result_hdr.even): fair
 * parts (dispatch.c) once every leader said they are even and long, and
 * none ever that they are not; nor while one group's items took longer
 * than another's (MPIPOOL__FAIR_SPREAD: slower nodes, say), which fair
 * parts would leave with as many items as the fast ones. */
static void note_even(mpipool__engine *e, mpipool_job *j, int w, const mpipool__result_hdr *h) {
    uint32_t even = h->even;
    if (h->count > 0 && h->busy > 0) {
        double per = h->busy / (double)h->count;
        if (j->grp_least <= 0 || per < j->grp_least) j->grp_least = per;
        if (per > j->grp_most) j->grp_most = per;
        if (j->grp_most > MPIPOOL__FAIR_SPREAD * j->grp_least) even = MPIPOOL__EVEN_NO;
    }
    if (even == MPIPOOL__EVEN_NO) j->uneven = 1;
    if (even != MPIPOOL__EVEN_YES || e->even_job[w] == j->id) return;
    e->even_job[w] = j->id;
    j->even_leaders++;
}

/* Wait for the chunk's sends and pieces, put its header in s->rhdr (and
 * small results in place), and check that the answer is the chunk's. */
static int check_answer(mpipool__engine *e, slot *s) {
    mpipool_job *j = s->job;
    const mpipool__result_hdr *h = &s->rhdr;
    ENGINE_MPI(e, MPI_Wait(&s->sreq, MPI_STATUS_IGNORE));
    if (s->pieces) {
        /* The worker sends its result pieces right after the header. */
        int rc = MPI_Waitall(s->nsend_pieces + s->nrecv_pieces, s->pieces, MPI_STATUSES_IGNORE);
        free(s->pieces);
        s->pieces = NULL;
        ENGINE_MPI(e, rc);
    }
    if (s->rsmall) {
        /* A fixed-size answer has the chunk's full size (wire.h). */
        size_t want = sizeof s->rhdr + (size_t)s->count * j->out_size;
        if (s->rlen != want)
            return bad_answer(e, "rank %d answered items %llu+%llu with %zu bytes, expected %zu", s->worker,
                              (unsigned long long)s->first, (unsigned long long)s->count, s->rlen, want);
        memcpy(&s->rhdr, s->rbuf, sizeof s->rhdr);
    }
    if (s->var_out && s->rlen >= sizeof *h) memcpy(&s->rhdr, s->rmsg, sizeof *h);
    /* Fewer items than sent: the worker gave back the rest (reclaim.c),
     * which only a flat chunk whose results come in one message may do. */
    int cut_ok = s->whdr.reclaim && s->nrecv_pieces == 0;
    if (h->job != j->id || h->first != s->first || h->count > s->count || (h->count < s->count && !cut_ok))
        return bad_answer(e, "rank %d answered with items %llu+%llu of job %llu, expected %llu+%llu of job %llu",
                          s->worker, (unsigned long long)h->first, (unsigned long long)h->count,
                          (unsigned long long)h->job, (unsigned long long)s->first, (unsigned long long)s->count,
                          (unsigned long long)j->id);
    if (s->rsmall && h->count && j->out_size)
        memcpy(j->out + s->first * j->out_size, s->rbuf + sizeof s->rhdr, h->count * j->out_size);
    if (s->var_out) {
        /* VRESULT: hdr | sizes | data | fail records, checked before use. */
        size_t len = s->rlen, nsz = (size_t)h->count * 8, total = 0;
        int ok = len >= sizeof *h + nsz && h->fail_bytes <= len - sizeof *h - nsz;
        const uint64_t *sizes = (const uint64_t *)(const void *)(s->rmsg + sizeof *h);
        for (uint64_t i = 0; ok && i < h->count; i++) {
            total += sizes[i];
            if (total > len) ok = 0;
        }
        if (!ok || sizeof *h + nsz + total + h->fail_bytes != len)
            return bad_answer(e, "rank %d sent a malformed result of %zu bytes", s->worker, len);
    }
    return 0;
}

/* The slot's chunk is settled (collected, or lost with its worker). */
static void slot_release(mpipool__engine *e, slot *s) {
    s->job->chunks_out--;
    e->inflight[s->worker]--;
    e->busy--;
    e->var_busy -= s->var_out;
    free(s->why);
    s->why = NULL;
    s->worker = 0;
    s->job = NULL;
    s->rreq = MPI_REQUEST_NULL;
    s->completed = 0;
}

/* Items [first, first + count) of s come back unstarted (reclaim.c): they
 * go to the job again, before any item never sent (redo.c). */
static void give_back(mpipool__engine *e, slot *s, uint64_t first, uint64_t count) {
    mpipool__obs_given_back(e->pool, s->job, s->worker, first, count);
    mpipool__recover_put_back(s, first, count, s->deaths, s->why, "gave it back");
}

static int collect(mpipool__engine *e, slot *s) {
    mpipool_job *j = s->job;
    const mpipool__result_hdr *h = &s->rhdr;
    double obs_t0 = mpipool__obs_now(e->pool);
    if (check_answer(e, s) != 0) return -1;
    uint64_t ran = h->count; /* the first `ran` items; the rest were given back */
    mpipool__job_mark_ok(j, s->first, ran);
    if (s->var_out) {
        const char *base = s->rmsg + sizeof *h;
        size_t nsz = (size_t)ran * 8, fail_off = s->rlen - (size_t)h->fail_bytes;
        mpipool__job_note_failures(j, h->nfail, h->first_fail, s->worker, s->rmsg + fail_off, (size_t)h->fail_bytes);
        if (j->resume && j->source)
            mpipool__resume_record_stream(j, s->first, ran, (const uint64_t *)(const void *)base, base + nsz);
        if (ran > 0)
            mpipool__deliver_var(j, s->first, ran, (const uint64_t *)(const void *)base, base + nsz,
                                 s->rmsg + fail_off, (size_t)h->fail_bytes, s->worker, s->rmsg);
        else
            free(s->rmsg);
        s->rmsg = NULL; /* owned by deliver now */
    } else if (h->nfail) {
        char *recs = NULL;
        int len = 0;
        /* A leader names the member that ran the first failed item. */
        int frank = h->fail_rank > 0 && h->fail_rank <= e->workers ? (int)h->fail_rank : s->worker;
        ENGINE_MPI(e, mpipool__recv_fails(e->pool->comm, s->worker, &recs, &len));
        mpipool__job_note_failures(j, h->nfail, h->first_fail, frank, recs, (size_t)len);
        free(recs);
    }
    if (j->resume) mpipool__resume_record(j, s->first, ran);
    if (j->capture) {
        char *text = NULL;
        int tlen = 0;
        if (h->out_bytes) ENGINE_MPI(e, mpipool__recv_blob(e->pool->comm, s->worker, MPIPOOL__TAG_OUTPUT, &text, &tlen));
        if (ran > 0) mpipool__ordered_put(j, s->first, ran, text, (size_t)tlen);
        else free(text);
        e->now = 0; /* the pass's clock is read again (dispatch.h): printing may have taken long */
    }
    if (ran > 0) {
        /* An outlier against the mean so far: heavy tails (plan.c). */
        size_t share = j->source ? 0 : j->n / (size_t)e->workers + 1;
        if (mpipool__plan_heavy(h->busy, ran, j->per_item, share)) j->heavy = 1;
        /* The mean over every item so far: one long or short item of a
         * heavy-tailed map must not swing the chunk size. */
        j->busy_sum += h->busy > 0 ? h->busy : 1e-9 * (double)ran;
        j->busy_items += (double)ran;
        j->per_item = j->busy_sum / j->busy_items;
    }
    j->done += ran;
    if (s->units > 1) note_even(e, j, s->worker, h);
    if (ran < s->count) give_back(e, s, s->first + ran, s->count - ran);
    if (h->given_back) mpipool__obs_members_gave_back(e->pool, s->worker, h->given_back);
    mpipool__recover_heard(e, s->worker);
    e->answered[s->worker] = mpipool__engine_now(e);
    e->nanswered++;
    /* A trace times the collect itself (from obs_t0); else the pass's clock does. */
    mpipool__obs_collected_at(e->pool, j, s->worker, s->first, ran, h->busy,
                              s->var_out ? s->rlen : sizeof *h + ran * j->out_size, obs_t0,
                              obs_t0 != 0.0 ? MPI_Wtime() : mpipool__engine_now(e));
    slot_release(e, s);
    return 0;
}

/* Variable-size results: take each one that has arrived and hand it to its
 * worker's oldest chunk still waiting for one.  1 if any came. */
static int take_vresults(mpipool__engine *e) {
    int any = 0;
    while (!e->broken && e->var_busy > 0) {
        int flag = 0, len = 0, oom = 0;
        mpipool__msg m;
        MPI_Status st;
        int rc = mpipool__improbe(MPI_ANY_SOURCE, MPIPOOL__TAG_VRESULT, e->pool->comm, &flag, &m, &st);
        if (rc != MPI_SUCCESS) {
            mpipool__engine_break(e, rc, "MPI_Improbe");
            break;
        }
        if (!flag) break;
        int w = st.MPI_SOURCE;
        MPI_Get_count(&st, MPI_BYTE, &len);
        slot *target = NULL;
        if (w >= 1 && w <= e->workers) { /* no slot address is formed for a rank out of range */
            for (slot *a = mpipool__rank_slots(e, w), *end = a + e->per; a < end; a++)
                if (a->worker && a->var_out && !a->rmsg && (target == NULL || a->seq < target->seq)) target = a;
        }
        char *buf = NULL;
        size_t total = 0;
        rc = mpipool__recv_vresult(e->pool->comm, e->pool->piece, &m, w, len, &buf, &total, &oom);
        if (rc != MPI_SUCCESS) {
            mpipool__engine_break(e, rc, "MPI_Mrecv");
            break;
        }
        if (oom || target == NULL) {
            free(buf);
            bad_answer(e, oom ? "out of memory for a %zu-byte result from rank %d"
                              : "unexpected %zu-byte result from rank %d", total, w);
            break;
        }
        target->rmsg = buf;
        target->rlen = total;
        target->completed = 1;
        any = 1;
    }
    return any;
}

/* A worker left after a local error (TAG_ABORT): every job fails with its
 * words. */
static void worker_left(mpipool__engine *e, const MPI_Status *st) {
    int len = 0, code = MPIPOOL_EPROTO;
    MPI_Get_count(st, MPI_BYTE, &len);
    if (len >= 4) memcpy(&code, e->abort_buf, 4);
    if (!e->broken && code < 0 && code >= MPIPOOL_EINTR) e->broken_code = code;
    bad_answer(e, "rank %d left the pool (%s): %.*s", st->MPI_SOURCE, mpipool_err_name(code),
               len > 4 ? len - 4 : 0, e->abort_buf + 4);
    e->abort_req = MPI_REQUEST_NULL;
}

int mpipool__dispatch_watch(mpipool__engine *e) {
    if (e->workers == 0) return 0;
    if (e->abort_req == MPI_REQUEST_NULL)
        ENGINE_MPI(e, MPI_Irecv(e->abort_buf, (int)sizeof e->abort_buf, MPI_BYTE, MPI_ANY_SOURCE, MPIPOOL__TAG_ABORT,
                                e->pool->comm, &e->abort_req));
    return mpipool__recover_post(e);
}

void mpipool__dispatch_unwatch(mpipool__engine *e) {
    mpipool__recover_unpost(e);
    if (e->room_req != MPI_REQUEST_NULL) {
        MPI_Cancel(&e->room_req);
        MPI_Wait(&e->room_req, MPI_STATUS_IGNORE);
    }
    if (e->abort_req == MPI_REQUEST_NULL) return;
    MPI_Cancel(&e->abort_req);
    MPI_Wait(&e->abort_req, MPI_STATUS_IGNORE);
}

/* A lost chunk's requests: nothing will complete them (receives are
 * cancelled; sends to a dead rank are let go). */
static void drop_requests(slot *s) {
    if (s->rreq != MPI_REQUEST_NULL) {
        if (s->rreq == s->rpers) s->rpers = MPI_REQUEST_NULL; /* freed below: made again if needed */
        MPI_Cancel(&s->rreq);
        MPI_Request_free(&s->rreq);
    }
    if (s->sreq != MPI_REQUEST_NULL) MPI_Request_free(&s->sreq);
    for (int k = 0; s->pieces && k < s->nsend_pieces + s->nrecv_pieces; k++) {
        if (s->pieces[k] == MPI_REQUEST_NULL) continue;
        if (k >= s->nsend_pieces) MPI_Cancel(&s->pieces[k]);
        MPI_Request_free(&s->pieces[k]);
    }
    free(s->pieces);
    s->pieces = NULL;
    free(s->rmsg);
    s->rmsg = NULL;
}

/* Worker w's chunk holding the item its death report names, or NULL.
 * The report may overtake the answer to an older chunk (another tag), so
 * the chunk it was running is not always its oldest one left: taken for
 * the oldest, the item that killed it went back to the job as unstarted
 * and killed a second worker, also without recovery (MPICH, CI,
 * recover_journal.sh poison: item 81 crashed ranks 1 and 2 in one run). */
static slot *reported_slot(const mpipool__engine *e, int w, const mpipool__died_msg *why) {
    if (why == NULL) return NULL;
    for (slot *s = mpipool__rank_slots(e, w), *end = s + e->per * e->span[w]; s < end; s++)
        if (s->worker == w && s->job->id == why->job && why->item >= s->first && why->item - s->first < s->count)
            return s;
    return NULL;
}

/* Worker w is gone: its chunks go back to their jobs, oldest first, and it
 * never gets another (recover.c).  The one it was running: the one its
 * report names, else the oldest. */
static void lose(mpipool__engine *e, int w, const mpipool__died_msg *why) {
    slot *named = reported_slot(e, w, why);
    int running = named == NULL;
    for (slot *s; (s = mpipool__oldest_slot(e, w)) != NULL;) {
        mpipool__obs_lost(e->pool, s->job, w, s->first, s->count);
        mpipool__recover_requeue(e, s, w, named ? s == named : running, why);
        running = 0;
        drop_requests(s);
        slot_release(e, s);
    }
    mpipool__obs_lost(e->pool, NULL, w, 0, 0);
    mpipool__recover_bury(e, w, why);
}

/* Leader w's result receives for slot s, which it will never answer
 * (it gave the chunk back): cancelled.  0, or -1 if one had matched. */
static int cancel_answer(mpipool__engine *e, slot *s, int w) {
    int lost = 0;
    for (int k = -1; k < s->nrecv_pieces; k++) {
        MPI_Request *q = k < 0 ? &s->rreq : &s->pieces[s->nsend_pieces + k];
        if (*q == MPI_REQUEST_NULL) continue;
        MPI_Status st;
        int cancelled = 0;
        /* Never the slot's persistent receive (dispatch.c, post_result). */
        ENGINE_MPI(e, MPI_Cancel(q));
        ENGINE_MPI(e, MPI_Wait(q, &st));
        ENGINE_MPI(e, MPI_Test_cancelled(&st, &cancelled));
        lost |= !cancelled;
    }
    if (lost)
        return bad_answer(e, "rank %d answered items %llu+%llu, which it gave back", w,
                          (unsigned long long)s->first, (unsigned long long)s->count);
    ENGINE_MPI(e, MPI_Wait(&s->sreq, MPI_STATUS_IGNORE)); /* it has the chunk */
    for (int k = 0; k < s->nsend_pieces; k++) ENGINE_MPI(e, MPI_Wait(&s->pieces[k], MPI_STATUS_IGNORE));
    free(s->pieces);
    s->pieces = NULL;
    return 0;
}

int mpipool__dispatch_gave(mpipool__engine *e, int w, const uint64_t *t, size_t n) {
    for (size_t i = 0; i < n; i++, t += 3) {
        slot *s = mpipool__rank_slots(e, w), *end = s + e->per * e->span[w];
        while (s < end && !(s->worker == w && !s->completed && s->units > 1 && s->job->id == t[0] &&
                            s->first == t[1] && s->count == t[2]))
            s++;
        if (s == end)
            return bad_answer(e, "rank %d gave back items %llu+%llu of job %llu, which it does not hold", w,
                              (unsigned long long)t[1], (unsigned long long)t[2], (unsigned long long)t[0]);
        if (cancel_answer(e, s, w) != 0) return -1;
        give_back(e, s, s->first, s->count);
        slot_release(e, s);
    }
    return 0;
}

int mpipool__dispatch_collect(mpipool__engine *e) {
    int any = take_vresults(e), ndone = 0, died = 0, left = -1;
    mpipool__died_msg why;
    if (e->broken || e->busy == 0) return any;
    MPI_Status *sts = e->statuses;
    /* The TAG_ROOM receive only once a group chunk went out: a flat pool's
     * Testsome stays what it was.  (Posted always, it moved SimGrid's flat
     * heavy-tailed points, whose makespan turns on where the longest item
     * lands: 1024 x 10 us Pareto, flat, 0.704 -> 0.590.) */
    int n = e->nslots + ENGINE_EXTRA_REQS - (e->room_req == MPI_REQUEST_NULL);
    for (int i = 0; i < e->nslots; i++) e->rreqs[i] = e->slots[i].worker ? e->slots[i].rreq : MPI_REQUEST_NULL;
    e->rreqs[e->nslots] = e->abort_req;
    e->rreqs[e->nslots + 1] = e->beat_req;
    e->rreqs[e->nslots + 2] = e->died_req;
    e->rreqs[e->nslots + 3] = e->room_req;
    int rc = MPI_Testsome(n, e->rreqs, &ndone, e->idx, sts);
    if (rc != MPI_SUCCESS) {
        mpipool__engine_break(e, rc, "MPI_Testsome");
        return any;
    }
    for (int k = 0; k < ndone && ndone != MPI_UNDEFINED; k++) {
        int i = e->idx[k];
        if (i == e->nslots) {
            left = k; /* after the rest: each request Testsome completed is freed, so
                         its handle is dropped here before the engine stops */
            continue;
        } else if (i == e->nslots + 1) {
            mpipool__recover_beat(e, &sts[k]);
        } else if (i == e->nslots + 2) {
            died = mpipool__recover_died(e, &sts[k], &why);
        } else if (i == e->nslots + 3) {
            e->room_req = MPI_REQUEST_NULL; /* posted again with the next group chunk */
            if (sts[k].MPI_SOURCE > 0 && sts[k].MPI_SOURCE <= e->workers) e->room[sts[k].MPI_SOURCE] = 1;
        } else {
            slot *s = &e->slots[i];
            s->rreq = MPI_REQUEST_NULL;
            s->completed = 1;
            if (s->rsmall) { /* its receive takes up to the buffer's size */
                int len = 0;
                MPI_Get_count(&sts[k], MPI_BYTE, &len);
                s->rlen = (size_t)len;
            }
        }
        any = 1;
    }
    if (left >= 0) {
        worker_left(e, &sts[left]);
        return 1;
    }
    /* Collect each worker's chunks in the order they were sent: its
     * TAG_FAIL messages follow its results in that order, so any other
     * order would pair a failure with the wrong chunk. */
    for (int w = 1; (any || ndone > 0) && w <= e->workers && !e->broken; w++) {
        for (;;) {
            slot *oldest = mpipool__oldest_slot(e, w);
            if (oldest == NULL || !oldest->completed || collect(e, oldest) != 0) break;
        }
    }
    /* A death: what the worker answered before it is collected above. */
    if (died && !e->broken) lose(e, died, &why);
    if (died) mpipool__recover_ack(e, died); /* after the journal has its item (lose) */
    for (int w; !e->broken && (w = mpipool__recover_silent(e)) > 0; any = 1) lose(e, w, NULL);
    return any || died;
}
