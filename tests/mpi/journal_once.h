/*
 * journal_once.h — after a test's pool has closed (it holds its journal
 * until then): every item of a map of n uint64_t results is in the journal
 * exactly once, with the result 3 * in[i] + 1.  For the tests whose maps
 * send items again (test_reclaim, test_group_queue).  Include after
 * harness.h and journal.h.
 */
#ifndef MPIPOOL_TEST_JOURNAL_ONCE_H
#define MPIPOOL_TEST_JOURNAL_ONCE_H

typedef struct {
    const uint64_t *in;
    size_t n;
    uint32_t *seen;
    int bad;
} journal_once_t;

static int journal_once_item(void *ctx, uint64_t index, const void *data, size_t size) {
    journal_once_t *r = ctx;
    uint64_t v = 0;
    if (index >= r->n || size != sizeof v) return r->bad = 1;
    memcpy(&v, data, sizeof v);
    if (v != 3 * r->in[index] + 1) r->bad = 1;
    r->seen[index]++;
    return 0;
}

/* CHECKs (harness.h) that fail and name the first problem. */
static void journal_once_check(const char *test, const char *path, const uint64_t *in, size_t n) {
    mpipool__journal *j = NULL;
    char err[512];
    journal_once_t r = {in, n, calloc(n, sizeof(uint32_t)), 0};
    CHECK(r.seen != NULL);
    if (r.seen == NULL) return;
    if (mpipool__journal_open(path, &j, err, sizeof err) != MPIPOOL_OK) {
        fprintf(stderr, "%s: journal: %s\n", test, err);
        CHECK(0);
        free(r.seen);
        return;
    }
    int rc = mpipool__journal_replay(j, 0, NULL, journal_once_item, &r, err, sizeof err);
    mpipool__journal_close(j);
    if (rc != MPIPOOL_OK) fprintf(stderr, "%s: replay: %s\n", test, err);
    CHECK(rc == MPIPOOL_OK);
    CHECK(!r.bad);
    for (size_t i = 0; i < n; i++)
        if (r.seen[i] != 1) {
            fprintf(stderr, "%s: item %zu is %u times in the journal\n", test, i, r.seen[i]);
            CHECK(0);
            break;
        }
    free(r.seen);
}

#endif
