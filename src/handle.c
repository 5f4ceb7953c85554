/*
 * handle.c — which pool handles are open, and who is inside a call on one.
 *
 * Invariants:
 *  - a handle is the address of its struct mpipool, and that memory is never
 *    reused: a closed pool's struct stays allocated (as a tombstone, its
 *    resources freed) until the process ends, so no later pool can get the
 *    same address and a stale handle is recognised as closed forever;
 *  - the table is guarded by one mutex, so the checks are thread-safe;
 *  - a pool is closed only while no other thread is inside a call on it
 *    (mpipool__handle_close answers MPIPOOL_EBUSY otherwise).
 * No MPI.
 */
#include <pthread.h>
#include <stdlib.h>
#include "handle.h"

enum { CLOSED, CLOSING, OPEN };

typedef struct {
    const mpipool *pool;
    int state;           /* OPEN, CLOSING (its resources being freed: the
                            queries still answer), CLOSED (for ever)        */
    int callers;         /* threads inside a call on it                     */
    const char *func;    /* the last call entered, for the EBUSY message    */
} rec;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static rec *recs;        /* newest last: lookups scan from the end          */
static size_t nrecs, caprecs;

static rec *find(const mpipool *pool) {
    for (size_t i = nrecs; pool != NULL && i-- > 0;)
        if (recs[i].pool == pool) return &recs[i];
    return NULL;
}

int mpipool__handle_add(const mpipool *pool) {
    int rc = MPIPOOL_OK;
    pthread_mutex_lock(&lock);
    if (nrecs == caprecs) {
        size_t ncap = caprecs ? caprecs * 2 : 8;
        rec *r = realloc(recs, ncap * sizeof *r);
        if (r == NULL) rc = MPIPOOL_ENOMEM;
        else {
            recs = r;
            caprecs = ncap;
        }
    }
    if (rc == MPIPOOL_OK) recs[nrecs++] = (rec){pool, OPEN, 0, NULL};
    pthread_mutex_unlock(&lock);
    return rc;
}

void mpipool__handle_forget(const mpipool *pool) {
    pthread_mutex_lock(&lock);
    rec *r = find(pool);
    if (r) *r = recs[--nrecs];
    pthread_mutex_unlock(&lock);
}

static int state_of(const mpipool *pool) {
    pthread_mutex_lock(&lock);
    rec *r = find(pool);
    int state = r != NULL ? r->state : CLOSED;
    pthread_mutex_unlock(&lock);
    return state;
}

int mpipool__handle_live(const mpipool *pool) { return state_of(pool) == OPEN; }

int mpipool__handle_known(const mpipool *pool) { return state_of(pool) != CLOSED; }

void mpipool__handle_bury(const mpipool *pool) {
    pthread_mutex_lock(&lock);
    rec *r = find(pool);
    if (r) r->state = CLOSED;
    pthread_mutex_unlock(&lock);
}

int mpipool__handle_enter(const mpipool *pool, const char *func) {
    pthread_mutex_lock(&lock);
    rec *r = find(pool);
    int live = r != NULL && r->state == OPEN;
    if (live) {
        r->callers++;
        r->func = func;
    }
    pthread_mutex_unlock(&lock);
    return live;
}

void mpipool__handle_leave(const mpipool *pool) {
    pthread_mutex_lock(&lock);
    rec *r = find(pool);
    if (r && r->callers > 0) r->callers--;
    pthread_mutex_unlock(&lock);
}

int mpipool__handle_close(const mpipool *pool, const char **busy_func) {
    int rc = MPIPOOL_OK;
    pthread_mutex_lock(&lock);
    rec *r = find(pool);
    if (r == NULL || r->state != OPEN) {
        rc = MPIPOOL_ECLOSED;
    } else if (r->callers > 0) {
        rc = MPIPOOL_EBUSY;
        *busy_func = r->func;
    } else {
        r->state = CLOSING;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

const mpipool *mpipool__handle_any_open(void) {
    const mpipool *p = NULL;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; p == NULL && i < nrecs; i++)
        if (recs[i].state == OPEN) p = recs[i].pool;
    pthread_mutex_unlock(&lock);
    return p;
}
