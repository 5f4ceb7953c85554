/*
 * once.h — for the tests that count how often each item ran (test_reclaim,
 * test_heavy, test_group_queue, test_window): counters in a file every
 * rank of one host maps, a check that a journal holds every item exactly
 * once with its result, the program around them (once_main), and a task's
 * bounded wait for another rank's work (once_wait_for).  Include after
 * harness.h, internal.h and journal.h; the test links the journal's
 * sources.
 */
#ifndef MPIPOOL_TEST_ONCE_H
#define MPIPOOL_TEST_ONCE_H

#include <fcntl.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* Hold a task until *count (shared, another rank's work) reaches `want`,
 * or `bound` seconds pass: the bound is no synchronisation, only how long
 * a failing run takes (the test then finds the count short). */
static inline void once_wait_for(_Atomic uint32_t *count, uint32_t want, double bound) {
    struct timespec t0, now, step = {0, 100000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (atomic_load(count) >= want) return;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((double)(now.tv_sec - t0.tv_sec) + 1e-9 * (double)(now.tv_nsec - t0.tv_nsec) >= bound) return;
        nanosleep(&step, NULL);
    }
}

/* Map `size` zeroed bytes shared by every rank: rank 0 makes the file
 * (named `tag` in $TMPDIR, its name left in path), the others open it.
 * NULL on failure, on every rank.  Rank 0 unlinks path at the end. */
static void *once_share(const char *tag, size_t size, char *path, size_t cap) {
    int fd = -1;
    if (harness_world_rank() == 0) {
        const char *dir = getenv("TMPDIR");
        snprintf(path, cap, "%s/mpipool-%s-XXXXXX", dir && *dir ? dir : "/tmp", tag);
        fd = mkstemp(path);
        if (fd < 0 || ftruncate(fd, (off_t)size) != 0) path[0] = '\0';
    }
    MPI_Bcast(path, (int)cap, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (path[0] == '\0') return NULL;
    if (fd < 0) fd = open(path, O_RDWR);
    if (fd < 0) return NULL;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return p == MAP_FAILED ? NULL : p;
}

typedef struct {
    uint64_t (*want)(uint64_t index); /* the result item `index` must have */
    uint64_t n;
    uint32_t *seen;                   /* n counters */
    int bad;
} once_replay;

static int once_replayed(void *ctx, uint64_t index, const void *data, size_t size) {
    once_replay *r = ctx;
    uint64_t v = 0;
    if (index >= r->n || size != sizeof v) return r->bad = 1;
    memcpy(&v, data, sizeof v);
    if (v != r->want(index)) r->bad = 1;
    r->seen[index]++;
    return 0;
}

/* After the pool closed (it holds its journal until then): every one of n
 * items is in the journal at `path` exactly once, with the 8-byte result
 * want(index).  Reports through CHECK, naming the test. */
static void once_check_journal(const char *test, const char *path, uint64_t n, uint64_t (*want)(uint64_t)) {
    mpipool__journal *j = NULL;
    char err[512];
    once_replay r = {want, n, calloc(n, sizeof(uint32_t)), 0};
    CHECK(r.seen != NULL);
    if (r.seen == NULL) return;
    if (mpipool__journal_open(path, &j, err, sizeof err) != MPIPOOL_OK) {
        fprintf(stderr, "%s: journal: %s\n", test, err);
        CHECK(0);
        free(r.seen);
        return;
    }
    int rc = mpipool__journal_replay(j, 0, NULL, once_replayed, &r, err, sizeof err);
    mpipool__journal_close(j);
    if (rc != MPIPOOL_OK) fprintf(stderr, "%s: replay: %s\n", test, err);
    CHECK(rc == MPIPOOL_OK);
    CHECK(!r.bad);
    int once = 1;
    for (uint64_t i = 0; i < n; i++)
        if (r.seen[i] != 1) {
            fprintf(stderr, "%s: item %llu is %u times in the journal\n", test, (unsigned long long)i, r.seen[i]);
            once = 0;
        }
    CHECK(once);
    free(r.seen);
}

/* A test program of these: its shared counters (tag, size, given to attach), a
 * pool on MPI_COMM_WORLD whose master runs the cmocka tests (journal: the
 * path they journal to, "<shared file>.journal") and then checks that
 * journal holds n items exactly once; workers serve.  main's return. */
typedef struct {
    const char *test, *group, *tag; /* "test_heavy", "heavy", the file's tag */
    size_t size;
    void (*attach)(void *shared);
    mpipool **pool;
    char *shm_path, *journal;        /* 256 and 300 bytes */
    const struct CMUnitTest *tests;
    size_t ntests;
    uint64_t n;
    uint64_t (*want)(uint64_t index);
} once_prog;

static int once_main(int argc, char **argv, const once_prog *p) {
    MPI_Init(&argc, &argv);
    void *sh = once_share(p->tag, p->size, p->shm_path, 256);
    CHECK(sh != NULL);
    p->attach(sh);
    MPI_Barrier(MPI_COMM_WORLD); /* every rank has mapped it before rank 0 unlinks it at the end */
    if (sh != NULL && mpipool_open_comm(p->pool, MPI_COMM_WORLD) == MPIPOOL_OK) {
        if (!mpipool_is_master(*p->pool)) {
            CHECK_RC(mpipool_serve(*p->pool), MPIPOOL_OK);
        } else {
            snprintf(p->journal, 300, "%s.journal", p->shm_path);
            if (_cmocka_run_group_tests(p->group, p->tests, p->ntests, NULL, NULL) != 0) harness_failed = 1;
            CHECK_RC(mpipool_close(*p->pool), MPIPOOL_OK);
            once_check_journal(p->test, p->journal, p->n, p->want);
            unlink(p->journal);
        }
    } else {
        CHECK(0);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (harness_world_rank() == 0 && p->shm_path[0]) unlink(p->shm_path);
    return harness_finish(p->test);
}

#endif
