/*
 * scale.c — mpipool itself, unmodified, under SimGrid's SMPI: one map of a
 * batch task over n simulated items (simwork.h), timed in simulated time on
 * the master, every result checked.
 *
 *     smpirun -np P ... bench/build/scale/scale D_US uniform|pareto T_S
 *
 * D_US is the mean task duration in microseconds, T_S the ideal seconds per
 * worker: n = round(T_S * (P - 1) / D_US) items, so the ideal (uniform)
 * makespan is T_S whatever P and D.  The pool runs with its defaults
 * (dynamic schedule, automatic chunks); MPIPOOL_HIERARCHY and
 * MPIPOOL_GROUP_SIZE are read by the library at mpipool_open and echoed in
 * the result line.  Prints one "SCALE key=value ..." line on the master;
 * exit 1 if the map fails or any result is wrong, 2 on bad arguments.
 *
 * SCALE_RUNS=1 also prints, on stderr, one line per task call on every
 * rank ("RUN rank start seconds first count", on the simulated clock) and
 * one "MAP t0 t1 workers" line on the master (when the map began and
 * ended, on the same clock), for runs.py (where the workers sat idle, and
 * why).  It reads the simulated clock without an MPI call, so the figures
 * are the same as without it.
 */
#include <mpipool.h>
#include <simgrid/engine.h>
#include <smpi/smpi.h>
#include "simwork.h"

/* The task's duration parameters, the same on every rank (set from argv
 * before mpipool_open: SMPI privatises globals per simulated rank). */
static simwork g_work;
/* SCALE_RUNS: on, and this rank. */
static int g_runs, g_rank;

/* One call, `count` consecutive items: charge their summed durations to the
 * simulated clock at once, then write their results. */
static int simtask(mpipool_task *t) {
    const uint32_t *in = t->in;
    uint32_t *out = t->out;
    double s = 0;
    for (size_t k = 0; k < t->count; k++) s += simwork_duration(&g_work, in[k]);
    if (g_runs)
        fprintf(stderr, "RUN %d %.7f %.7f %u %zu\n", g_rank, simgrid_get_clock(), s, in[0], t->count);
    smpi_execute(s);
    for (size_t k = 0; k < t->count; k++) out[k] = simwork_result(in[k]);
    return 0;
}
MPIPOOL_BATCH_TASK(simtask);

static const char *env_or(const char *name, const char *dflt) {
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

int main(int argc, char **argv) {
    mpipool *pool;
    if (mpipool_open(&pool, &argc, &argv) != MPIPOOL_OK) {
        fprintf(stderr, "scale: %s\n", mpipool_last_error(NULL));
        return 1;
    }
    int ranks;
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    g_runs = getenv("SCALE_RUNS") && *getenv("SCALE_RUNS");
    if (simwork_parse(&g_work, argc, argv, 1, ranks > 1 ? ranks - 1 : 1) != 0) {
        if (mpipool_is_master(pool))
            fprintf(stderr, "scale: usage: scale D_US uniform|pareto T_S (D_US > 0, T_S > 0)\n");
        mpipool_close(pool);
        return 2;
    }
    if (!mpipool_is_master(pool)) return mpipool_serve(pool) == MPIPOOL_OK ? 0 : 1;

    size_t n = g_work.n;
    uint32_t *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out);
    if (!in || !out) {
        fprintf(stderr, "scale: out of memory for %zu items\n", n);
        free(in); free(out);
        mpipool_close(pool);
        return 1;
    }
    for (size_t i = 0; i < n; i++) in[i] = (uint32_t)i;
    memset(out, 0, n * sizeof *out);
    double sum, longest, ideal = simwork_ideal(&g_work, mpipool_size(pool), &sum, &longest);

    double t0 = MPI_Wtime();
    int rc = mpipool_map(pool, simtask, in, sizeof *in, out, sizeof *out, n, NULL);
    double t1 = MPI_Wtime();
    if (g_runs) fprintf(stderr, "MAP %.7f %.7f %d\n", t0, t1, ranks - 1);

    int bad = 0;
    if (rc != MPIPOOL_OK) {
        fprintf(stderr, "scale: mpipool_map: %s\n", mpipool_last_error(pool));
        bad = 1;
    }
    for (size_t i = 0; i < n && !bad; i++)
        if (out[i] != simwork_result((uint32_t)i)) {
            fprintf(stderr, "scale: wrong result for item %zu: %u, expected %u\n", i, out[i],
                    simwork_result((uint32_t)i));
            bad = 1;
        }
    if (!bad && simwork_check_makespan("scale", t1 - t0, ideal) != 0) bad = 1;
    if (!bad) {
        mpipool_pool_stats st;
        unsigned long long chunks = 0;
        if (mpipool_stats(pool, &st) == MPIPOOL_OK) chunks = (unsigned long long)st.chunks;
        char extra[160];
        snprintf(extra, sizeof extra, "chunks=%llu hierarchy=%s group_size=%s", chunks,
                 env_or("MPIPOOL_HIERARCHY", "unset"), env_or("MPIPOOL_GROUP_SIZE", "unset"));
        char impl[64];
        snprintf(impl, sizeof impl, "mpipool-%s", env_or("MPIPOOL_HIERARCHY", "auto"));
        simwork_result_line(impl, &g_work, ranks, t1 - t0, ideal, sum, longest, extra);
    }
    free(in);
    free(out);
    if (mpipool_close(pool) != MPIPOOL_OK) bad = 1;
    return bad;
}
