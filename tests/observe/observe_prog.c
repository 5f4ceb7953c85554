#define _POSIX_C_SOURCE 200809L
/*
 * observe_prog.c — a small run for the observation tests (run.sh): a
 * dynamic map of N items of uneven cost in chunks of 3 (job 1), a static
 * map of 90 items (job 2) and an imap of 50 items in chunks of 5 (job 3).
 * Prints one line per job to stdout, so the tests can check that nothing of
 * the progress display ever lands there.
 *
 *     observe_prog [N]      (default 600)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <mpipool.h>

/* OBSERVE_ITEM_US=N: each task also sleeps N microseconds, so that a job
 * lasts long enough for several progress lines at the display's floor. */
static void item_pause(void) {
    static long us = -1;
    if (us < 0) us = getenv("OBSERVE_ITEM_US") ? atol(getenv("OBSERVE_ITEM_US")) : 0;
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    if (us > 0) nanosleep(&ts, NULL);
}

static int work(mpipool_task *t) {
    item_pause();
    long x = *(const long *)t->in;
    volatile double acc = 0;
    for (long i = 0; i < 2000 + (x % 7) * 3000; i++) acc += (double)i * 1e-9;
    *(long *)t->out = 2 * x;
    return 0;
}
MPIPOOL_TASK(work);

static int shout(mpipool_task *t) {
    item_pause();
    char *o = mpipool_task_output(t, t->in_size);
    if (o == NULL) return 1;
    for (size_t i = 0; i < t->in_size; i++) o[i] = (char)(((const char *)t->in)[i] & ~0x20);
    return 0;
}
MPIPOOL_TASK(shout);

static int next_item(void *ctx, size_t index, mpipool_buf *item) {
    (void)ctx;
    if (index >= 50) return 0;
    item->data = "abc";
    item->size = 3;
    return 1;
}
static int put(void *ctx, size_t index, const void *r, size_t size, int status, const char *m) {
    (void)index, (void)m;
    if (status == MPIPOOL_OK && size == 3 && memcmp(r, "ABC", 3) == 0) (*(int *)ctx)++;
    return 0;
}

int main(int argc, char **argv) {
    mpipool *pool;
    if (mpipool_open(&pool, &argc, &argv) != MPIPOOL_OK) {
        fprintf(stderr, "observe_prog: %s\n", mpipool_last_error(NULL));
        return 1;
    }
    if (!mpipool_is_master(pool)) return mpipool_serve(pool) == MPIPOOL_OK ? 0 : 1;
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 600;
    long *in = malloc((n + 90) * sizeof *in), *out = malloc((n + 90) * sizeof *out);
    if (!in || !out) return 1;
    for (size_t i = 0; i < n + 90; i++) in[i] = (long)i;
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = 3;
    int ok = mpipool_map(pool, work, in, sizeof *in, out, sizeof *out, n, &o) == MPIPOOL_OK;
    for (size_t i = 0; ok && i < n; i++) ok = out[i] == 2 * (long)i;
    printf("job 1: %s\n", ok ? "ok" : "WRONG");
    o = (mpipool_map_options)MPIPOOL_MAP_OPTIONS_INIT;
    o.schedule = MPIPOOL_SCHEDULE_STATIC;
    int ok2 = mpipool_map(pool, work, in, sizeof *in, out, sizeof *out, 90, &o) == MPIPOOL_OK;
    printf("job 2: %s\n", ok2 ? "ok" : "WRONG");
    int got = 0;
    mpipool_source src = {next_item, NULL};
    mpipool_sink sink = {put, &got};
    mpipool_imap_options io = MPIPOOL_IMAP_OPTIONS_INIT;
    io.chunk_size = 5;
    int ok3 = mpipool_imap(pool, shout, &src, &sink, &io) == MPIPOOL_OK && got == 50;
    printf("job 3: %s\n", ok3 ? "ok" : "WRONG");
    free(in);
    free(out);
    return mpipool_close(pool) == MPIPOOL_OK && ok && ok2 && ok3 ? 0 : 1;
}
