/*
 * recover.c — the master's side of a worker's death.  Where the launcher
 * keeps the job alive when a rank dies (mpirun --enable-recovery, srun
 * --no-kill), a dead worker's receive simply never completes: nothing in
 * MPI-3 says the rank is gone.  So every worker's watchdog (watchdog.c)
 * sends a heartbeat each recover/4 seconds, and a worker that holds chunks
 * and has said nothing for `recover` seconds is taken for dead.  A worker
 * whose task crashed or overran its time limit says so itself first
 * (TAG_DIED), naming the item.
 *
 * What a death costs: the chunks the worker had go back to their jobs
 * (redo.c) and run elsewhere.  The items of the chunk it was running are
 * suspects: the one item its report names, or all those it may have been
 * running.  A suspect runs alone in its chunk, so a death while it runs is
 * surely its own; an item surely at two deaths fails ("worker died running
 * item 17 (rank 3, SIGSEGV; rank 5, SIGSEGV)") instead of killing worker
 * after worker.
 *
 * Invariants: the master looks only while it polls, so time it spent away
 * (in the caller's code) never counts as a worker's silence; a dead rank is
 * never sent anything again; with no worker left every job fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jobs.h"
#include "journal.h"
#include "recover.h"

int mpipool__recover_init(mpipool__engine *e) {
    size_t n = (size_t)e->pool->size;
    e->recover = e->pool->recover;
    e->beat_req = e->died_req = MPI_REQUEST_NULL;
    e->heard = calloc(n, sizeof *e->heard);
    e->beat_job = calloc(n, sizeof *e->beat_job);
    e->beat_item = calloc(n, sizeof *e->beat_item);
    e->dead = calloc(n, 1);
    return e->heard && e->beat_job && e->beat_item && e->dead ? 0 : -1;
}

void mpipool__recover_free(mpipool__engine *e) {
    free(e->heard);
    free(e->beat_job);
    free(e->beat_item);
    free(e->dead);
}

int mpipool__recover_post(mpipool__engine *e) {
    MPI_Comm comm = e->pool->comm;
    if (e->recover > 0 && e->beat_req == MPI_REQUEST_NULL)
        ENGINE_MPI(e, MPI_Irecv(&e->beat_buf, (int)sizeof e->beat_buf, MPI_BYTE, MPI_ANY_SOURCE,
                                MPIPOOL__TAG_HEARTBEAT, comm, &e->beat_req));
    if (e->died_req == MPI_REQUEST_NULL)
        ENGINE_MPI(e, MPI_Irecv(&e->died_buf, (int)sizeof e->died_buf, MPI_BYTE, MPI_ANY_SOURCE, MPIPOOL__TAG_DIED,
                                comm, &e->died_req));
    return 0;
}

void mpipool__recover_unpost(mpipool__engine *e) {
    MPI_Request *reqs[] = {&e->beat_req, &e->died_req};
    for (size_t i = 0; i < 2; i++) {
        if (*reqs[i] == MPI_REQUEST_NULL) continue;
        MPI_Cancel(reqs[i]);
        MPI_Wait(reqs[i], MPI_STATUS_IGNORE);
    }
}

void mpipool__recover_heard(mpipool__engine *e, int w) {
    /* The time of the master's latest look, not a clock read per chunk
     * (two per item cost the one-item round trip ~2 %): it is at most one
     * pass old, and the timeout is seconds. */
    if (e->recover > 0) e->heard[w] = e->last_look;
}

void mpipool__recover_beat(mpipool__engine *e, const MPI_Status *st) {
    int w = st->MPI_SOURCE;
    e->beat_req = MPI_REQUEST_NULL;
    if (w < 1 || w > e->workers) return;
    e->heard[w] = MPI_Wtime();
    e->beat_job[w] = e->beat_buf.busy ? e->beat_buf.job : 0;
    e->beat_item[w] = e->beat_buf.item;
}

static const char *sig_name(int sig) {
    static const struct { int sig; const char *name; } names[] = {
        {11, "SIGSEGV"}, {7, "SIGBUS"}, {8, "SIGFPE"}, {4, "SIGILL"}, {6, "SIGABRT"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].sig == sig) return names[i].name;
    return "a signal";
}

int mpipool__recover_died(mpipool__engine *e, const MPI_Status *st, mpipool__died_msg *why) {
    int w = st->MPI_SOURCE;
    *why = e->died_buf;
    e->died_req = MPI_REQUEST_NULL;
    return w < 1 || w > e->workers ? 0 : w;
}

void mpipool__recover_ack(mpipool__engine *e, int w) {
    /* It waits for this before its process ends: the item is noted, and
     * journalled (recover_requeue), by now. */
    MPI_Send(NULL, 0, MPI_BYTE, w, MPIPOOL__TAG_DIED_ACK, e->pool->comm);
}

int mpipool__recover_silent(mpipool__engine *e) {
    if (e->recover <= 0) return 0;
    double now = MPI_Wtime();
    if (now - e->last_look > e->recover / 4) {
        /* The master was away (or this is the first look): nobody's
         * silence counts from before. */
        for (int w = 1; w <= e->workers; w++) e->heard[w] = now;
    }
    e->last_look = now;
    for (int w = 1; w <= e->workers; w++)
        if (!e->dead[w] && e->inflight[w] > 0 && now - e->heard[w] > e->recover) return w;
    return 0;
}

/* "rank 3, SIGSEGV" for the death of w, after what the items saw before. */
static void charge(char *buf, size_t size, const char *before, int w, const mpipool__died_msg *why) {
    const char *what = why == NULL ? "no report" : why->kind == MPIPOOL__DIED_CRASH ? sig_name(why->sig)
                                                                                   : "over its time limit";
    snprintf(buf, size, "%s%srank %d, %s", before ? before : "", before ? "; " : "", w, what);
}

static const char *host_of(const mpipool__engine *e, int w) {
    return e->pool->hosts ? e->pool->hosts + (size_t)w * MPIPOOL__HOST_MAX : "?";
}

/* With a journal: item `item` of s's job ended worker w (`why`: its
 * report); `deaths`: the text of its deaths when it fails for them.  The
 * next run runs it at most once more after one crash, never after a
 * timeout or a second death (resume.c). */
static void journal_kill(mpipool__engine *e, slot *s, uint64_t item, int w, const mpipool__died_msg *why,
                         const char *deaths) {
    char text[MPIPOOL__MSG_MAX + 64];
    if (s->job->resume == NULL) return;
    if (deaths) {
        mpipool__resume_record_kill(s->job, item, MPIPOOL__JKILL_DIED, w, deaths);
    } else if (why->kind == MPIPOOL__DIED_TIMEOUT) {
        /* Host names are known with recovery only (pool.c). */
        char host[96] = "";
        if (e->pool->hosts) snprintf(host, sizeof host, " (host %s)", host_of(e, w));
        snprintf(text, sizeof text, "its task ran %.1f s on rank %d%s, longer than the map's task_timeout of %g s",
                 why->seconds, w, host, s->job->task_timeout);
        mpipool__resume_record_kill(s->job, item, MPIPOOL__JKILL_TIMEOUT, w, text);
    } else {
        charge(text, sizeof text, NULL, w, why); /* "rank 3, SIGSEGV" */
        mpipool__resume_record_kill(s->job, item, MPIPOOL__JKILL_CRASH, w, text);
    }
}

void mpipool__recover_put_back(slot *s, uint64_t first, uint64_t count, int deaths, const char *why,
                               const char *after) {
    mpipool_job *j = s->job;
    const char *items = j->source ? s->sbuf + sizeof s->whdr : NULL;
    char msg[96];
    if (count == 0) return;
    /* A stream's items exist only in the copy sent: keep it. */
    if (mpipool__redo_add(j, first, count, deaths, why, items, s->first, s->count) == 0) return;
    snprintf(msg, sizeof msg, "no memory to send it again after its worker %s", after);
    for (uint64_t i = first; i < first + count; i++) mpipool__job_fail_item(j, i, s->worker, MPIPOOL_ENOMEM, msg);
}

/* Queue items [first, first + count) of s, whose worker died, again. */
static void put_back(slot *s, uint64_t first, uint64_t count, int deaths, const char *why) {
    mpipool__recover_put_back(s, first, count, deaths, why, "died");
}

/* The item at `item` may have been running when w died: it runs alone
 * from now on.  `certain`: it surely was (the worker said so, or it was
 * alone in its chunk); the second such death fails it.  A death without
 * a report while other items were possibly running too is not counted
 * against any of them: an innocent neighbour of the killer must not fail. */
static void charge_item(mpipool__engine *e, slot *s, uint64_t item, int w, const mpipool__died_msg *why,
                        int certain) {
    char text[MPIPOOL__MSG_MAX];
    char msg[MPIPOOL__MSG_MAX + 128];
    charge(text, sizeof text, s->why, w, why);
    if (s->deaths + certain < 2) {
        if (why) journal_kill(e, s, item, w, why, NULL); /* it surely ended w */
        if (e->recover > 0) {
            put_back(s, item, 1, s->deaths + certain, text);
            return;
        }
        /* Without recovery the launcher is ending the job: sending the item
         * to another worker meanwhile would only risk a second death. */
        snprintf(msg, sizeof msg, "worker died running item %llu (%s); without in-job recovery it is not sent "
                 "again", (unsigned long long)item, text);
        mpipool__job_fail_item(s->job, item, w, MPIPOOL_ETASK, msg);
        return;
    }
    snprintf(msg, sizeof msg, "worker died running item %llu (%s)", (unsigned long long)item, text);
    journal_kill(e, s, item, w, why, text);
    mpipool__job_fail_item(s->job, item, w, MPIPOOL_ETASK, msg);
}

void mpipool__recover_requeue(mpipool__engine *e, slot *s, int w, int running, const mpipool__died_msg *why) {
    mpipool_job *j = s->job;
    uint64_t first = s->first, end = s->first + s->count;
    if (!running || s->count == 0) {
        put_back(s, first, s->count, s->deaths, s->why);
        return;
    }
    if (why && why->job == j->id && why->item >= first && why->item < end) {
        /* The worker said which item: only that one is charged. */
        uint64_t k = why->item;
        put_back(s, first, k - first, s->deaths, s->why);
        if (why->kind == MPIPOOL__DIED_TIMEOUT) {
            char msg[MPIPOOL__MSG_MAX];
            journal_kill(e, s, k, w, why, NULL);
            snprintf(msg, sizeof msg, "task ran %.1f s on rank %d, longer than the map's task_timeout of %g s; "
                     "the worker process was ended", why->seconds, w, j->task_timeout);
            mpipool__job_fail_item(j, k, w, MPIPOOL_ETIMEDOUT, msg);
        } else {
            charge_item(e, s, k, w, why, 1);
        }
        put_back(s, k + 1, end - k - 1, s->deaths, s->why);
        return;
    }
    /* No report: the items from the one its last heartbeat named on were
     * possibly running; those before it had returned. */
    uint64_t from = first;
    if (e->beat_job[w] == j->id && e->beat_item[w] >= first && e->beat_item[w] < end) from = e->beat_item[w];
    put_back(s, first, from - first, s->deaths, s->why);
    for (uint64_t i = from; i < end; i++) charge_item(e, s, i, w, NULL, end - from == 1);
}

void mpipool__recover_bury(mpipool__engine *e, int w, const mpipool__died_msg *why) {
    if (e->dead[w]) return;
    e->dead[w] = 1;
    e->ndead++;
    const char *host = host_of(e, w);
    if (e->ndead >= e->workers) {
        if (!e->broken) {
            snprintf(e->broken_msg, sizeof e->broken_msg, "no worker left: the last one, rank %d (host %s), died",
                     w, host);
            e->broken_code = MPIPOOL_ECANCELED;
        }
        e->broken = 1;
        return;
    }
    if (e->recover > 0)
        fprintf(stderr, "mpipool: rank %d (host %s) %s; its items run on the %d workers left\n", w, host,
                why == NULL ? "stopped answering: taken for dead"
                            : why->kind == MPIPOOL__DIED_CRASH ? "died in a task" : "was ended: a task overran",
                e->workers - e->ndead);
    else
        fprintf(stderr, "mpipool: rank %d (host %s) %s; without in-job recovery the launcher ends the job "
                "(see mpipool(7), RECOVERY)\n", w, host,
                why && why->kind == MPIPOOL__DIED_TIMEOUT ? "was ended: a task overran" : "died in a task");
    fflush(stderr);
}
