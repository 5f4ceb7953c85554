/*
 * plan.c — how the master cuts a map into chunks.  Pure arithmetic, no MPI.
 *
 * Dynamic mode is guided self-scheduling: each chunk is a share of what is
 * left, ceil(remaining / (2 * workers)), so early chunks are large (few
 * messages) and the last ones small (good balance), bounded below by a
 * minimum that keeps message cost a small fraction of the work and above by
 * the largest message we are willing to build.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pure.h"

size_t mpipool__plan_chunk(size_t remaining, size_t workers, size_t user_chunk,
                           size_t min_chunk, size_t max_chunk) {
    if (remaining == 0) return 0;
    if (workers == 0) workers = 1;
    if (max_chunk == 0) max_chunk = 1;
    size_t c;
    if (user_chunk > 0) {
        c = user_chunk;
    } else {
        size_t div = 2 * workers;
        c = remaining / div + (remaining % div != 0);
        if (c < min_chunk) c = min_chunk;
    }
    if (c > max_chunk) c = max_chunk;
    if (c > remaining) c = remaining;
    if (c == 0) c = 1;
    return c;
}

size_t mpipool__plan_max_items(size_t in_size, size_t out_size, size_t header,
                               size_t max_bytes) {
    size_t item = in_size > out_size ? in_size : out_size;
    if (item == 0) item = 1;
    if (max_bytes <= header || max_bytes - header < item) return 1;
    return (max_bytes - header) / item;
}

size_t mpipool__plan_slow_start(size_t want, size_t last, size_t floor) {
    if (last == 0) return want;
    size_t most = last > SIZE_MAX / 2 ? SIZE_MAX : 2 * last;
    if (most < floor) most = floor;
    return want < most ? want : most;
}

size_t mpipool__plan_serving(size_t fanout, int all_out, size_t chunks_out) {
    return fanout > 0 && all_out && chunks_out < fanout - 1 ? chunks_out + 1 : fanout;
}

int mpipool__plan_depth(size_t unassigned, size_t workers, int heavy, double per_item) {
    if (heavy && per_item >= MPIPOOL__HEAVY_ITEM_SECONDS) return 1;
    return unassigned > workers ? 2 : 1;
}

int mpipool__plan_second_share(uint64_t held, uint64_t ranks, double per_item, int even) {
    if (held > 2 * ranks) return 1;
    return even && per_item > MPIPOOL__OWN_SLICE_SECONDS && held > 1 ? 2 : 0;
}

int mpipool__plan_heavy_long(int heavy, double per_item, int members) {
    return heavy && members >= 4 && per_item >= MPIPOOL__HEAVY_ITEM_SECONDS;
}

uint64_t mpipool__plan_even_share(uint64_t count, uint64_t ranks, uint64_t avail) {
    if (ranks == 0) ranks = 1;
    uint64_t share = count / ranks + (count % ranks != 0);
    return share < avail ? share : avail;
}

int mpipool__plan_even_spread(double least, double most) {
    return least > 0 && most <= MPIPOOL__EVEN_SPREAD * least;
}

size_t mpipool__plan_fair_part(size_t n, size_t units, size_t workers) {
    if (workers == 0) return n;
    /* ceil(n * units / workers) without overflow: units <= workers. */
    size_t q = n / workers, r = n % workers;
    return q * units + (r * units + workers - 1) / workers;
}

size_t mpipool__plan_fair_chunk(size_t left, size_t units, size_t count) {
    if (units == 0) units = 1;
    size_t half = (left / 2 + units - 1) / units * units;
    if (count < half) count = half;
    if (left <= MPIPOOL__FAIR_LAST * units) count = left;
    return count < left ? count : left;
}

uint64_t mpipool__plan_even_keep(uint64_t count, uint64_t ranks, uint64_t ran) {
    uint64_t part = count / (ranks ? ranks : 1);
    return part > ran ? part - ran : 0;
}

uint64_t mpipool__plan_own_run(double per_item, double slack, uint64_t keep, uint64_t left) {
    uint64_t k = 1;
    if (per_item > 0 && slack > 2 * per_item) {
        double most = slack / per_item - 1;
        k = most >= (double)UINT64_MAX ? UINT64_MAX : (uint64_t)most;
    }
    if (keep > 0 && k > keep) k = keep;
    if (k > left) k = left;
    return k;
}

int mpipool__plan_room(uint64_t held, int idle, int members, double age, double expected) {
    if (held > 0 || members <= 0 || 2 * idle < members || expected <= 0) return 0;
    return age > MPIPOOL__STUCK_SLACK_SECONDS;
}

int mpipool__plan_transit_late(double age, double mean) {
    return age > MPIPOOL__HEAVY_FACTOR * (mean > 0 ? mean : 0) + MPIPOOL__STUCK_SLACK_SECONDS;
}

int mpipool__plan_link_busy(double workers, size_t item_bytes, double per_item) {
    if (per_item <= 0) return 1;
    return workers * (double)item_bytes > MPIPOOL__LINK_BUSY * per_item;
}

int mpipool__plan_slots(size_t workers) {
    if (workers == 0 || workers >= MPIPOOL__WINDOW_RANKS) return 2;
    size_t k = 2 * MPIPOOL__WINDOW_RANKS / workers;
    return k > MPIPOOL__WINDOW_MAX ? MPIPOOL__WINDOW_MAX : (int)k;
}

int mpipool__plan_window(double chunk_seconds, int most) {
    if (most <= 2 || chunk_seconds <= 0) return 2;
    double want = 1.0 + MPIPOOL__WINDOW_SECONDS / chunk_seconds;
    return want >= (double)most ? most : want <= 2.0 ? 2 : (int)want;
}

int mpipool__plan_heavy(double busy, size_t ran, double per_item, size_t share) {
    return ran > 0 && per_item > 0 && share > 0 && share < MPIPOOL__HEAVY_SHARE &&
           busy > MPIPOOL__HEAVY_FACTOR * per_item * (double)ran;
}

size_t mpipool__npieces(size_t bytes, size_t piece) {
    if (piece == 0) piece = 1;
    return bytes == 0 ? 1 : bytes / piece + (bytes % piece != 0);
}

void mpipool__plan_static(size_t n, size_t workers, size_t w, size_t *first,
                          size_t *count) {
    if (workers == 0 || w >= workers) {
        *first = n;
        *count = 0;
        return;
    }
    size_t base = n / workers, extra = n % workers;
    *first = w * base + (w < extra ? w : extra);
    *count = base + (w < extra ? 1 : 0);
}

int mpipool__hier_parse(const char *value, int *mode) {
    *mode = MPIPOOL__HIER_AUTO;
    if (value == NULL || *value == '\0' || strcmp(value, "auto") == 0) return MPIPOOL_OK;
    if (strcmp(value, "on") == 0) {
        *mode = MPIPOOL__HIER_ON;
        return MPIPOOL_OK;
    }
    if (strcmp(value, "off") == 0) {
        *mode = MPIPOOL__HIER_OFF;
        return MPIPOOL_OK;
    }
    return MPIPOOL_EINVAL;
}

static int truthy(const char *v) {
    return v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0);
}

int mpipool__recovery_parse(const char *mode, const char *secs, const char *ompi, const char *slurm,
                            double *timeout, int *bad) {
    *timeout = 0;
    *bad = 0;
    double t = MPIPOOL__RECOVERY_DEFAULT;
    if (secs != NULL && *secs != '\0') {
        char *end = NULL;
        t = strtod(secs, &end);
        if (end == secs || *end != '\0' || !(t >= 0.1 && t <= 86400)) {
            *bad = 2;
            return MPIPOOL_EINVAL;
        }
    }
    int on;
    if (mode == NULL || *mode == '\0' || strcmp(mode, "auto") == 0) on = truthy(ompi) || truthy(slurm);
    else if (strcmp(mode, "on") == 0) on = 1;
    else if (strcmp(mode, "off") == 0) on = 0;
    else {
        *bad = 1;
        return MPIPOOL_EINVAL;
    }
    *timeout = on ? t : 0;
    return MPIPOOL_OK;
}

int mpipool__group_parse(const char *value, size_t *group) {
    *group = 0;
    if (value == NULL || *value == '\0') return MPIPOOL_OK;
    size_t v = 0;
    for (const char *p = value; *p; p++) {
        if (*p < '0' || *p > '9' || v > 1000000) return MPIPOOL_EINVAL;
        v = v * 10 + (size_t)(*p - '0');
    }
    if (v < 2) return MPIPOOL_EINVAL;
    *group = v;
    return MPIPOOL_OK;
}

size_t mpipool__plan_group(size_t workers, size_t requested) {
    if (requested >= 2) return requested;
    size_t g = 1; /* the nearest integer to sqrt(workers), without libm */
    while ((g + 1) * (g + 1) <= workers) g++;
    if (workers - g * g > g) g++;
    return g < 2 ? 2 : g;
}

int mpipool__plan_hier_use(int mode, size_t workers) {
    if (workers < 2 || mode == MPIPOOL__HIER_OFF) return 0;
    return mode == MPIPOOL__HIER_ON || workers >= MPIPOOL__HIER_AUTO_WORKERS;
}
