/*
 * batch_calls.h — a batch task that records its calls, and the walk that
 * checks them (test_batch, test_slow_probe).  Include after harness.h.
 */
#ifndef MPIPOOL_TEST_BATCH_CALLS_H
#define MPIPOOL_TEST_BATCH_CALLS_H

/* Each item's two result words: its call's first index and count. */
static int span_many(mpipool_task *t) {
    int64_t *out = t->out;
    for (size_t i = 0; i < t->count; i++) {
        out[2 * i] = (int64_t)t->index;
        out[2 * i + 1] = (int64_t)t->count;
    }
    return 0;
}
MPIPOOL_BATCH_TASK(span_many);

/* The calls of a map of span_many over n items, walked from item 0: each
 * starts where the previous one ended; fails the test (naming `what`) on a
 * gap or an overlap. */
static size_t batch_calls(const int64_t *out, size_t n, const char *what) {
    size_t i = 0, calls = 0;
    while (i < n) {
        int64_t first = out[2 * i], count = out[2 * i + 1];
        if (first != (int64_t)i || count <= 0 || (size_t)count > n - i)
            fail_msg("%s: item %zu says its call is (%lld, %lld)", what, i, (long long)first, (long long)count);
        for (int64_t k = 1; k < count; k++)
            if (out[2 * (i + (size_t)k)] != first || out[2 * (i + (size_t)k) + 1] != count)
                fail_msg("%s: item %zu is not in the call (%lld, %lld)", what, i + (size_t)k, (long long)first,
                         (long long)count);
        i += (size_t)count;
        calls++;
    }
    return calls;
}

#endif
