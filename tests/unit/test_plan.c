/*
 * test_plan.c — chunk planning (src/plan.c): guided chunk sizes in dynamic
 * mode, the message-size cap, the in-flight depth, and static shares.
 * Pure arithmetic; the property tests walk whole simulated maps.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "pure.h"

#define BIG SIZE_MAX

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

static void test_chunk_remaining_zero(void **state) {
    (void)state;
    assert_int_equal(mpipool__plan_chunk(0, 4, 0, 1, BIG), 0);
    assert_int_equal(mpipool__plan_chunk(0, 4, 7, 1, BIG), 0);
    assert_int_equal(mpipool__plan_chunk(0, 0, 0, 0, 0), 0);
}

static void test_chunk_guided(void **state) {
    (void)state;
    /* ceil(remaining / (2 * workers)) */
    assert_int_equal(mpipool__plan_chunk(1000, 4, 0, 1, BIG), 125);
    assert_int_equal(mpipool__plan_chunk(1001, 4, 0, 1, BIG), 126);
    assert_int_equal(mpipool__plan_chunk(1000, 1, 0, 1, BIG), 500);
    assert_int_equal(mpipool__plan_chunk(9, 4, 0, 1, BIG), 2);
    assert_int_equal(mpipool__plan_chunk(8, 4, 0, 1, BIG), 1);
    assert_int_equal(mpipool__plan_chunk(1, 4, 0, 1, BIG), 1);
    /* Shrinks as the map drains. */
    assert_true(mpipool__plan_chunk(100, 3, 0, 1, BIG) < mpipool__plan_chunk(1000, 3, 0, 1, BIG));
}

static void test_chunk_min(void **state) {
    (void)state;
    /* Never below min_chunk ... */
    assert_int_equal(mpipool__plan_chunk(100, 50, 0, 8, BIG), 8);
    /* ... unless fewer items remain. */
    assert_int_equal(mpipool__plan_chunk(3, 1, 0, 8, BIG), 3);
    /* A large min_chunk still gives at most max_chunk. */
    assert_int_equal(mpipool__plan_chunk(1000, 4, 0, 500, 100), 100);
}

static void test_chunk_user_wins(void **state) {
    (void)state;
    /* A user chunk size beats both the guided size and min_chunk. */
    assert_int_equal(mpipool__plan_chunk(1000, 4, 7, 50, BIG), 7);
    assert_int_equal(mpipool__plan_chunk(1000, 4, 1, 50, BIG), 1);
    assert_int_equal(mpipool__plan_chunk(1000, 4, 600, 1, BIG), 600);
    /* Capped by max_chunk and by what remains. */
    assert_int_equal(mpipool__plan_chunk(1000, 4, 600, 1, 64), 64);
    assert_int_equal(mpipool__plan_chunk(5, 4, 600, 1, BIG), 5);
}

static void test_chunk_max(void **state) {
    (void)state;
    assert_int_equal(mpipool__plan_chunk(1000, 1, 0, 1, 10), 10);
    assert_int_equal(mpipool__plan_chunk(BIG, 1, 0, 1, 1000), 1000);
    /* Never 0 while items remain, whatever the arguments. */
    assert_int_equal(mpipool__plan_chunk(10, 4, 0, 1, 0), 1);
    assert_int_equal(mpipool__plan_chunk(10, 0, 0, 0, 0), 1);
    assert_int_equal(mpipool__plan_chunk(10, 0, 0, 0, BIG), 5);
    assert_int_equal(mpipool__plan_chunk(1, 1000000, 0, 0, BIG), 1);
}

/* Simulate the master handing out chunks until nothing remains. */
static void simulate(size_t n, size_t workers, size_t user, size_t minc, size_t maxc) {
    size_t remaining = n, sum = 0, chunks = 0, prev = BIG;
    while (remaining > 0) {
        size_t c = mpipool__plan_chunk(remaining, workers, user, minc, maxc);
        if (c == 0 || c > remaining) {
            fail_msg("plan_chunk(%zu, %zu, %zu, %zu, %zu) = %zu", remaining, workers,
                     user, minc, maxc, c);
        }
        size_t cap = maxc ? maxc : 1;
        assert_true(c <= cap);
        if (user > 0) {
            assert_int_equal(c, min_sz(min_sz(user, cap), remaining));
        } else {
            /* Guided: at least min(min_chunk, cap, remaining), and the sizes
             * never grow as the map drains. */
            assert_true(c >= min_sz(min_sz(minc, cap), remaining));
            assert_true(c <= prev);
        }
        prev = c;
        sum += c;
        remaining -= c;
        chunks++;
        assert_true(chunks <= n);
    }
    assert_int_equal(sum, n);
    assert_int_equal(mpipool__plan_chunk(remaining, workers, user, minc, maxc), 0);
}

static void test_chunk_simulated_runs(void **state) {
    (void)state;
    const size_t ns[] = {1, 2, 3, 7, 10, 99, 1000, 4097, 100003};
    const size_t ws[] = {1, 2, 3, 4, 16, 1000};
    const size_t mins[] = {0, 1, 4, 64};
    const size_t maxs[] = {1, 3, 64, 100000, BIG};
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++) {
        size_t n = ns[a];
        const size_t users[] = {0, 1, 7, 1000, n + 5};
        for (size_t b = 0; b < sizeof ws / sizeof *ws; b++)
            for (size_t c = 0; c < sizeof users / sizeof *users; c++)
                for (size_t d = 0; d < sizeof mins / sizeof *mins; d++)
                    for (size_t e = 0; e < sizeof maxs / sizeof *maxs; e++)
                        simulate(n, ws[b], users[c], mins[d], maxs[e]);
    }
}

static void test_chunk_guided_count(void **state) {
    (void)state;
    /* Guided scheduling needs far fewer chunks than items, and more chunks
     * than workers (so the tail balances). */
    size_t remaining = 100000, chunks = 0;
    while (remaining > 0) {
        remaining -= mpipool__plan_chunk(remaining, 4, 0, 1, BIG);
        chunks++;
    }
    assert_true(chunks > 8);
    assert_true(chunks < 1000);
}

static void test_max_items(void **state) {
    (void)state;
    assert_int_equal(mpipool__plan_max_items(4, 4, 64, 1024), 240);
    /* The larger of in and out decides. */
    assert_int_equal(mpipool__plan_max_items(8, 16, 0, 160), 10);
    assert_int_equal(mpipool__plan_max_items(16, 8, 0, 160), 10);
    /* At least 1, even when one item does not fit. */
    assert_int_equal(mpipool__plan_max_items(100, 100, 64, 100), 1);
    assert_int_equal(mpipool__plan_max_items(1, 1, 64, 64), 1);
    assert_int_equal(mpipool__plan_max_items(1, 1, 64, 10), 1);
    assert_int_equal(mpipool__plan_max_items(4, 4, 0, 0), 1);
    /* Zero-sized items count as one byte. */
    assert_int_equal(mpipool__plan_max_items(0, 0, 0, 10), 10);
    assert_int_equal(mpipool__plan_max_items(4, 4, 16, MPIPOOL__MAX_MSG_BYTES),
                     (MPIPOOL__MAX_MSG_BYTES - 16) / 4);
}

static void test_max_items_property(void **state) {
    (void)state;
    const size_t sizes[] = {1, 3, 4, 8, 100, 4096, 1u << 20};
    const size_t headers[] = {0, 16, 64};
    const size_t maxes[] = {1, 64, 1000, 1u << 20, MPIPOOL__MAX_MSG_BYTES};
    for (size_t a = 0; a < sizeof sizes / sizeof *sizes; a++)
        for (size_t b = 0; b < sizeof sizes / sizeof *sizes; b++)
            for (size_t h = 0; h < sizeof headers / sizeof *headers; h++)
                for (size_t m = 0; m < sizeof maxes / sizeof *maxes; m++) {
                    size_t in = sizes[a], out = sizes[b], hd = headers[h], mx = maxes[m];
                    size_t item = in > out ? in : out;
                    size_t k = mpipool__plan_max_items(in, out, hd, mx);
                    assert_true(k >= 1);
                    if (hd + item <= mx) {
                        /* Fits, and is the largest count that fits. */
                        assert_true(hd + k * item <= mx);
                        assert_true(hd + (k + 1) * item > mx);
                    } else {
                        assert_int_equal(k, 1);
                    }
                }
}

static void test_depth(void **state) {
    (void)state;
    /* Two chunks in flight while more items than workers are unassigned. */
    assert_int_equal(mpipool__plan_depth(1000, 4, 0, 0), 2);
    assert_int_equal(mpipool__plan_depth(5, 4, 0, 0), 2);
    assert_int_equal(mpipool__plan_depth(4, 4, 0, 0), 1);
    assert_int_equal(mpipool__plan_depth(1, 4, 0, 0), 1);
    assert_int_equal(mpipool__plan_depth(0, 4, 0, 0), 1);
    assert_int_equal(mpipool__plan_depth(2, 1, 0, 0), 2);
    assert_int_equal(mpipool__plan_depth(1, 1, 0, 0), 1);
    for (size_t w = 1; w < 50; w++) {
        assert_int_equal(mpipool__plan_depth(w + 1, w, 0, 0), 2);
        assert_int_equal(mpipool__plan_depth(w, w, 0, 0), 1);
    }
}

static void test_window(void **state) {
    (void)state;
    /* Slots per rank: up to 32, 128 in all below 64 workers, then 2. */
    assert_int_equal(mpipool__plan_slots(0), 2);
    assert_int_equal(mpipool__plan_slots(1), MPIPOOL__WINDOW_MAX);
    assert_int_equal(mpipool__plan_slots(4), 32);
    assert_int_equal(mpipool__plan_slots(8), 16);
    assert_int_equal(mpipool__plan_slots(32), 4);
    assert_int_equal(mpipool__plan_slots(63), 2);
    assert_int_equal(mpipool__plan_slots(64), 2);
    assert_int_equal(mpipool__plan_slots(4096), 2);
    for (size_t w = 1; w < 200; w++) {
        int k = mpipool__plan_slots(w);
        assert_true(k >= 2 && k <= MPIPOOL__WINDOW_MAX);
        assert_true(w >= MPIPOOL__WINDOW_RANKS || (size_t)k * w <= 2 * MPIPOOL__WINDOW_RANKS || k == 2);
    }
    /* Chunks in flight: about 50 us of work, within 2 .. most. */
    assert_int_equal(mpipool__plan_window(0, 32), 2);     /* time unknown */
    assert_int_equal(mpipool__plan_window(-1, 32), 2);
    assert_int_equal(mpipool__plan_window(1e-9, 2), 2);   /* no room */
    assert_int_equal(mpipool__plan_window(1e-9, 32), 32);
    assert_int_equal(mpipool__plan_window(5e-6, 32), 11);
    assert_int_equal(mpipool__plan_window(25e-6, 32), 3);
    assert_int_equal(mpipool__plan_window(50e-6, 32), 2);
    assert_int_equal(mpipool__plan_window(1e-3, 32), 2);
}

static void test_heavy(void **state) {
    (void)state;
    /* Heavy-tailed and long items: one chunk in flight, however much is left. */
    assert_int_equal(mpipool__plan_depth(1000, 4, 1, 1e-3), 1);
    assert_int_equal(mpipool__plan_depth(1000, 4, 1, MPIPOOL__HEAVY_ITEM_SECONDS), 1);
    /* Short items: a round trip is not small against them; two, as usual. */
    assert_int_equal(mpipool__plan_depth(1000, 4, 1, 100e-6), 2);
    assert_int_equal(mpipool__plan_depth(4, 4, 1, 100e-6), 1);
    /* Not heavy: long items keep two. */
    assert_int_equal(mpipool__plan_depth(1000, 4, 0, 1.0), 2);
    /* An outlier: a chunk whose mean item is over 4x the mean so far, in a
     * map of under 250 items a worker. */
    assert_true(mpipool__plan_heavy(0.0041, 1, 1e-3, 50));
    assert_false(mpipool__plan_heavy(0.0039, 1, 1e-3, 50));
    assert_true(mpipool__plan_heavy(0.05, 10, 1e-3, 249));
    assert_false(mpipool__plan_heavy(0.03, 10, 1e-3, 249));
    /* Many items a worker: a round trip a chunk costs more than a wait. */
    assert_false(mpipool__plan_heavy(10.0, 1, 1e-3, 250));
    assert_false(mpipool__plan_heavy(10.0, 1, 1e-3, 500));
    /* Unknown mean or share (a stream), or nothing ran: never. */
    assert_false(mpipool__plan_heavy(10.0, 1, 0, 50));
    assert_false(mpipool__plan_heavy(10.0, 1, -1, 50));
    assert_false(mpipool__plan_heavy(10.0, 1, 1e-3, 0));
    assert_false(mpipool__plan_heavy(10.0, 0, 1e-3, 50));
}

/* The master's budget a chunk counts every target it serves, until every
 * item went out: then only the chunks still out, and the one it sends. */
static void test_serving(void **state) {
    (void)state;
    assert_int_equal(mpipool__plan_serving(255, 0, 3), 255);    /* items left to send */
    assert_int_equal(mpipool__plan_serving(255, 1, 3), 4);      /* given back, 3 out */
    assert_int_equal(mpipool__plan_serving(255, 1, 0), 1);
    assert_int_equal(mpipool__plan_serving(4095, 1, 4000), 4001);
    assert_int_equal(mpipool__plan_serving(4095, 1, 4094), 4095); /* never past fanout */
    assert_int_equal(mpipool__plan_serving(4095, 1, 9000), 4095);
    assert_int_equal(mpipool__plan_serving(0, 1, 0), 0);
}

static void test_slow_start(void **state) {
    (void)state;
    /* No chunk sent yet: as planned. */
    assert_int_equal(mpipool__plan_slow_start(5000, 0, 100), 5000);
    /* Then at most twice the last ... */
    assert_int_equal(mpipool__plan_slow_start(5000, 32, 0), 64);
    assert_int_equal(mpipool__plan_slow_start(5000, 2000, 0), 4000);
    assert_int_equal(mpipool__plan_slow_start(5000, 2500, 0), 5000);
    /* ... or the floor, whichever is more; never more than planned. */
    assert_int_equal(mpipool__plan_slow_start(5000, 32, 1000), 1000);
    assert_int_equal(mpipool__plan_slow_start(500, 32, 1000), 500);
    assert_int_equal(mpipool__plan_slow_start(40, 32, 0), 40);
    assert_int_equal(mpipool__plan_slow_start(1, 1, 0), 1);
    /* Shrinking (guided, at the end of a map) is never held back. */
    assert_int_equal(mpipool__plan_slow_start(10, 4000, 0), 10);
    /* No overflow. */
    assert_int_equal(mpipool__plan_slow_start(SIZE_MAX, SIZE_MAX / 2 + 1, 0), SIZE_MAX);
    /* From one item, growth is geometric: 1, 2, 4, ... */
    size_t last = 1;
    for (int k = 0; k < 20; k++) last = mpipool__plan_slow_start(SIZE_MAX, last, 0);
    assert_int_equal(last, (size_t)1 << 20);
}

static void check_static(size_t n, size_t workers) {
    size_t next = 0, lo = BIG, hi = 0;
    for (size_t w = 0; w < workers; w++) {
        size_t first = 12345, count = 12345;
        mpipool__plan_static(n, workers, w, &first, &count);
        /* Contiguous, in worker order: together they cover [0, n) once. */
        assert_int_equal(first, next);
        next += count;
        assert_true(next <= n);
        if (count < lo) lo = count;
        if (count > hi) hi = count;
    }
    assert_int_equal(next, n);
    assert_true(hi - lo <= 1);
    if (n >= workers) assert_true(lo >= 1);
    if (n < workers) {
        assert_int_equal(lo, 0);
        assert_true(hi <= 1);
    }
    /* A worker index out of range gets nothing. */
    size_t first, count = 12345;
    mpipool__plan_static(n, workers, workers, &first, &count);
    assert_int_equal(count, 0);
}

/* A group leader's second share for a member (group.c). */
static void test_second_share(void **state) {
    (void)state;
    /* More than two items a rank held: from the oldest chunk, whatever
     * the items take and however even. */
    assert_int_equal(mpipool__plan_second_share(65, 32, 0, 0), 1);
    assert_int_equal(mpipool__plan_second_share(65, 32, 1e-3, 0), 1);
    assert_int_equal(mpipool__plan_second_share(65, 32, 1e-3, 1), 1);
    assert_int_equal(mpipool__plan_second_share(7, 3, 1e-6, 1), 1);
    /* Fewer, short items (or their time unknown): the leader runs its own
     * part, a short slice at a time, and serves its members between. */
    assert_int_equal(mpipool__plan_second_share(64, 32, 0, 1), 0);
    assert_int_equal(mpipool__plan_second_share(64, 32, 10e-6, 1), 0);
    assert_int_equal(mpipool__plan_second_share(64, 32, MPIPOOL__OWN_SLICE_SECONDS, 1), 0);
    /* Fewer, long, even items: from the newest chunk, ahead of the
     * leader's own item, as long as the leader keeps one. */
    assert_int_equal(mpipool__plan_second_share(64, 32, 1e-3, 1), 2);
    assert_int_equal(mpipool__plan_second_share(2, 32, 100e-6, 1), 2);
    assert_int_equal(mpipool__plan_second_share(1, 32, 1e-3, 1), 0);
    assert_int_equal(mpipool__plan_second_share(0, 32, 1e-3, 1), 0);
    /* Not (yet) known to be even: a share could wait behind a long item. */
    assert_int_equal(mpipool__plan_second_share(64, 32, 1e-3, 0), 0);
}

/* A leader keeps out of its group's way only with heavy tails, long
 * items and a group of 5 ranks or more. */
static void test_heavy_long(void **state) {
    (void)state;
    assert_int_equal(mpipool__plan_heavy_long(1, 1e-3, 31), 1);
    assert_int_equal(mpipool__plan_heavy_long(1, MPIPOOL__HEAVY_ITEM_SECONDS, 4), 1);
    assert_int_equal(mpipool__plan_heavy_long(0, 1e-3, 31), 0);   /* even or not yet known */
    assert_int_equal(mpipool__plan_heavy_long(1, 100e-6, 31), 0); /* short: its items cost little */
    assert_int_equal(mpipool__plan_heavy_long(1, 0, 31), 0);      /* time unknown */
    assert_int_equal(mpipool__plan_heavy_long(1, 1e-3, 3), 0);    /* small group */
}

/* Fair parts: every group's part together cover the map, none is more
 * than a rank's item over its exact share, and the chunks of one group
 * add up to its part exactly, in few of them, the last one whole. */
static void test_fair_parts(void **state) {
    (void)state;
    /* The grid's map: 50 items a rank, 64 groups of 64 (the last of 63). */
    assert_int_equal(mpipool__plan_fair_part(204750, 64, 4095), 3200);
    assert_int_equal(mpipool__plan_fair_part(204750, 63, 4095), 3150);
    /* Not a multiple: rounded up, so the parts cover n. */
    assert_int_equal(mpipool__plan_fair_part(10, 1, 3), 4);
    assert_int_equal(mpipool__plan_fair_part(0, 8, 63), 0);
    assert_int_equal(mpipool__plan_fair_part(7, 5, 0), 7);
    /* No overflow where n * units would not fit. */
    size_t big = SIZE_MAX / 2;
    assert_true(mpipool__plan_fair_part(big, 3, 4) >= big / 4 * 3);
    assert_true(mpipool__plan_fair_part(big, 3, 4) <= big / 4 * 3 + 3);
    for (size_t workers = 1; workers <= 70; workers++)
        for (size_t g = 1; g <= workers; g++)
            for (size_t n = 0; n <= 400; n += 7) {
                size_t sum = 0;
                for (size_t first = 0; first < workers; first += g) {
                    size_t units = workers - first < g ? workers - first : g, part;
                    part = mpipool__plan_fair_part(n, units, workers);
                    /* ceil of the exact share */
                    assert_true(part * workers >= n * units);
                    assert_true(part * workers < n * units + workers);
                    sum += part;
                }
                assert_true(sum >= n);
            }
    /* Chunks: at least half of what is left, in whole items a rank. */
    assert_int_equal(mpipool__plan_fair_chunk(3072, 64, 100), 1536);
    assert_int_equal(mpipool__plan_fair_chunk(3072, 64, 2000), 2000);
    assert_int_equal(mpipool__plan_fair_chunk(3000, 64, 1), 1536);
    /* MPIPOOL__FAIR_LAST items a rank or fewer: all of it at once. */
    assert_int_equal(mpipool__plan_fair_chunk(MPIPOOL__FAIR_LAST * 64, 64, 64), MPIPOOL__FAIR_LAST * 64);
    assert_int_equal(mpipool__plan_fair_chunk(5, 64, 1), 5);
    /* Never more than is left. */
    assert_int_equal(mpipool__plan_fair_chunk(3072, 64, 5000), 3072);
    assert_int_equal(mpipool__plan_fair_chunk(7, 0, 1), 7);
    for (size_t units = 1; units <= 80; units += 3)
        for (size_t part = 1; part <= 2000; part += 13) {
            size_t left = part, chunks = 0;
            while (left > 0) {
                size_t c = mpipool__plan_fair_chunk(left, units, 1);
                assert_true(c >= 1 && c <= left);
                left -= c;
                chunks++;
            }
            /* halving down to MPIPOOL__FAIR_LAST items a rank */
            assert_true(chunks <= 8);
        }
}

/* Even, long items in a group: a member's share, the leader's part and
 * its own runs (group.c, even_long). */
static void test_even_split(void **state) {
    (void)state;
    /* 64 items over 32 ranks: two a member; the leader keeps two, then
     * fewer as it runs them, never below none. */
    assert_int_equal(mpipool__plan_even_share(64, 32, 62), 2);
    assert_int_equal(mpipool__plan_even_keep(64, 32, 0), 2);
    assert_int_equal(mpipool__plan_even_keep(64, 32, 1), 1);
    assert_int_equal(mpipool__plan_even_keep(64, 32, 2), 0);
    assert_int_equal(mpipool__plan_even_keep(64, 32, 5), 0);
    /* Not a multiple: members round up, the leader down. */
    assert_int_equal(mpipool__plan_even_share(100, 32, 97), 4);
    assert_int_equal(mpipool__plan_even_keep(100, 32, 0), 3);
    /* Never more than is left for the members. */
    assert_int_equal(mpipool__plan_even_share(64, 32, 1), 1);
    assert_int_equal(mpipool__plan_even_share(64, 32, 0), 0);
    /* A group of one (no member) keeps the whole chunk. */
    assert_int_equal(mpipool__plan_even_keep(7, 1, 0), 7);
    /* Every item of a chunk goes once: members take shares from what the
     * leader does not keep until it is gone, no share above the even one,
     * and with the leader's part that is the whole chunk. */
    for (uint64_t count = 1; count <= 300; count++)
        for (uint64_t ranks = 1; ranks <= 40; ranks++) {
            uint64_t kept = mpipool__plan_even_keep(count, ranks, 0), avail = count - kept, handed = 0;
            assert_true(kept <= count);
            for (uint64_t m = 0; m + 1 < ranks; m++) {
                uint64_t s = mpipool__plan_even_share(count, ranks, avail - handed);
                assert_true(s <= (count + ranks - 1) / ranks);
                handed += s;
            }
            assert_true(handed <= avail);
            if (ranks > 1) assert_int_equal(handed + kept, count);
        }
    /* Even enough to split: no item over twice as long as another. */
    assert_int_equal(mpipool__plan_even_spread(1e-3, 1e-3), 1);
    assert_int_equal(mpipool__plan_even_spread(1e-3, MPIPOOL__EVEN_SPREAD * 1e-3), 1);
    assert_int_equal(mpipool__plan_even_spread(1e-3, MPIPOOL__EVEN_SPREAD * 1e-3 * 1.01), 0);
    assert_int_equal(mpipool__plan_even_spread(0, 1e-3), 0);
    assert_int_equal(mpipool__plan_even_spread(0, 0), 0);
    /* Own runs: one item when a member may need the leader within two. */
    assert_int_equal(mpipool__plan_own_run(1e-3, 0, 5, 10), 1);
    assert_int_equal(mpipool__plan_own_run(1e-3, 1.5e-3, 5, 10), 1);
    /* Else to an item before the first member runs dry... */
    assert_int_equal(mpipool__plan_own_run(1e-3, 10.5e-3, 20, 30), 9);
    assert_int_equal(mpipool__plan_own_run(1e-3, 10.5e-3, 0, 30), 9);
    /* ... within its part and what is left. */
    assert_int_equal(mpipool__plan_own_run(1e-3, 10.5e-3, 4, 30), 4);
    assert_int_equal(mpipool__plan_own_run(1e-3, 10.5e-3, 20, 3), 3);
    /* Time unknown: one; a slack too large to count in items: what is left. */
    assert_int_equal(mpipool__plan_own_run(0, 1.0, 20, 30), 1);
    assert_int_equal(mpipool__plan_own_run(1e-12, 1e9, 0, 77), 77);
}

/* A group leader asking the master for one chunk more (group.c). */
static void test_transit_late(void **state) {
    (void)state;
    const double slack = MPIPOOL__STUCK_SLACK_SECONDS, h = MPIPOOL__HEAVY_FACTOR;
    /* On its way for as long as chunks take, or a few times that. */
    assert_int_equal(mpipool__plan_transit_late(200e-6, 200e-6), 0);
    assert_int_equal(mpipool__plan_transit_late(h * 200e-6 + slack - 1e-5, 200e-6), 0);
    /* Far later: its leader is inside a long item. */
    assert_int_equal(mpipool__plan_transit_late(h * 200e-6 + slack + 1e-5, 200e-6), 1);
    assert_int_equal(mpipool__plan_transit_late(1.0, 200e-6), 1);
    /* No chunk has arrived yet: the slack alone. */
    assert_int_equal(mpipool__plan_transit_late(slack - 1e-5, 0), 0);
    assert_int_equal(mpipool__plan_transit_late(slack + 1e-5, 0), 1);
}

/* Whether the master paces group chunks (dispatch.c, TRANSIT_MAX): while
 * the workers could ask its link for more than MPIPOOL__LINK_BUSY bytes a
 * second of items and results. */
static void test_link_busy(void **state) {
    (void)state;
    /* No time per item yet: paced, to be safe. */
    assert_int_equal(mpipool__plan_link_busy(4095, 8, -1.0), 1);
    assert_int_equal(mpipool__plan_link_busy(4095, 8, 0), 1);
    /* 4096 ranks, 4-byte items and results: 10 us asks 3.3 GB/s, 1 ms 33 MB/s. */
    assert_int_equal(mpipool__plan_link_busy(4095, 8, 10e-6), 1);
    assert_int_equal(mpipool__plan_link_busy(4095, 8, 1e-3), 0);
    /* The boundary: workers * bytes / per_item against the limit. */
    double at = 3.0 * 16 / MPIPOOL__LINK_BUSY;
    assert_int_equal(mpipool__plan_link_busy(3, 16, at * 0.9), 1);
    assert_int_equal(mpipool__plan_link_busy(3, 16, at * 1.1), 0);
    /* Larger items fill the link at longer times per item. */
    assert_int_equal(mpipool__plan_link_busy(4095, 2048, 1e-3), 1);
}

static void test_room(void **state) {
    (void)state;
    const double slack = MPIPOOL__STUCK_SLACK_SECONDS;
    /* Half the members idle, nothing left to hand out, a share running
     * past the slack, whether or not it is late for its items. */
    assert_int_equal(mpipool__plan_room(0, 16, 31, slack + 1e-4, 1e-3), 1);
    assert_int_equal(mpipool__plan_room(0, 16, 31, slack + 1e-4, 1.0), 1);
    assert_int_equal(mpipool__plan_room(0, 1, 2, 1.0, 1e-3), 1);
    assert_int_equal(mpipool__plan_room(0, 31, 31, 1.0, 1e-3), 1);
    /* A share younger than the slack: its answer may be on its way. */
    assert_int_equal(mpipool__plan_room(0, 16, 31, slack - 1e-4, 1e-6), 0);
    assert_int_equal(mpipool__plan_room(0, 31, 31, 0, 1e-3), 0);
    /* Items left to hand out: the members are fed from those. */
    assert_int_equal(mpipool__plan_room(1, 31, 31, 1.0, 1e-3), 0);
    /* Fewer than half the members idle: the group still computes. */
    assert_int_equal(mpipool__plan_room(0, 15, 31, 1.0, 1e-3), 0);
    assert_int_equal(mpipool__plan_room(0, 0, 2, 1.0, 1e-3), 0);
    /* The items' time unknown, or no members. */
    assert_int_equal(mpipool__plan_room(0, 16, 31, 1.0, 0), 0);
    assert_int_equal(mpipool__plan_room(0, 0, 0, 1.0, 1e-3), 0);
}

static void test_static(void **state) {
    (void)state;
    const size_t ns[] = {0, 1, 2, 3, 4, 5, 7, 100, 1001, 100003};
    const size_t ws[] = {1, 2, 3, 4, 7, 100, 1000};
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
        for (size_t b = 0; b < sizeof ws / sizeof *ws; b++)
            check_static(ns[a], ws[b]);
}

static void test_static_examples(void **state) {
    (void)state;
    size_t first, count;
    /* 10 over 3: 4, 3, 3. */
    mpipool__plan_static(10, 3, 0, &first, &count);
    assert_int_equal(first, 0);
    assert_int_equal(count, 4);
    mpipool__plan_static(10, 3, 1, &first, &count);
    assert_int_equal(first, 4);
    assert_int_equal(count, 3);
    mpipool__plan_static(10, 3, 2, &first, &count);
    assert_int_equal(first, 7);
    assert_int_equal(count, 3);
    /* n = 0: everyone gets nothing. */
    mpipool__plan_static(0, 3, 1, &first, &count);
    assert_int_equal(count, 0);
    /* No workers: nothing, no division by zero. */
    count = 12345;
    mpipool__plan_static(10, 0, 0, &first, &count);
    assert_int_equal(count, 0);
}

static void test_pieces(void **state) {
    (void)state;
    assert_int_equal(mpipool__npieces(0, 1000), 1);
    assert_int_equal(mpipool__npieces(1, 1000), 1);
    assert_int_equal(mpipool__npieces(1000, 1000), 1);
    assert_int_equal(mpipool__npieces(1001, 1000), 2);
    assert_int_equal(mpipool__npieces(((size_t)4 << 30) + (1 << 20), (size_t)1 << 30), 5);
    size_t piece = 0;
    assert_int_equal(mpipool__piece_parse(NULL, &piece), MPIPOOL_OK);
    assert_int_equal(piece, MPIPOOL__DEFAULT_PIECE);
    assert_int_equal(mpipool__piece_parse("1000", &piece), MPIPOOL_OK);
    assert_int_equal(piece, 1000);
    assert_int_equal(mpipool__piece_parse("3", &piece), MPIPOOL_OK);
    assert_int_equal(piece, MPIPOOL__MIN_PIECE);
    assert_int_equal(mpipool__piece_parse("99999999999999999999", &piece), MPIPOOL_OK);
    assert_int_equal(piece, MPIPOOL__DEFAULT_PIECE);
    assert_int_equal(mpipool__piece_parse("abc", &piece), MPIPOOL_EINVAL);
}

/* MPIPOOL_HIERARCHY and MPIPOOL_GROUP_SIZE as mpipool_open reads them. */
static void test_hierarchy_settings(void **state) {
    (void)state;
    int mode = -1;
    const char *autos[] = {NULL, "", "auto"}, *ons[] = {"on"}, *offs[] = {"off"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(mpipool__hier_parse(autos[i], &mode), MPIPOOL_OK);
        assert_int_equal(mode, MPIPOOL__HIER_AUTO);
    }
    for (size_t i = 0; i < 1; i++) {
        assert_int_equal(mpipool__hier_parse(ons[i], &mode), MPIPOOL_OK);
        assert_int_equal(mode, MPIPOOL__HIER_ON);
        assert_int_equal(mpipool__hier_parse(offs[i], &mode), MPIPOOL_OK);
        assert_int_equal(mode, MPIPOOL__HIER_OFF);
    }
    const char *bad[] = {"yes", "ON", " on", "on ", "2", "autox", "1", "0"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(mpipool__hier_parse(bad[i], &mode), MPIPOOL_EINVAL);
        assert_int_equal(mode, MPIPOOL__HIER_AUTO);
    }
    size_t g = 99;
    assert_int_equal(mpipool__group_parse(NULL, &g), MPIPOOL_OK);
    assert_int_equal(g, 0);
    assert_int_equal(mpipool__group_parse("64", &g), MPIPOOL_OK);
    assert_int_equal(g, 64);
    const char *badg[] = {"0", "1", "-4", "4k", " 8", "99999999999999999999"};
    for (size_t i = 0; i < sizeof badg / sizeof *badg; i++)
        assert_int_equal(mpipool__group_parse(badg[i], &g), MPIPOOL_EINVAL);
    /* auto turns it on from MPIPOOL__HIER_AUTO_WORKERS workers; never with one */
    assert_false(mpipool__plan_hier_use(MPIPOOL__HIER_AUTO, MPIPOOL__HIER_AUTO_WORKERS - 1));
    assert_true(mpipool__plan_hier_use(MPIPOOL__HIER_AUTO, MPIPOOL__HIER_AUTO_WORKERS));
    assert_true(mpipool__plan_hier_use(MPIPOOL__HIER_ON, 2));
    assert_false(mpipool__plan_hier_use(MPIPOOL__HIER_ON, 1));
    assert_false(mpipool__plan_hier_use(MPIPOOL__HIER_OFF, 100000));
}

static void test_group_size(void **state) {
    (void)state;
    /* about sqrt(workers), at least 2; a requested size wins */
    assert_int_equal(mpipool__plan_group(1, 0), 2);
    assert_int_equal(mpipool__plan_group(3, 0), 2);
    assert_int_equal(mpipool__plan_group(255, 0), 16);
    assert_int_equal(mpipool__plan_group(1023, 0), 32);
    assert_int_equal(mpipool__plan_group(4095, 0), 64);
    assert_int_equal(mpipool__plan_group(4095, 7), 7);
    for (size_t w = 1; w < 20000; w += 37) {
        size_t g = mpipool__plan_group(w, 0);
        /* nearest integer to the root: (g - 1/2)^2 <= w <= (g + 1/2)^2 */
        if (g > 2) assert_true(4 * w >= (2 * g - 1) * (2 * g - 1));
        assert_true(4 * w <= (2 * g + 1) * (2 * g + 1) || g == 2);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunk_remaining_zero),
        cmocka_unit_test(test_chunk_guided),
        cmocka_unit_test(test_chunk_min),
        cmocka_unit_test(test_chunk_user_wins),
        cmocka_unit_test(test_chunk_max),
        cmocka_unit_test(test_chunk_simulated_runs),
        cmocka_unit_test(test_chunk_guided_count),
        cmocka_unit_test(test_max_items),
        cmocka_unit_test(test_max_items_property),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_serving),
        cmocka_unit_test(test_slow_start),
        cmocka_unit_test(test_heavy),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_second_share),
        cmocka_unit_test(test_heavy_long),
        cmocka_unit_test(test_even_split),
        cmocka_unit_test(test_fair_parts),
        cmocka_unit_test(test_room),
        cmocka_unit_test(test_transit_late),
        cmocka_unit_test(test_link_busy),
        cmocka_unit_test(test_static),
        cmocka_unit_test(test_static_examples),
        cmocka_unit_test(test_pieces),
        cmocka_unit_test(test_hierarchy_settings),
        cmocka_unit_test(test_group_size),
    };
    return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
