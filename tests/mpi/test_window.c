/*
 * test_window.c — a deep window (dispatch.c, flat_depth): a map whose
 * chunk_size makes chunks short against a round trip keeps more than two
 * of them in flight on a worker, and its results, failures and variable-
 * size results still reach the right items, each item run once.
 *
 * The window: chunk_size 1, tiny items.  Rank 2's first item returns only
 * once the other workers have run AHEAD items (or after WAIT_S, and then the
 * test fails).  With two chunks in flight at most, rank 2's third chunk
 * could go out only after its first came back, after the others had run
 * AHEAD items, every one of them sent before it: its index would be AHEAD
 * or more.  With a window it was sent while rank 2 was held: index below
 * AHEAD.  (WAIT_S is no synchronisation: only a bound on how long a failing
 * run takes.)
 *
 * Checks at 1, 2 and 4 ranks: every result right and in its place, every
 * item run exactly once (counters every rank maps), and the same map with a
 * journal (every item in it exactly once); at 4 ranks, the index of rank
 * 2's third item.  Then, chunk_size 1: every seventh item fails with a
 * message naming it (statuses and messages paired with the right items
 * while many chunks a worker are out), and variable-size results of
 * lengths 0..12 land on their items.
 */
#include <stdatomic.h>
#include <time.h>
#include "harness.h"
#include "internal.h"
#include "journal.h"
#include "once.h"

enum { N = 4000, AHEAD = 2000, SEEN = 4 };
#define WAIT_S 20.0

typedef struct {
    _Atomic uint32_t runs[N];    /* how often each item ran          */
    _Atomic uint32_t others;     /* items run by ranks other than 2  */
    _Atomic int32_t hold;        /* rank 2's first item waits        */
    _Atomic uint32_t nseen;      /* rank 2's items so far ...        */
    _Atomic int64_t seen[SEEN];  /* ... and the first SEEN of them    */
} shared_t;

static mpipool *pool;
static shared_t *sh;
static char shm_path[256], journal_path[300];

static int twice(mpipool_task *t) {
    uint64_t x = *(const uint64_t *)t->in;
    if (t->rank == 2) {
        uint32_t k = atomic_fetch_add(&sh->nseen, 1);
        if (k < SEEN) atomic_store(&sh->seen[k], (int64_t)t->index);
        if (k == 0 && atomic_load(&sh->hold)) once_wait_for(&sh->others, AHEAD, WAIT_S);
    } else {
        atomic_fetch_add(&sh->others, 1);
    }
    *(uint64_t *)t->out = 2 * x + 3;
    atomic_fetch_add(&sh->runs[t->index], 1);
    return 0;
}
MPIPOOL_TASK(twice);

static uint64_t in[N], out[N];

static void run_map(const char *journal) {
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.journal = journal;
    o.chunk_size = 1;
    o.flags = MPIPOOL_MAP_FLAT;
    memset(out, 0, sizeof out);
    for (int i = 0; i < N; i++) atomic_store(&sh->runs[i], 0);
    atomic_store(&sh->others, 0);
    atomic_store(&sh->nseen, 0);
    for (int k = 0; k < SEEN; k++) atomic_store(&sh->seen[k], -1);
    int held = mpipool_size(pool) >= 3; /* two workers or more */
    atomic_store(&sh->hold, held);
    assert_rc(pool, mpipool_map(pool, twice, in, sizeof *in, out, sizeof *out, N, &o), MPIPOOL_OK);
    for (int i = 0; i < N; i++) {
        if (out[i] != 2 * in[i] + 3)
            fail_msg("item %d: result %llu, want %llu", i, (unsigned long long)out[i],
                     (unsigned long long)(2 * in[i] + 3));
        if (atomic_load(&sh->runs[i]) != 1) fail_msg("item %d ran %u times", i, (unsigned)atomic_load(&sh->runs[i]));
    }
    printf("rank 2 ran items %lld %lld %lld %lld first (of %u)\n", (long long)atomic_load(&sh->seen[0]),
           (long long)atomic_load(&sh->seen[1]), (long long)atomic_load(&sh->seen[2]),
           (long long)atomic_load(&sh->seen[3]), atomic_load(&sh->nseen));
    if (held && atomic_load(&sh->nseen) >= 3 && atomic_load(&sh->seen[2]) >= AHEAD)
        fail_msg("rank 2's third item is %lld: sent only after its held first one came back (window of two)",
                 (long long)atomic_load(&sh->seen[2]));
    if (held && atomic_load(&sh->others) < AHEAD)
        fail_msg("the other workers ran %u items, want %d or more", atomic_load(&sh->others), AHEAD);
}

static void test_window(void **state) {
    (void)state;
    run_map("");
}

static void test_window_journal(void **state) {
    (void)state;
    run_map(journal_path);
}

/* Every seventh item fails, naming itself; the others give their square. */
static int sevenths(mpipool_task *t) {
    uint64_t x = *(const uint64_t *)t->in;
    if (t->index % 7 == 3) {
        mpipool_task_fail(t, "item %zu refused", t->index);
        return 1;
    }
    *(uint64_t *)t->out = x * x;
    return 0;
}
MPIPOOL_TASK(sevenths);

static void test_window_failures(void **state) {
    (void)state;
    enum { M = 3000 };
    static uint64_t res[M];
    static int status[M];
    static char *messages[M];
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = 1;
    o.status = status;
    o.messages = messages;
    o.journal = "";
    memset(res, 0, sizeof res);
    assert_rc(pool, mpipool_map(pool, sevenths, in, sizeof *in, res, sizeof *res, M, &o), MPIPOOL_ETASK);
    for (size_t i = 0; i < M; i++) {
        char want[64];
        snprintf(want, sizeof want, "item %zu refused", i);
        if (i % 7 == 3) {
            if (status[i] != MPIPOOL_ETASK) fail_msg("item %zu: status %d, want ETASK", i, status[i]);
            if (messages[i] == NULL || strstr(messages[i], want) == NULL)
                fail_msg("item %zu: message '%s', want one with '%s'", i, messages[i] ? messages[i] : "(null)", want);
        } else {
            if (status[i] != MPIPOOL_OK) fail_msg("item %zu: status %d, want OK", i, status[i]);
            if (messages[i] != NULL) fail_msg("item %zu: message '%s', want none", i, messages[i]);
            if (res[i] != in[i] * in[i]) fail_msg("item %zu: result %llu", i, (unsigned long long)res[i]);
        }
        free(messages[i]);
    }
}

/* Variable-size results: item i gives i % 13 bytes, each (i + k) & 0xff. */
static int ragged(mpipool_task *t) {
    size_t len = t->index % 13;
    unsigned char *p = mpipool_task_output(t, len);
    if (len && p == NULL) return 1;
    for (size_t k = 0; k < len; k++) p[k] = (unsigned char)((t->index + k) & 0xff);
    return 0;
}
MPIPOOL_TASK(ragged);

static void test_window_varsize(void **state) {
    (void)state;
    enum { M = 3000 };
    static mpipool_buf res[M];
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = 1;
    o.journal = "";
    memset(res, 0, sizeof res);
    assert_rc(pool, mpipool_map(pool, ragged, in, sizeof *in, res, MPIPOOL_VARIABLE, M, &o), MPIPOOL_OK);
    for (size_t i = 0; i < M; i++) {
        const unsigned char *p = res[i].data;
        if (res[i].size != i % 13) fail_msg("item %zu: %zu bytes, want %zu", i, res[i].size, i % 13);
        for (size_t k = 0; k < res[i].size; k++)
            if (p[k] != (unsigned char)((i + k) & 0xff)) fail_msg("item %zu: byte %zu is %u", i, k, p[k]);
        free(res[i].data);
    }
}

static uint64_t want(uint64_t index) {
    return 2 * in[index] + 3;
}

static void attach(void *shared) {
    sh = shared;
}

int main(int argc, char **argv) {
    for (int i = 0; i < N; i++) in[i] = (uint64_t)i * 5 + 1;
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_window_journal),
        cmocka_unit_test(test_window_failures),
        cmocka_unit_test(test_window_varsize),
    };
    once_prog p = {"test_window", "window", "window", sizeof(shared_t), attach, &pool, shm_path, journal_path,
                   tests, sizeof tests / sizeof *tests, N, want};
    return once_main(argc, argv, &p);
}
