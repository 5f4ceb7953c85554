/*
 * pool.c — the pool's life: open (initialise MPI if needed, duplicate the
 * communicator, check that every rank registered the same tasks), the small
 * queries, and close.
 *
 * Invariant: open and close are collective and return the same status on
 * every rank — every check whose outcome could differ between ranks is
 * combined with one MPI_Allreduce before anyone decides.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "callback.h"
#include "imap_pull.h"
#include "internal.h"
#include "engine.h"
#include "observe.h"
#include "wire.h"
#include "signals.h"

/* How many open pools called MPI_Init; the last one to close finalises. */
static int pools_owning_mpi;

/* Every rank's registry, gathered only when the digests disagree. */
static int describe_mismatch(MPI_Comm comm, int size, char *msg, size_t msgsz) {
    size_t len = 0;
    char *mine = mpipool__registry_serialize(&len);
    int *lens = malloc((size_t)size * sizeof *lens);
    int *displs = malloc((size_t)size * sizeof *displs);
    const char **lists = malloc((size_t)size * sizeof *lists);
    char *all = NULL;
    int rc = MPIPOOL_ENOMEM, ilen = mine ? (int)len : 0;
    /* Even on a local allocation failure we must take part in the
     * collectives below, or the other ranks would hang. */
    if (MPI_Allgather(&ilen, 1, MPI_INT, lens ? lens : &ilen, lens ? 1 : 0, MPI_INT, comm) != MPI_SUCCESS)
        goto cleanup;
    size_t total = 0;
    for (int r = 0; lens && displs && r < size; r++) {
        displs[r] = (int)total;
        total += (size_t)lens[r];
    }
    all = malloc(total + 1);
    int ok = mine && lens && displs && lists && all;
    if (MPI_Allgatherv(mine ? mine : "", ilen, MPI_CHAR, all, lens, displs, MPI_CHAR, comm) != MPI_SUCCESS || !ok)
        goto cleanup;
    /* Split into NUL-terminated per-rank strings in place of a copy. */
    char *copy = malloc(total + (size_t)size);
    if (copy == NULL) goto cleanup;
    size_t off = 0;
    for (int r = 0; r < size; r++) {
        memcpy(copy + off, all + displs[r], (size_t)lens[r]);
        copy[off + (size_t)lens[r]] = '\0';
        lists[r] = copy + off;
        off += (size_t)lens[r] + 1;
    }
    int n = snprintf(msg, msgsz, "the ranks registered different task functions: ");
    mpipool__registry_describe_diff(lists, size, msg + n, msgsz - (size_t)n);
    free(copy);
    rc = MPIPOOL_OK;
cleanup:
    free(mine);
    free(lens);
    free(displs);
    free(lists);
    free(all);
    return rc;
}

/* Every rank registered the same tasks, and none failed to set up:
 * MPIPOOL_OK on every rank, or the same code on every rank with this
 * rank's reason recorded process-wide. */
static int agree_registry(MPI_Comm dup, int rank, int size, int local_err, int deferred, const char *func) {
    uint64_t digest = mpipool__registry_digest();
    /* max(digest) == min(digest) on every rank <=> all registries agree;
     * max(-code) > 0 <=> some rank failed locally. */
    uint64_t v[3] = {digest, ~digest, (uint64_t)(-(int64_t)local_err)}, r[3];
    int mpirc = MPI_Allreduce(v, r, 3, MPI_UINT64_T, MPI_MAX, dup);
    if (mpirc != MPI_SUCCESS) return mpipool__mpi_error(NULL, mpirc, func, "MPI_Allreduce");
    if (r[2] != 0) {
        int rc = -(int)r[2];
        if (local_err != MPIPOOL_OK)
            return mpipool__error(NULL, rc, "%s: rank %d: %s", func, rank,
                                  deferred != MPIPOOL_OK ? mpipool__registry_deferred_message() : "out of memory");
        return mpipool__error(NULL, rc, "%s: another rank failed to set up (%s)", func, mpipool_strerror(rc));
    }
    if (r[0] != ~r[1]) {
        char detail[MPIPOOL__ERR_MAX - 64];
        if (describe_mismatch(dup, size, detail, sizeof detail) != MPIPOOL_OK)
            snprintf(detail, sizeof detail, "the ranks registered different task functions");
        return mpipool__error(NULL, MPIPOOL_EMISMATCH, "%s: %s", func, detail);
    }
    return MPIPOOL_OK;
}

/* The master's settings (piece size, hierarchy), so every rank cuts
 * messages the same way.  A bad MPIPOOL_PIECE_BYTES fails every rank here;
 * a bad hierarchy setting fails the master (the agreement in open_on
 * fails the others). */
static int read_settings(mpipool *pool, const char *func) {
    size_t mine = 0;
    const char *env = pool->rank == 0 ? getenv("MPIPOOL_PIECE_BYTES") : NULL;
    /* 0 says the master's value is not a number. */
    uint64_t piece = mpipool__piece_parse(env, &mine) == MPIPOOL_OK ? (uint64_t)mine : 0;
    int mpirc = MPI_Bcast(&piece, 1, MPI_UINT64_T, 0, pool->comm);
    if (mpirc != MPI_SUCCESS) return mpipool__mpi_error(NULL, mpirc, func, "MPI_Bcast");
    if (piece == 0) {
        if (pool->rank == 0)
            return mpipool__error(NULL, MPIPOOL_EINVAL, "%s: MPIPOOL_PIECE_BYTES is \"%.64s\"; it must be a "
                                  "number of bytes (digits only, at least %zu)", func, env, MPIPOOL__MIN_PIECE);
        return mpipool__error(NULL, MPIPOOL_EINVAL, "%s: rank %d: the master's MPIPOOL_PIECE_BYTES is not "
                              "a number of bytes", func, pool->rank);
    }
    pool->piece = (size_t)piece;
    if (pool->rank != 0) return MPIPOOL_OK;
    const char *hv = getenv("MPIPOOL_HIERARCHY"), *gv = getenv("MPIPOOL_GROUP_SIZE");
    size_t group = 0;
    if (mpipool__hier_parse(hv, &pool->hier) != MPIPOOL_OK)
        return mpipool__error(NULL, MPIPOOL_EINVAL, "%s: MPIPOOL_HIERARCHY is \"%.64s\"; it must be auto, on or off",
                              func, hv);
    if (mpipool__group_parse(gv, &group) != MPIPOOL_OK)
        return mpipool__error(NULL, MPIPOOL_EINVAL, "%s: MPIPOOL_GROUP_SIZE is \"%.64s\"; it must be a number "
                              "of ranks, at least 2", func, gv);
    pool->group = mpipool__plan_group((size_t)pool->size - 1, group);
    const char *cv = getenv("MPIPOOL_PACE");
    if (mpipool__hier_parse(cv, &pool->pace) != MPIPOOL_OK)
        return mpipool__error(NULL, MPIPOOL_EINVAL, "%s: MPIPOOL_PACE is \"%.64s\"; it must be auto, on or off",
                              func, cv);
    const char *pv = getenv("MPIPOOL_PROGRESS"), *iv = getenv("MPIPOOL_PROGRESS_INTERVAL");
    if (mpipool__progress_mode(pv, 0) == MPIPOOL__PROGRESS_INVALID)
        return mpipool__error(NULL, MPIPOOL_EINVAL, "%s: MPIPOOL_PROGRESS is \"%.64s\"; it must be 0, 1, bar or log",
                              func, pv);
    if (mpipool__progress_interval(iv, MPIPOOL__PROGRESS_LOG) < 0)
        return mpipool__error(NULL, MPIPOOL_EINVAL, "%s: MPIPOOL_PROGRESS_INTERVAL is \"%.64s\"; it must be a number "
                              "of seconds (at most 86400)", func, iv);
    const char *rv = getenv("MPIPOOL_RECOVERY"), *tv = getenv("MPIPOOL_RECOVERY_TIMEOUT");
    int bad = 0;
    if (mpipool__recovery_parse(rv, tv, getenv("OMPI_MCA_orte_enable_recovery"), getenv("SLURM_NO_KILL"),
                                &pool->recover, &bad) != MPIPOOL_OK)
        return mpipool__error(NULL, MPIPOOL_EINVAL, bad == 1 ? "%s: MPIPOOL_RECOVERY is \"%.64s\"; it must be auto, "
                              "on or off" : "%s: MPIPOOL_RECOVERY_TIMEOUT is \"%.64s\"; it must be a number of "
                              "seconds from 0.1 to 86400", func, bad == 1 ? rv : tv);
    return MPIPOOL_OK;
}

/* Every rank learns the master's recovery setting; it holds only if every
 * rank can run a second thread (a worker's heartbeats come from one).  The
 * master then gathers the ranks' host names, for its messages. */
static int agree_recovery(mpipool *pool) {
    int mine = pool->threaded, all = 0;
    double t = pool->recover;
    if (pool->rank == 0 && t > 0 && (pool->hosts = calloc((size_t)pool->size, MPIPOOL__HOST_MAX)) == NULL) t = 0;
    if (MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, pool->comm) != MPI_SUCCESS ||
        MPI_Bcast(&t, 1, MPI_DOUBLE, 0, pool->comm) != MPI_SUCCESS)
        return MPIPOOL_EMPI;
    if (t > 0 && !all && pool->rank == 0)
        fprintf(stderr, "mpipool: in-job recovery is off: a rank's MPI gives no MPI_THREAD_SERIALIZED "
                "(initialise MPI with MPI_Init_thread, or let mpipool_open do it)\n");
    pool->recover = all ? t : 0;
    if (pool->recover <= 0) {
        free(pool->hosts);
        pool->hosts = NULL;
        return MPIPOOL_OK;
    }
    char me[MPI_MAX_PROCESSOR_NAME] = "?", mine_h[MPIPOOL__HOST_MAX];
    int len = 0;
    MPI_Get_processor_name(me, &len);
    snprintf(mine_h, sizeof mine_h, "%.63s", me);
    return MPI_Gather(mine_h, MPIPOOL__HOST_MAX, MPI_CHAR, pool->hosts, MPIPOOL__HOST_MAX, MPI_CHAR, 0,
                      pool->comm) == MPI_SUCCESS ? MPIPOOL_OK : MPIPOOL_EMPI;
}

/* The process ends with a pool still open: the common mistakes (a worker
 * that never served, a master that never closed) otherwise show up only as
 * the launcher's "exited improperly", naming no call. */
static void open_at_exit(void) {
    const mpipool *pool = mpipool__handle_any_open();
    if (pool == NULL || pool->size == 1) return;
    if (pool->rank == 0)
        fprintf(stderr, "mpipool [rank 0]: the program is ending without mpipool_close(pool): the workers are "
                "still waiting in mpipool_serve; close the pool before returning from main\n");
    else
        fprintf(stderr, "mpipool [rank %d]: the program is ending on a worker that never served: call "
                "`if (!mpipool_is_master(pool)) return mpipool_serve(pool);` after mpipool_open, or open "
                "with mpipool_start\n", pool->rank);
    fflush(stderr);
}

static int open_on(mpipool **out, MPI_Comm comm, int owns_mpi, const char *func) {
    MPI_Comm dup = MPI_COMM_NULL;
    mpipool *pool = NULL;
    int rc = MPIPOOL_OK, frozen = 0, rank = 0, size = 1, mpirc, added = 0;

    /* Errors on the caller's communicator follow the caller's handler. */
    if ((mpirc = MPI_Comm_dup(comm, &dup)) != MPI_SUCCESS) {
        rc = mpipool__mpi_error(NULL, mpirc, func, "MPI_Comm_dup");
        goto cleanup;
    }
    MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN);
    MPI_Comm_set_name(dup, "mpipool");
    MPI_Comm_rank(dup, &rank);
    MPI_Comm_size(dup, &size);

    int deferred = mpipool__registry_freeze();
    frozen = 1;
    pool = calloc(1, sizeof *pool);
    int local_err = deferred != MPIPOOL_OK ? deferred : (pool == NULL ? MPIPOOL_ENOMEM : MPIPOOL_OK);
    if ((rc = agree_registry(dup, rank, size, local_err, deferred, func)) != MPIPOOL_OK) goto cleanup;
    pool->comm = dup;
    pool->rank = rank;
    pool->size = size;
    pool->owns_mpi = owns_mpi;
    pool->next_job = 1;
    if ((rc = read_settings(pool, func)) == MPIPOOL_EMPI) goto cleanup;
    int provided = MPI_THREAD_SINGLE;
    MPI_Query_thread(&provided);
    /* A progress thread needs at least SERIALIZED (it makes MPI calls only
     * under the engine's lock); SimGrid's simulated ranks cannot start
     * threads of their own. */
    pool->threaded = provided >= MPI_THREAD_SERIALIZED && !MPIPOOL__SIMULATED;
    if (agree_recovery(pool) != MPIPOOL_OK) {
        rc = mpipool__error(NULL, MPIPOOL_EMPI, "%s: MPI_Allreduce failed", func);
        goto cleanup;
    }
    if (rc == MPIPOOL_OK && rank == 0 && mpipool__engine_create(pool) != MPIPOOL_OK) rc = MPIPOOL_ENOMEM;
    if (rc == MPIPOOL_OK && (rc = mpipool__handle_add(pool)) == MPIPOOL_OK) added = 1;
    int all_ok = rc == MPIPOOL_OK, agreed = 0;
    MPI_Allreduce(&all_ok, &agreed, 1, MPI_INT, MPI_LAND, dup);
    if (!agreed) {
        /* Keep this rank's own reason; the others learn the master's (a bad
         * setting is the master's), or only that some rank failed. */
        char why[MPIPOOL__ERR_MAX];
        snprintf(why, sizeof why, "%s", rank == 0 && rc != MPIPOOL_OK ? mpipool__open_error : "");
        MPI_Bcast(why, (int)sizeof why, MPI_CHAR, 0, dup);
        if (rc == MPIPOOL_OK && why[0] != '\0')
            rc = mpipool__error(NULL, MPIPOOL_EINVAL, "%s: rank %d: the master could not open the pool: %.700s", func,
                                rank, why);
        else if (rc == MPIPOOL_OK)
            rc = mpipool__error(NULL, MPIPOOL_EINVAL, "%s: rank %d: the pool could not be opened on another rank "
                                "(its message names why: a bad setting on the master, or no memory)", func, rank);
        else if (rc == MPIPOOL_ENOMEM)
            mpipool__error(NULL, rc, "%s: rank %d: out of memory", func, rank);
        goto cleanup;
    }
    if (rank == 0) mpipool__obs_open(pool);
    if (owns_mpi) pools_owning_mpi++;
    mpipool__signals_open();
    mpipool__exec_guard_exit();
    static int watching;
    if (!watching && atexit(open_at_exit) == 0) watching = 1;
    *out = pool;
    mpipool__open_error[0] = '\0';
    return MPIPOOL_OK;

cleanup:
    if (added) mpipool__handle_forget(pool);
    if (pool) mpipool__engine_destroy(pool, 0, NULL, 0);
    if (pool) free(pool->hosts);
    free(pool);
    if (frozen) mpipool__registry_thaw();
    if (dup != MPI_COMM_NULL) MPI_Comm_free(&dup);
    return rc;
}

int mpipool_open(mpipool **pool, int *argc, char ***argv) {
    int initialized = 0, finalized = 0, rc;
    if (pool == NULL) return mpipool__error(NULL, MPIPOOL_EINVAL, "mpipool_open: pool is NULL");
    *pool = NULL;
    MPI_Finalized(&finalized);
    if (finalized)
        return mpipool__error(NULL, MPIPOOL_EMPI, "mpipool_open: MPI was already finalised; "
                              "a process can open pools only until MPI_Finalize");
    MPI_Initialized(&initialized);
    if (!initialized) {
        int provided;
        /* SERIALIZED lets the master's progress thread move async jobs along
         * (it calls MPI only under the engine's lock, never at the same time
         * as another thread of ours) without the cost MPI_THREAD_MULTIPLE
         * puts on every message.  A program that makes MPI calls of its own
         * while async jobs run initialises MPI itself with MULTIPLE. */
        double rec = 0;
        int bad = 0;
        if (mpipool__recovery_parse(getenv("MPIPOOL_RECOVERY"), getenv("MPIPOOL_RECOVERY_TIMEOUT"),
                                    getenv("OMPI_MCA_orte_enable_recovery"), getenv("SLURM_NO_KILL"), &rec,
                                    &bad) == MPIPOOL_OK && rec > 0)
            /* Open MPI 4.1's MPI_Finalize waits in a barrier of every rank,
             * a dead one too (it hung in about 1 run of 3 after a death):
             * ask it not to, unless the user said otherwise. */
            setenv("OMPI_MCA_async_mpi_finalize", "1", 0);
        if (MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
            return mpipool__error(NULL, MPIPOOL_EMPI, "mpipool_open: MPI_Init_thread failed");
    }
    rc = open_on(pool, MPI_COMM_WORLD, !initialized, "mpipool_open");
    if (rc != MPIPOOL_OK && !initialized) MPI_Finalize();
    return rc;
}

int mpipool_open_comm(mpipool **pool, MPI_Comm comm) {
    int initialized = 0, finalized = 0;
    if (pool == NULL) return mpipool__error(NULL, MPIPOOL_EINVAL, "mpipool_open_comm: pool is NULL");
    *pool = NULL;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (!initialized || finalized)
        return mpipool__error(NULL, MPIPOOL_EINVAL, "mpipool_open_comm: MPI is %s; "
                              "call MPI_Init first or use mpipool_open",
                              finalized ? "already finalised" : "not initialised");
    if (comm == MPI_COMM_NULL)
        return mpipool__error(NULL, MPIPOOL_EINVAL, "mpipool_open_comm: comm is MPI_COMM_NULL");
    return open_on(pool, comm, 0, "mpipool_open_comm");
}

/* A closed pool's handle is a tombstone: answer as for NULL. */
int mpipool_is_master(const mpipool *pool) { return mpipool__handle_known(pool) && pool->rank == 0; }

int mpipool_rank(const mpipool *pool) { return mpipool__handle_known(pool) ? pool->rank : -1; }

int mpipool_size(const mpipool *pool) {
    if (!mpipool__handle_known(pool)) return 0;
    return pool->size > 1 ? pool->size - 1 : 1;
}

const char *mpipool_last_error(const mpipool *pool) {
    if (pool == NULL || !mpipool__handle_known(pool)) return mpipool__open_error;
    return pool->err;
}

int mpipool_exit_status(int rc) {
    return rc == MPIPOOL_OK ? 0 : rc == MPIPOOL_EINTR ? MPIPOOL_EXIT_RESUMABLE : 1;
}

/* Free this rank's side of a pool whose handle is closed (handle.c); the
 * struct itself stays allocated, so the address is never reused. */
int mpipool__teardown(mpipool *pool) {
    int owns = pool->owns_mpi;
    mpipool__engine_destroy(pool, 0, NULL, 0); /* drained already */
    mpipool__resume_close_idle();
    mpipool__setup_free(pool);
    free(pool->hosts);
    pool->hosts = NULL;
    free(pool->dead);
    pool->dead = NULL;
    mpipool__signals_close();
    mpipool__registry_thaw();
    MPI_Comm_free(&pool->comm);
    mpipool__handle_bury(pool);
    if (owns && --pools_owning_mpi == 0) {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (!finalized) MPI_Finalize();
    }
    return MPIPOOL_OK;
}

static int close_master(mpipool *pool, int cancel, const char *func) {
    int rc = MPIPOOL_OK;
    const char *busy = NULL;
    if (pool == NULL) return MPIPOOL_OK;
    if (mpipool__in_callback()) return mpipool__callback_refuse(func); /* it would wait for itself */
    if (!mpipool__handle_live(pool))
        return mpipool__error(NULL, MPIPOOL_ECLOSED, "%s: the pool is already closed (or was never opened)", func);
    if (pool->rank != 0) return mpipool_serve(pool);
    int hc = mpipool__handle_close(pool, &busy);
    if (hc == MPIPOOL_EBUSY)
        /* Not into pool->err: the other thread owns it (mpipool_last_error(NULL)). */
        return mpipool__error(NULL, hc, "%s: another thread is inside %s on this pool; close it when that "
                              "call has returned", func, busy ? busy : "a call");
    if (hc != MPIPOOL_OK)
        return mpipool__error(NULL, hc, "%s: the pool is already closed (or was never opened)", func);
    /* Finish (or cancel) every job first: no chunk may be on a worker
     * when it is told to stop.  This stops the progress thread too. */
    char hung[MPIPOOL__ERR_MAX / 2] = "";
    if (mpipool__engine_destroy(pool, cancel, hung, sizeof hung) != MPIPOOL_OK) {
        /* A worker is stuck in a task: it cannot be told to stop, and MPI
         * cannot be finalised around it.  Leave MPI as it is; the job ends
         * when this process does. */
        mpipool__callback_stop(pool); /* every job ended: their callbacks run first */
        mpipool__handle_bury(pool);
        mpipool__registry_thaw();
        mpipool__signals_close();
        return mpipool__error(NULL, MPIPOOL_ETIMEDOUT, "%s: %s; the pool is abandoned: its workers are not "
                              "stopped and MPI is not finalised, so the job ends when this process exits", func, hung);
    }
    mpipool__pull_close(pool);    /* one-rank pull imaps not read to their end */
    mpipool__callback_stop(pool); /* every callback has returned when close does */
    mpipool__obs_close(pool);
    /* Small messages go eagerly; the workers see STOP after every chunk
     * they were sent, because messages from one sender arrive in order. */
    for (int w = 1; w < pool->size; w++)
        if (pool->dead == NULL || !pool->dead[w]) /* a send to a dead rank may never return */
            MPIPOOL__MPI(pool, MPI_Send(NULL, 0, MPI_BYTE, w, MPIPOOL__TAG_STOP, pool->comm));
cleanup:
    /* The pool is closed below: its error moves to the process-wide slot. */
    if (rc != MPIPOOL_OK) mpipool__error(NULL, rc, "%s", pool->err);
    mpipool__teardown(pool);
    return rc;
}

int mpipool_serve(mpipool *pool) {
    if (pool == NULL || !mpipool__handle_enter(pool, "mpipool_serve"))
        return mpipool__error(NULL, MPIPOOL_ECLOSED, "mpipool_serve: the pool is not open");
    if (pool->rank == 0) {
        mpipool__handle_leave(pool);
        return mpipool__error(pool, MPIPOOL_ENOTWORKER, "mpipool_serve: called on the master (rank 0); "
                              "only workers serve (use `if (!mpipool_is_master(pool)) return mpipool_serve(pool);`)");
    }
    int rc = mpipool__worker_run(pool);
    const char *busy = NULL;
    mpipool__handle_leave(pool);
    mpipool__handle_close(pool, &busy); /* a worker has no other caller to wait for */
    if (rc != MPIPOOL_OK && rc != MPIPOOL_EINTR)
        /* Nobody else will hear of it here: the pool is closed below. */
        fprintf(stderr, "mpipool [rank %d]: %s (%s)\n", pool->rank, pool->err, mpipool_err_name(rc));
    if (rc != MPIPOOL_OK) mpipool__error(NULL, rc, "%s", pool->err);
    mpipool__teardown(pool);
    return rc;
}

int mpipool_close(mpipool *pool) { return close_master(pool, 0, "mpipool_close"); }

int mpipool_terminate(mpipool *pool) { return close_master(pool, 1, "mpipool_terminate"); }

int mpipool_start(mpipool **pool, int *argc, char ***argv) {
    int rc = mpipool_open(pool, argc, argv);
    if (rc != MPIPOOL_OK || mpipool_is_master(*pool)) return rc;
    mpipool *p = *pool;
    *pool = NULL;
    rc = mpipool_serve(p);
    /* MPI initialised by the program itself: this process ends here, so
     * it is finalised here. */
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
    exit(mpipool_exit_status(rc)); /* the documented exception: what this call is for */
}
