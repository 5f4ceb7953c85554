/*
 * test_reclaim.c — reclamation (src/reclaim.c, wire.h TAG_RECLAIM): at the
 * end of a map, a worker held up by a long item gives back the items
 * queued behind it, and they run on the idle workers.
 *
 * The map has N items in chunks of automatic size (a map's chunk_size keeps
 * its chunks whole), and item L is "long": its task waits until the
 * master's TAG_RECLAIM has reached its worker (the task peeks with
 * MPI_Iprobe on the pool's communicator).  The master asks once every item
 * has been handed out and the other workers have run everything else, so
 * no sleep and no timing: the long item returns only once the master has
 * asked, and its worker then stops after the run item L was in (runs of
 * about 0.5 ms of items, pace.c; or after one more item, if that is the
 * last of its chunk: it starts that one sooner than any other rank
 * could), and gives back the rest: the rest of L's chunk and the chunk
 * queued behind it, if any.  Whether there is any
 * depends on timing: when the master ran out of items while L's worker
 * held only L's chunk (the others took the last ones), and L's run reaches
 * the end of the chunk, there is nothing to give back (seen over TCP, 3
 * runs in 15).  So the check is what holds either way: after item L, its
 * worker ran the rest of L's run (items L+1, L+2, ...), at most one
 * chunk's last item, and nothing else but items given back and sent again; without
 * reclamation it would run the chunk queued behind.  With one worker nothing is asked and item L
 * does not wait.  With the hierarchy on (MPIPOOL_GROUP_SIZE=2 at 4 ranks:
 * rank 1 leads rank 2, rank 3 is alone), the long item is instead the
 * first item member rank 2 runs, and it waits until its leader asks for
 * what rank 2 has not started (group_back.c: once the leader has nothing
 * left and half its group is idle).  If rank 2's share is that one item
 * with nothing queued behind it, there is nothing to ask for, and no
 * TAG_RECLAIM comes (seen about 1 run in 6 with MPIPOOL_PACE=off under
 * load); so there the long item also ends once every other item has
 * finished, which it can only if nothing was stuck behind it, and it must
 * then be the last item to finish.  The leader counts its members'
 * given-back items as its own in the stats.
 * The test's ranks share one host: run counters live in a file every rank
 * maps.
 *
 * Checks, at 1, 2 and 4 ranks, and at 4 with the hierarchy forced on:
 *  - every result is right and in its place, every status MPIPOOL_OK;
 *  - every item ran exactly once (per-item run counters in the file);
 *  - with two or more flat workers, the master let item L go, and the
 *    rank that ran it ran after it only items L+1, L+2, ... (the rest of
 *    its run) and at most one more than the stats count given back;
 *    with the hierarchy on, the long item ran on member rank 2 and its
 *    leader, rank 1, let it go (or, with nothing behind it, it finished
 *    last); with one worker none is given back;
 *  - with a journal, the journal holds every item exactly once with its
 *    result (read back with the journal reader once the pool has closed),
 *    the partial chunks and the items sent again included.
 */
#include <sched.h>
#include <stdatomic.h>
#include "harness.h"
#include "internal.h"
#include "journal.h"
#include "once.h"
#include "wire.h"

enum { N = 4000, L = 1000 };

typedef struct {
    _Atomic uint64_t done;       /* items finished, on any rank */
    _Atomic uint32_t runs[N];    /* how often each item ran     */
    _Atomic int32_t long_rank;   /* the rank that ran item L     */
    _Atomic int64_t long_index;  /* L (flat), or the first item a member ran
                                    (hierarchy; -1: none yet) */
    _Atomic uint64_t ticket;     /* the next item to finish gets this */
    uint64_t order[N];           /* each item's ticket           */
    int32_t on[N];               /* the rank that ran each item  */
    int32_t wait;                /* item L waits for the reclaim */
    _Atomic int32_t asker;       /* who sent the TAG_RECLAIM it waited for */
} shared_t;

static mpipool *pool;
static shared_t *sh;
static char shm_path[256], journal_path[300];

static int flat(void) {
    const char *h = getenv("MPIPOOL_HIERARCHY");
    return h == NULL || strcmp(h, "on") != 0;
}

/* 1 if `rank` is a group member, not a leader (MPIPOOL_GROUP_SIZE ranks
 * a group, leaders at 1, 1 + G, ...; rank 3 of 4 leads a group of one). */
static int member(int rank) {
    const char *gs = getenv("MPIPOOL_GROUP_SIZE");
    int g = gs ? atoi(gs) : 0;
    return !flat() && g >= 2 && (rank - 1) % g != 0;
}

/* 1 if t's item is the long one: item L in a flat pool; with the
 * hierarchy, the first item a member runs (a leader's own items are never
 * asked for, and which items a member gets is up to its leader: with
 * items this short, its first share may be its only one). */
static int is_long(const mpipool_task *t) {
    if (flat() || !sh->wait) return t->index == L;
    int64_t none = -1;
    return member(t->rank) && atomic_compare_exchange_strong(&sh->long_index, &none, (int64_t)t->index);
}

/* Item L's wait: until the master (or its group leader) asked its worker
 * for what it holds; with the hierarchy, also until every other item has
 * finished (the asker stays -1). */
static void wait_for_reclaim(void) {
    for (;;) {
        if (!flat() && atomic_load(&sh->done) >= N - 1) return;
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, MPIPOOL__TAG_RECLAIM, pool->comm, &flag, &st);
        if (flag) {
            atomic_store(&sh->asker, st.MPI_SOURCE);
            return;
        }
        sched_yield();
    }
}

static int triple(mpipool_task *t) {
    uint64_t x = *(const uint64_t *)t->in;
    if (is_long(t)) {
        atomic_store(&sh->long_rank, t->rank);
        if (sh->wait) wait_for_reclaim();
    }
    *(uint64_t *)t->out = 3 * x + 1;
    sh->on[t->index] = t->rank;
    sh->order[t->index] = atomic_fetch_add(&sh->ticket, 1);
    atomic_fetch_add(&sh->runs[t->index], 1);
    atomic_fetch_add(&sh->done, 1);
    return 0;
}
MPIPOOL_TASK(triple);

static uint64_t in[N], out[N];
static int status[N];

static uint64_t want(uint64_t index) {
    return 3 * in[index] + 1;
}

/* Each rank's given-back count so far, by rank (the master's slot 0). */
static void given_back(uint64_t *by_rank) {
    mpipool_pool_stats st;
    memset(by_rank, 0, 8 * sizeof *by_rank);
    if (mpipool_stats(pool, &st) != MPIPOOL_OK) fail_msg("mpipool_stats failed");
    for (int i = 0; i < st.nworkers; i++)
        if (st.workers[i].rank >= 0 && st.workers[i].rank < 8) by_rank[st.workers[i].rank] = st.workers[i].given_back;
}

/* Items rank lr ran after the long item li other than li+1, li+2, ...
 * (the rest of its run); *rest gets how many of those it ran. */
static uint64_t ran_after_long(int lr, uint64_t li, uint64_t *rest) {
    uint64_t tl = sh->order[li], others = 0, next = li + 1;
    *rest = 0;
    while (next < N && sh->on[next] == lr && sh->order[next] > tl) next++, (*rest)++;
    for (uint64_t i = 0; i < N; i++)
        if (sh->on[i] == lr && sh->order[i] > tl && (i <= li || i >= next)) others++;
    return others;
}

/* One map with item L long; checks results, runs and what was given back. */
static void run_map(const char *journal) {
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    uint64_t before[8], after[8], back = 0;
    o.status = status;
    o.journal = journal;
    memset(out, 0, sizeof out);
    for (int i = 0; i < N; i++) atomic_store(&sh->runs[i], 0);
    atomic_store(&sh->done, 0);
    atomic_store(&sh->long_rank, -1);
    atomic_store(&sh->long_index, flat() ? L : -1);
    atomic_store(&sh->asker, -1);
    atomic_store(&sh->ticket, 0);
    sh->wait = mpipool_size(pool) >= 3;
    given_back(before);
    assert_rc(pool, mpipool_map(pool, triple, in, sizeof *in, out, sizeof *out, N, &o), MPIPOOL_OK);
    for (int i = 0; i < N; i++) {
        if (out[i] != 3 * in[i] + 1 || status[i] != MPIPOOL_OK)
            fail_msg("item %d: result %llu (want %llu), status %s", i, (unsigned long long)out[i],
                     (unsigned long long)(3 * in[i] + 1), mpipool_err_name(status[i]));
        if (atomic_load(&sh->runs[i]) != 1) fail_msg("item %d ran %u times", i, (unsigned)atomic_load(&sh->runs[i]));
    }
    given_back(after);
    int lr = atomic_load(&sh->long_rank);
    for (int r = 0; r < 8; r++) back += after[r] - before[r];
    int64_t li = atomic_load(&sh->long_index);
    if (sh->wait && li < 0) fail_msg("no member ran an item: nothing was held up");
    if (sh->wait && !flat()) {
        /* A member's long item is let go by its leader's TAG_RECLAIM (rank
         * 1 leads rank 2), never the master's.  What it gives back runs
         * in the group; the leader cannot know whether the master has
         * more to send, so the member may well get new shares after it
         * (the count check below is the flat pool's). */
        int asker = atomic_load(&sh->asker);
        if (lr != 2 || (asker != 1 && !(asker == -1 && sh->order[li] == N - 1)))
            fail_msg("the long item %lld ran on rank %d and was let go by rank %d (finished %llu of %d); want "
                     "rank 2, let go by its leader, rank 1, or finished last with nothing behind it",
                     (long long)li, lr, asker, (unsigned long long)sh->order[li] + 1, N);
        if (asker == -1) fprintf(stderr, "test_reclaim: rank 2 held nothing behind its long item: none asked\n");
    } else if (sh->wait) {
        /* Item L's worker gives back the rest of its chunk after the run
         * item L was in, and the chunk behind it, if any (but a chunk's
         * last item it runs): after L it runs only the rest of L's run,
         * at most that one item,
         * and items given back (by it or by a worker the OS left waiting
         * long enough) and sent again. */
        uint64_t rest = 0, others = lr >= 1 && lr < 8 ? ran_after_long(lr, (uint64_t)li, &rest) : 0;
        if (lr < 1 || lr >= 8 || others > back + 1 || atomic_load(&sh->asker) != 0)
            fail_msg("rank %d ran item %lld (let go by rank %d), then %llu items of its run and %llu others, "
                     "but only %llu items were given back (%llu by it)", lr, (long long)li,
                     (int)atomic_load(&sh->asker), (unsigned long long)rest, (unsigned long long)others,
                     (unsigned long long)back, lr >= 1 && lr < 8 ? (unsigned long long)(after[lr] - before[lr]) : 0ULL);
    } else if (mpipool_size(pool) < 3 && back != 0) {
        fail_msg("%llu items given back with one worker or none", (unsigned long long)back);
    }
}

static void test_reclaim(void **state) {
    (void)state;
    run_map("");
}

static void test_reclaim_journal(void **state) {
    (void)state;
    run_map(journal_path);
}

static void attach(void *shared) {
    sh = shared;
}

int main(int argc, char **argv) {
    for (int i = 0; i < N; i++) in[i] = (uint64_t)i * 7 + 5;
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reclaim),
        cmocka_unit_test(test_reclaim_journal),
    };
    once_prog p = {"test_reclaim", "reclaim", "reclaim", sizeof(shared_t), attach, &pool, shm_path, journal_path,
                   tests, sizeof tests / sizeof *tests, N, want};
    return once_main(argc, argv, &p);
}
