/*
 * shared.c — worker set-up: init/fini hooks with per-worker state, and
 * read-only data broadcast once to every rank.
 *
 * Invariant: both calls are collective and decide together — every check
 * whose outcome could differ between ranks (arguments, memory, what init
 * returned) is combined with one MPI_Allreduce before anything changes, so
 * every rank returns the same status and no rank is left in a collective
 * the others skipped.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

struct mpipool__shared {
    char *name;
    void *data;
    size_t size;
    struct mpipool__shared *next;
};

static int runs_tasks(const mpipool *pool) { return pool->rank != 0 || pool->size == 1; }

static int open_pool(const char *func, mpipool *pool) {
    if (pool == NULL) return mpipool__error(NULL, MPIPOOL_EINVAL, "%s: pool is NULL", func);
    if (!mpipool__handle_live(pool))
        return mpipool__error(NULL, MPIPOOL_ECLOSED, "%s: the pool is closed (or was never opened)", func);
    pool->err[0] = '\0';
    return MPIPOOL_OK;
}

static void run_fini(mpipool *pool) {
    if (pool->hooks_set && runs_tasks(pool) && pool->init_rc == 0 && pool->hooks.fini)
        pool->hooks.fini(pool, pool->hooks.arg, pool->state);
    pool->state = NULL;
}

static void after_task(mpipool *pool);

size_t mpipool__tasks_before_renewal(const mpipool *pool) {
    if (!pool->hooks_set || pool->hooks.max_tasks_per_worker == 0) return SIZE_MAX;
    size_t max = pool->hooks.max_tasks_per_worker;
    return pool->tasks_since_init < max ? max - pool->tasks_since_init : 1;
}

void mpipool__after_tasks(mpipool *pool, size_t k) {
    if (k == 0) return;
    if (pool->hooks_set && pool->hooks.max_tasks_per_worker) pool->tasks_since_init += k - 1;
    after_task(pool);
}

void *mpipool__setup_state(const mpipool *pool) { return pool ? pool->state : NULL; }
int mpipool__setup_init_rc(const mpipool *pool) { return pool ? pool->init_rc : 0; }
int mpipool__setup_renews(const mpipool *pool) { return pool != NULL && pool->hooks.max_tasks_per_worker != 0; }

static void after_task(mpipool *pool) {
    if (!pool->hooks_set || pool->hooks.max_tasks_per_worker == 0) return;
    if (++pool->tasks_since_init < pool->hooks.max_tasks_per_worker) return;
    run_fini(pool);
    pool->tasks_since_init = 0;
    pool->init_rc = pool->hooks.init ? pool->hooks.init(pool, pool->hooks.arg, &pool->state) : 0;
}

int mpipool_set_hooks(mpipool *pool, const mpipool_hooks *hooks) {
    const char *func = "mpipool_set_hooks";
    int rc = open_pool(func, pool);
    if (rc != MPIPOOL_OK) return rc;
    int bad = hooks == NULL || hooks->flags != 0;
    for (size_t i = 0; !bad && i < sizeof hooks->reserved / sizeof hooks->reserved[0]; i++)
        bad = hooks->reserved[i] != NULL;
    int anybad = 0;
    MPIPOOL__MPI(pool, MPI_Allreduce(&bad, &anybad, 1, MPI_INT, MPI_MAX, pool->comm));
    if (anybad) {
        rc = mpipool__error(pool, MPIPOOL_EINVAL, "%s: %s", func,
                            bad ? (hooks == NULL ? "hooks is NULL" : "hooks->flags or hooks->reserved is not 0")
                                : "another rank passed bad hooks");
        goto cleanup;
    }
    /* Replace: the old state goes first. */
    run_fini(pool);
    pool->hooks_set = 0;
    int init_rc = 0;
    void *state = NULL;
    if (runs_tasks(pool) && hooks->init) init_rc = hooks->init(pool, hooks->arg, &state);
    struct { int failed, rank; } mine = {init_rc != 0, pool->rank}, worst;
    MPIPOOL__MPI(pool, MPI_Allreduce(&mine, &worst, 1, MPI_2INT, MPI_MAXLOC, pool->comm));
    if (worst.failed) {
        /* Undo where it worked; tell everyone what the lowest failing rank saw. */
        if (init_rc == 0 && runs_tasks(pool) && hooks->fini) hooks->fini(pool, hooks->arg, state);
        int their_rc = init_rc;
        MPIPOOL__MPI(pool, MPI_Bcast(&their_rc, 1, MPI_INT, worst.rank, pool->comm));
        rc = mpipool__error(pool, MPIPOOL_EINIT, "%s: the init hook failed on rank %d (returned %d)", func,
                            worst.rank, their_rc);
        goto cleanup;
    }
    pool->hooks = *hooks;
    pool->hooks_set = 1;
    pool->state = state;
    pool->init_rc = 0;
    pool->tasks_since_init = 0;
cleanup:
    return rc;
}

static struct mpipool__shared *find(const mpipool *pool, const char *name) {
    for (struct mpipool__shared *s = pool->shared; s && name; s = s->next)
        if (strcmp(s->name, name) == 0) return s;
    return NULL;
}

int mpipool_broadcast(mpipool *pool, const char *name, const void *data, size_t size) {
    const char *func = "mpipool_broadcast";
    int rc = open_pool(func, pool);
    char *nm = NULL;
    void *copy = NULL;
    if (rc != MPIPOOL_OK) return rc;
    /* The master's arguments decide; workers learn name and size from it. */
    uint64_t hdr[3] = {0, 0, 0}; /* status, name length, size */
    if (pool->rank == 0) {
        if (name == NULL || name[0] == '\0') hdr[0] = 1;
        else if (data == NULL && size > 0) hdr[0] = 2;
        hdr[1] = name ? strlen(name) : 0;
        hdr[2] = size;
    }
    MPIPOOL__MPI(pool, MPI_Bcast(hdr, 3, MPI_UINT64_T, 0, pool->comm));
    if (hdr[0] != 0) {
        rc = mpipool__error(pool, MPIPOOL_EINVAL, "%s: %s on the master", func,
                            hdr[0] == 1 ? "name is NULL or empty" : "data is NULL with size > 0");
        goto cleanup;
    }
    nm = malloc((size_t)hdr[1] + 1);
    copy = malloc(hdr[2] ? (size_t)hdr[2] : 1);
    int ok = nm != NULL && copy != NULL, allok = 0;
    MPIPOOL__MPI(pool, MPI_Allreduce(&ok, &allok, 1, MPI_INT, MPI_LAND, pool->comm));
    if (!allok) {
        rc = mpipool__error(pool, MPIPOOL_ENOMEM, "%s: %s could not hold %llu bytes", func,
                            ok ? "another rank" : "this rank", (unsigned long long)hdr[2]);
        goto cleanup;
    }
    if (pool->rank == 0) {
        memcpy(nm, name, (size_t)hdr[1] + 1);
        if (size) memcpy(copy, data, size);
    }
    MPIPOOL__MPI(pool, MPI_Bcast(nm, (int)hdr[1] + 1, MPI_CHAR, 0, pool->comm));
    for (size_t off = 0; off < hdr[2]; off += pool->piece) {
        size_t piece = hdr[2] - off < pool->piece ? (size_t)hdr[2] - off : pool->piece;
        MPIPOOL__MPI(pool, MPI_Bcast((char *)copy + off, (int)piece, MPI_BYTE, 0, pool->comm));
    }
    struct mpipool__shared *s = find(pool, nm);
    if (s == NULL) {
        s = calloc(1, sizeof *s);
        if (s == NULL) {
            /* Too late to agree; the name is simply missing on this rank. */
            rc = mpipool__error(pool, MPIPOOL_ENOMEM, "%s: out of memory on rank %d", func, pool->rank);
            goto cleanup;
        }
        s->next = pool->shared;
        pool->shared = s;
    } else {
        free(s->name);
        free(s->data);
    }
    s->name = nm;
    s->data = copy;
    s->size = (size_t)hdr[2];
    return MPIPOOL_OK;
cleanup:
    free(nm);
    free(copy);
    return rc;
}

const void *mpipool__shared_get(const mpipool *pool, const char *name, size_t *size) {
    const struct mpipool__shared *s = find(pool, name);
    if (size) *size = s ? s->size : 0;
    return s ? s->data : NULL;
}

const void *mpipool_shared(const mpipool *pool, const char *name, size_t *size) {
    const struct mpipool__shared *s = pool && mpipool__handle_known(pool) ? find(pool, name) : NULL;
    if (size) *size = s ? s->size : 0;
    return s ? s->data : NULL;
}

void mpipool__setup_free(mpipool *pool) {
    run_fini(pool);
    pool->hooks_set = 0;
    while (pool->shared) {
        struct mpipool__shared *s = pool->shared;
        pool->shared = s->next;
        free(s->name);
        free(s->data);
        free(s);
    }
}
