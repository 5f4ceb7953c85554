/*
 * resume.c — journal and resume, as the master's engine sees it: which
 * journal a map uses, replaying what a previous run finished, skipping those
 * items, journalling each chunk as it comes back, and the sync timer.  No
 * MPI calls.
 *
 * Invariants:
 *  - an item is skipped only if its result is in `out` (replayed from an
 *    intact record of this very map: same seq, task, n, sizes, inputs);
 *  - a chunk is journalled only when every one of its failed items is known
 *    (failed items are listed in the record and run again next time);
 *  - journals are process-wide, keyed by path, so maps are numbered per
 *    journal across the whole program (pools may close and reopen); one
 *    mutex guards them, taken after the engine's lock, never before it;
 *  - an imap (a stream: no n, no input digest) is keyed by its number on the
 *    file and its task; on resume only an index of its journalled runs of
 *    items is held (one entry per record and per failure), and a journalled
 *    item's result is read back from the file when the stream reaches it,
 *    never sent to a worker, so the master's memory stays bounded.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include "engine.h"
#include "journal.h"
#include "resume.h"

typedef struct jentry {
    char *path;
    uint64_t next_seq;      /* maps of this program begun on this file */
    mpipool__journal *j;    /* NULL while closed                       */
    int users;              /* jobs in flight                          */
    struct jentry *next;
} jentry;

struct mpipool__resume {
    jentry *je;
    uint64_t seq;
    unsigned char *done;    /* bitmap of replayed items, or NULL if none */
    unsigned char *killed;  /* bitmap of items that ended a worker in an
                               earlier run (and have no result), or NULL */
    struct rkill {
        uint64_t item;
        int fatal;          /* its verdict: MPIPOOL__JKILL_TIMEOUT or _DIED
                               (not run again); 0: one crash (run alone)   */
        int rank, crashes;
        char *text;         /* TIMEOUT: how; else the deaths, "rank 3,
                               SIGSEGV; rank 1, SIGSEGV"                    */
    } *kills;               /* their KILL records, sorted by item, one each */
    size_t nkills;
    mpipool_buf *vtmp;      /* variable results replayed, until apply   */
    uint64_t *failed;       /* the failed items of the current chunk    */
    size_t nfailed, capfailed;
    int unknown_fail;       /* some failure of it had no record         */
    uint64_t replayed, recorded;
    int werr;               /* the journal could not be written         */
    char msg[MPIPOOL__MSG_MAX];
    struct mpipool__resume *next;
    mpipool_job *job;
    /* imap: the runs of items the journal has results for, sorted, and the
     * first one not yet behind j->next.  Ranges, not items, not results. */
    struct rpiece {
        uint64_t first, count;
        size_t chunk;
    } *pieces;
    size_t npieces, cappieces, pos;
};

static pthread_mutex_t jlock = PTHREAD_MUTEX_INITIALIZER;
static jentry *entries;
static struct mpipool__resume *active_list;
static atomic_int active;            /* journalled jobs in flight */
static atomic_int open_journals;     /* fast path for poll        */

static int bit(const unsigned char *b, uint64_t i) { return (b[i / 8] >> (i % 8)) & 1; }
static void set_bit(unsigned char *b, uint64_t i) { b[i / 8] |= (unsigned char)(1u << (i % 8)); }

void mpipool__resume_poll(void) {
    if (atomic_load(&open_journals) == 0) return;
    pthread_mutex_lock(&jlock);
    for (jentry *e = entries; e; e = e->next) {
        if (e->j == NULL || e->users == 0) continue;
        char err[512];
        if (mpipool__journal_maybe_sync(e->j, err, sizeof err) < 0)
            for (struct mpipool__resume *r = active_list; r; r = r->next)
                if (r->je == e && !r->werr) {
                    r->werr = 1;
                    snprintf(r->msg, sizeof r->msg, "%s", err);
                }
    }
    pthread_mutex_unlock(&jlock);
}

/* ---- set-up and replay -------------------------------------------------- */

static uint64_t input_digest(const mpipool_job *j) {
    if (!j->in_var) return mpipool__hash(j->in, j->n * j->in_size);
    mpipool__hasher s;
    mpipool__hash_init(&s);
    const mpipool_buf *items = (const mpipool_buf *)(const void *)j->in;
    for (size_t i = 0; i < j->n; i++) {
        uint64_t sz = items[i].size;
        mpipool__hash_update(&s, &sz, 8);
        if (sz) mpipool__hash_update(&s, items[i].data, items[i].size);
    }
    return mpipool__hash_final(&s);
}

static int replay_item(void *ctx, uint64_t index, const void *data, size_t size) {
    struct mpipool__resume *r = ctx;
    if (r->vtmp) {
        mpipool_buf *b = &r->vtmp[index];
        free(b->data);
        b->data = NULL;
        b->size = 0;
        if (size && (b->data = malloc(size)) == NULL) return MPIPOOL_ENOMEM;
        if (size) memcpy(b->data, data, size);
        b->size = size;
    }
    if (!bit(r->done, index)) r->replayed++;
    set_bit(r->done, index);
    return 0;
}

static void free_kills(struct mpipool__resume *r) {
    for (size_t i = 0; i < r->nkills; i++) free(r->kills[i].text);
    free(r->kills);
    free(r->killed);
    r->kills = NULL;
    r->killed = NULL;
    r->nkills = 0;
}

/* One KILL record of this map (journal.h), in file order.  As within a
 * run (recover.c): a timeout, or a second death, is the item's verdict, and
 * it is not run again; after one crash it runs again, alone in its chunk. */
static int add_kill(void *ctx, uint64_t item, int kind, int rank, const char *text) {
    struct mpipool__resume *r = ctx;
    if (r->done && bit(r->done, item)) return 0; /* it has a result: that wins */
    if (r->killed == NULL && (r->killed = calloc(r->job->n / 8 + 1, 1)) == NULL) return MPIPOOL_ENOMEM;
    size_t at = 0;
    while (at < r->nkills && r->kills[at].item != item) at++;
    if (at == r->nkills) {
        struct rkill *k = realloc(r->kills, (r->nkills + 1) * sizeof *k);
        if (k == NULL) return MPIPOOL_ENOMEM;
        r->kills = k;
        r->kills[r->nkills++] = (struct rkill){item, 0, 0, 0, NULL};
    }
    struct rkill *k = &r->kills[at];
    set_bit(r->killed, item);
    if (k->fatal) return 0; /* settled by an earlier record */
    size_t len = (k->text ? strlen(k->text) + 2 : 0) + strlen(text) + 1;
    char *t = malloc(len);
    if (t == NULL) return MPIPOOL_ENOMEM;
    if (kind == MPIPOOL__JKILL_CRASH && k->text) snprintf(t, len, "%s; %s", k->text, text); /* the deaths so far */
    else snprintf(t, len, "%s", text);
    free(k->text);
    k->text = t;
    k->rank = rank;
    if (kind != MPIPOOL__JKILL_CRASH) k->fatal = kind;
    else if (++k->crashes >= 2) k->fatal = MPIPOOL__JKILL_DIED;
    return 0;
}

static int kill_cmp(const void *a, const void *b) {
    const struct rkill *x = a, *y = b;
    return x->item < y->item ? -1 : x->item > y->item;
}

static const struct rkill *find_kill(const struct mpipool__resume *r, uint64_t item) {
    struct rkill key = {item, 0, 0, 0, NULL};
    return r && r->nkills ? bsearch(&key, r->kills, r->nkills, sizeof *r->kills, kill_cmp) : NULL;
}

static void resume_free(struct mpipool__resume *r, uint64_t n) {
    if (r == NULL) return;
    if (r->vtmp)
        for (uint64_t i = 0; i < n; i++) free(r->vtmp[i].data);
    free(r->vtmp);
    free(r->done);
    free(r->failed);
    free(r->pieces);
    free_kills(r);
    free(r);
}

static jentry *entry_for(const char *path) {
    for (jentry *e = entries; e; e = e->next)
        if (strcmp(e->path, path) == 0) return e;
    jentry *e = calloc(1, sizeof *e);
    if (e == NULL || (e->path = strdup(path)) == NULL) {
        free(e);
        return NULL;
    }
    e->next = entries;
    entries = e;
    return e;
}

static int add_piece(void *ctx, uint64_t first, uint64_t count, size_t chunk) {
    struct mpipool__resume *r = ctx;
    if (r->npieces == r->cappieces) {
        size_t ncap = r->cappieces ? 2 * r->cappieces : 64;
        struct rpiece *p = realloc(r->pieces, ncap * sizeof *p);
        if (p == NULL) return MPIPOOL_ENOMEM;
        r->pieces = p;
        r->cappieces = ncap;
    }
    r->pieces[r->npieces++] = (struct rpiece){first, count, chunk};
    return 0;
}

static int piece_cmp(const void *a, const void *b) {
    const struct rpiece *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* A resumed imap: the sorted index of the runs of items its journal
 * holds, each item at most once. */
static int index_stream(struct mpipool__resume *r, const char *path, char *err, size_t errsz) {
    int rc = mpipool__journal_pieces(r->je->j, r->seq, add_piece, r, err, errsz);
    if (rc != MPIPOOL_OK) {
        if (rc == MPIPOOL_ENOMEM) snprintf(err, errsz, "out of memory indexing journal '%s'", path);
        return rc;
    }
    qsort(r->pieces, r->npieces, sizeof *r->pieces, piece_cmp);
    for (size_t i = 1; i < r->npieces; i++)
        if (r->pieces[i].first < r->pieces[i - 1].first + r->pieces[i - 1].count) {
            snprintf(err, errsz, "journal '%s': imap #%llu has two results for item %llu", path,
                     (unsigned long long)r->seq, (unsigned long long)r->pieces[i].first);
            return MPIPOOL_EJOURNAL;
        }
    return MPIPOOL_OK;
}

/* A map a previous run began: its results into `out` (or r->vtmp), the
 * items done, and the items that ended a worker without a result. */
static int replay_map(struct mpipool__resume *r, const char *path, char *err, size_t errsz) {
    mpipool_job *j = r->job;
    r->done = calloc(j->n / 8 + 1, 1);
    if (j->out_var) r->vtmp = calloc(j->n ? j->n : 1, sizeof *r->vtmp);
    if (r->done == NULL || (j->out_var && r->vtmp == NULL)) {
        snprintf(err, errsz, "out of memory for the journal's results");
        return MPIPOOL_ENOMEM;
    }
    int rc = mpipool__journal_replay(r->je->j, r->seq, j->out_var ? NULL : j->out, replay_item, r, err, errsz);
    /* Then the items that ended a worker (few: a linear search each). */
    if (rc == MPIPOOL_OK) rc = mpipool__journal_kills(r->je->j, r->seq, add_kill, r, err, errsz);
    if (rc != MPIPOOL_OK) {
        if (rc == MPIPOOL_ENOMEM) snprintf(err, errsz, "out of memory replaying journal '%s'", path);
        return rc;
    }
    if (r->nkills) qsort(r->kills, r->nkills, sizeof *r->kills, kill_cmp);
    if (r->replayed == 0) {
        free(r->done);
        r->done = NULL;
    }
    return MPIPOOL_OK;
}

int mpipool__resume_setup(mpipool_job *j, const char *path) {
    char err[MPIPOOL__ERR_MAX - 64];
    int rc = MPIPOOL_OK;
    j->resume = NULL;
    if (path == NULL) path = getenv("MPIPOOL_JOURNAL");
    if (path == NULL || path[0] == '\0') return MPIPOOL_OK;
    if (strlen(path) >= 4096) /* the same code as options->journal gets */
        return mpipool__error(j->pool, MPIPOOL_EINVAL, "%s: MPIPOOL_JOURNAL is a path of %zu bytes; at most 4095",
                              j->func, strlen(path));
    struct mpipool__resume *r = calloc(1, sizeof *r);
    if (r == NULL) return mpipool__error(j->pool, MPIPOOL_ENOMEM, "%s: out of memory", j->func);
    r->job = j;
    /* before the lock: it reads all the inputs; a stream has none yet */
    uint64_t digest = j->source ? 0 : input_digest(j);
    pthread_mutex_lock(&jlock);
    jentry *e = entry_for(path);
    if (e == NULL) {
        rc = MPIPOOL_ENOMEM;
        snprintf(err, sizeof err, "out of memory");
        goto cleanup;
    }
    if (e->j && e->users == 0 && !mpipool__journal_same_file(e->j, path)) {
        /* Deleted or replaced since we last used it: read the new file. */
        mpipool__journal_close(e->j);
        e->j = NULL;
        atomic_fetch_sub(&open_journals, 1);
    }
    if (e->j == NULL) {
        rc = mpipool__journal_open(path, &e->j, err, sizeof err);
        if (rc != MPIPOOL_OK) goto cleanup;
        atomic_fetch_add(&open_journals, 1);
    }
    r->je = e;
    r->seq = e->next_seq;
    mpipool__jkey key = {r->seq, j->n, j->in_var ? UINT64_MAX : j->in_size, j->out_var ? UINT64_MAX : j->out_size,
                         digest, mpipool__registry_name(j->fn_index), NULL /* this program's code */};
    if (j->source) key.n = key.in_size = key.out_size = MPIPOOL__JSTREAM;
    rc = mpipool__journal_begin(e->j, &key, err, sizeof err);
    if (rc < 0) goto cleanup;
    e->next_seq++; /* this map has its number now, even if replay fails below */
    if (rc == 1 && j->source) {
        /* A previous run began this imap: index (only) what it finished. */
        if ((rc = index_stream(r, path, err, sizeof err)) != MPIPOOL_OK) goto cleanup;
    } else if (rc == 1) {
        /* A previous run began this map: take what it finished. */
        if ((rc = replay_map(r, path, err, sizeof err)) != MPIPOOL_OK) goto cleanup;
    }
    rc = MPIPOOL_OK;
    e->users++;
    r->next = active_list;
    active_list = r;
    atomic_fetch_add(&active, 1);
    j->resume = r;
cleanup:
    pthread_mutex_unlock(&jlock);
    if (rc != MPIPOOL_OK) {
        resume_free(r, j->n);
        return mpipool__error(j->pool, rc, "%s: %s", j->func, err);
    }
    return MPIPOOL_OK;
}

void mpipool__resume_apply(mpipool_job *j) {
    struct mpipool__resume *r = j->resume;
    if (r == NULL || (r->done == NULL && r->killed == NULL)) return;
    /* Only part of a static map is left, or an item must not be sent:
     * hand it out in chunks (mpipool__job_clip fails that item at once). */
    j->schedule = MPIPOOL_SCHEDULE_DYNAMIC;
    for (size_t i = 0; r->done && i < j->n; i++) {
        if (!bit(r->done, i)) continue;
        if (j->status) j->status[i] = MPIPOOL_OK;
        if (r->vtmp) {
            ((mpipool_buf *)(void *)j->out)[i] = r->vtmp[i];
            r->vtmp[i] = (mpipool_buf){NULL, 0};
        }
    }
    free(r->vtmp);
    r->vtmp = NULL;
}

/* A one-rank pool runs its items between signal checks in batches: keep
 * them short, so SIGTERM is answered after at most this many items. */
#define INLINE_BATCH 16

/* imap: at j->next, either items to run (the return value) or a run of
 * journalled items (*skip) whose results the file holds; reads only. */
static size_t clip_stream(const mpipool_job *j, struct mpipool__resume *r, size_t count, size_t *skip) {
    if (j->cancelled || j->next >= j->n) return 0;
    while (r->pos < r->npieces && r->pieces[r->pos].first + r->pieces[r->pos].count <= j->next) r->pos++;
    size_t room = SIZE_MAX;
    if (!j->unordered) {
        /* Replayed results wait in the reorder list too: same bound. */
        if (j->next - j->emitted >= j->window) return 0;
        room = j->window - (j->next - j->emitted);
    }
    if (r->pos == r->npieces || r->pieces[r->pos].first > j->next) {
        size_t c = count < room ? count : room;
        if (r->pos < r->npieces && r->pieces[r->pos].first - j->next < c) c = (size_t)(r->pieces[r->pos].first - j->next);
        return c;
    }
    uint64_t end = r->pieces[r->pos].first + r->pieces[r->pos].count;
    if (end - j->next > room) end = j->next + room;
    *skip = (size_t)(end - j->next);
    return 0;
}

size_t mpipool__resume_clip(const mpipool_job *j, size_t count, size_t *skip, int *killed) {
    struct mpipool__resume *r = j->resume;
    *skip = 0;
    *killed = 0;
    if (r && j->pool->size == 1 && count > INLINE_BATCH) count = INLINE_BATCH; /* only run_inline runs there */
    if (r && j->source) return clip_stream(j, r, count, skip);
    if (r == NULL || (r->done == NULL && r->killed == NULL)) return count;
    size_t at = j->next;
    while (at < j->n && r->done && bit(r->done, at)) at++;
    *skip = at - j->next;
    if (at < j->n && r->killed && bit(r->killed, at)) {
        const struct rkill *k = find_kill(r, at);
        if (k && !k->fatal) return 1; /* one crash: it runs again, alone in its chunk */
        *killed = 1;
        return 0;
    }
    size_t c = 0;
    while (c < count && at + c < j->n && !(r->done && bit(r->done, at + c)) && !(r->killed && bit(r->killed, at + c)))
        c++;
    return c;
}

int mpipool__resume_killed(const mpipool_job *j, uint64_t item, int *rank, char *msg, size_t size) {
    const struct mpipool__resume *r = j->resume;
    const struct rkill *k = find_kill(r, item);
    if (k == NULL || !k->fatal) return 0;
    *rank = k->rank;
    if (k->fatal == MPIPOOL__JKILL_TIMEOUT)
        snprintf(msg, size, "in an earlier run, %s; not run again (journal '%.300s')", k->text, r->je->path);
    else
        snprintf(msg, size, "in an earlier run, worker died running item %llu (%s); not run again (journal '%.300s')",
                 (unsigned long long)item, k->text, r->je->path);
    return k->fatal == MPIPOOL__JKILL_TIMEOUT ? MPIPOOL_ETIMEDOUT : MPIPOOL_ETASK;
}

int mpipool__resume_suspect(const mpipool_job *j, uint64_t item, char **why) {
    const struct rkill *k = find_kill(j->resume, item);
    if (k == NULL || k->fatal) return 0;
    size_t len = strlen(k->text) + 32;
    if ((*why = malloc(len)) != NULL) snprintf(*why, len, "%s (an earlier run)", k->text);
    return 1;
}

int mpipool__resume_read(const mpipool_job *j, uint64_t first, uint64_t count, char **buf, const uint64_t **sizes,
                         const char **data, char *err, size_t errsz) {
    struct mpipool__resume *r = j->resume;
    pthread_mutex_lock(&jlock);
    int rc = mpipool__journal_read_var(r->je->j, r->seq, r->pieces[r->pos].chunk, first, count, buf, sizes, data, err,
                                       errsz);
    if (rc == MPIPOOL_OK) r->replayed += count;
    pthread_mutex_unlock(&jlock);
    return rc;
}

/* ---- recording ---------------------------------------------------------- */

void mpipool__resume_note_failures(mpipool_job *j, uint64_t nfail, const char *recs, size_t len) {
    struct mpipool__resume *r = j->resume;
    size_t off = 0;
    uint64_t index, seen = 0;
    const char *msg;
    uint32_t mlen;
    if (r == NULL || nfail == 0) return;
    while (mpipool__fails_next(recs, len, &off, &index, &msg, &mlen)) {
        if (r->nfailed == r->capfailed) {
            size_t ncap = r->capfailed ? 2 * r->capfailed : 16;
            uint64_t *p = realloc(r->failed, ncap * sizeof *p);
            if (p == NULL) {
                r->unknown_fail = 1;
                return;
            }
            r->failed = p;
            r->capfailed = ncap;
        }
        r->failed[r->nfailed++] = index;
        seen++;
    }
    if (seen < nfail) r->unknown_fail = 1; /* failures beyond MPIPOOL__FAILS_MAX: which ones is unknown */
}

void mpipool__resume_record_stream(mpipool_job *j, uint64_t first, uint64_t count, const uint64_t *sizes,
                                   const char *data) {
    struct mpipool__resume *r = j->resume;
    char err[512];
    if (r == NULL) return;
    /* Unlike a map's, a stream's results are valid even after the sink or
     * the source stopped it (stream_rc): journal them all the same. */
    if (!r->unknown_fail && count > 0) {
        mpipool_buf *v = malloc((size_t)count * sizeof *v);
        uint64_t nf = 0;
        for (size_t i = 0; i < r->nfailed; i++)
            if (r->failed[i] >= first && r->failed[i] - first < count) r->failed[nf++] = r->failed[i];
        for (uint64_t i = 0; v && i < count; i++) {
            v[i] = (mpipool_buf){sizes[i] ? (void *)(uintptr_t)data : NULL, (size_t)sizes[i]};
            data += sizes[i];
        }
        pthread_mutex_lock(&jlock);
        int rc = v == NULL ? MPIPOOL_ENOMEM
                           : mpipool__journal_append_chunk(r->je->j, r->seq, first, count, UINT64_MAX, NULL, v,
                                                           r->failed, nf, err, sizeof err);
        if (v == NULL) snprintf(err, sizeof err, "out of memory journalling a chunk");
        if (rc == MPIPOOL_OK) {
            r->recorded += count - nf;
            if (mpipool__journal_maybe_sync(r->je->j, err, sizeof err) < 0) rc = MPIPOOL_EJOURNAL;
        }
        if (rc != MPIPOOL_OK && !r->werr) {
            r->werr = 1;
            snprintf(r->msg, sizeof r->msg, "%s", err);
        }
        pthread_mutex_unlock(&jlock);
        free(v);
    }
    r->nfailed = 0;
    r->unknown_fail = 0;
}

void mpipool__resume_record(mpipool_job *j, uint64_t first, uint64_t count) {
    struct mpipool__resume *r = j->resume;
    char err[512];
    if (r == NULL || j->source) return; /* streams: record_stream, before delivery */
    /* Journal only what is certain: all failures known, results stored. */
    if (!r->unknown_fail && j->stream_rc == MPIPOOL_OK && count > 0) {
        uint64_t nf = 0;
        for (size_t i = 0; i < r->nfailed; i++)
            if (r->failed[i] >= first && r->failed[i] - first < count) r->failed[nf++] = r->failed[i];
        pthread_mutex_lock(&jlock);
        int rc = mpipool__journal_append_chunk(
            r->je->j, r->seq, first, count, j->out_var ? UINT64_MAX : j->out_size,
            j->out_var ? NULL : j->out + first * j->out_size,
            j->out_var ? (const mpipool_buf *)(const void *)j->out + first : NULL, r->failed, nf, err, sizeof err);
        if (rc == MPIPOOL_OK) {
            r->recorded += count - nf;
            if (mpipool__journal_maybe_sync(r->je->j, err, sizeof err) < 0) rc = MPIPOOL_EJOURNAL;
        }
        if (rc != MPIPOOL_OK && !r->werr) {
            r->werr = 1;
            snprintf(r->msg, sizeof r->msg, "%s", err);
        }
        pthread_mutex_unlock(&jlock);
    }
    r->nfailed = 0;
    r->unknown_fail = 0;
}

void mpipool__resume_record_kill(mpipool_job *j, uint64_t item, int kind, int rank, const char *text) {
    struct mpipool__resume *r = j->resume;
    char err[512];
    if (r == NULL || j->source) return; /* an imap's are not recorded (not yet) */
    pthread_mutex_lock(&jlock);
    if (mpipool__journal_append_kill(r->je->j, r->seq, item, kind, rank, text, err, sizeof err) != MPIPOOL_OK &&
        !r->werr) {
        r->werr = 1;
        snprintf(r->msg, sizeof r->msg, "%s", err);
    }
    pthread_mutex_unlock(&jlock);
}

void mpipool__resume_finish(mpipool_job *j) {
    struct mpipool__resume *r = j->resume;
    char err[512];
    if (r == NULL) return;
    pthread_mutex_lock(&jlock);
    if (mpipool__journal_sync_finish(r->je->j, err, sizeof err) < 0 && !r->werr) {
        r->werr = 1;
        snprintf(r->msg, sizeof r->msg, "%s", err);
    }
    for (struct mpipool__resume **pp = &active_list; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    r->je->users--;
    atomic_fetch_sub(&active, 1);
    pthread_mutex_unlock(&jlock);
    if (r->werr && j->rc == MPIPOOL_OK) {
        j->rc = MPIPOOL_EJOURNAL;
        snprintf(j->err, sizeof j->err, "%s: every item ran, but %.480s", j->func, r->msg);
    }
    j->resume = NULL;
    resume_free(r, j->n);
}

void mpipool__resume_describe(const mpipool_job *j, char *buf, size_t size) {
    const struct mpipool__resume *r = j->resume;
    if (r == NULL) {
        snprintf(buf, size, "no journal: nothing is saved");
        return;
    }
    uint64_t done = r->replayed + r->recorded;
    if (j->source)
        snprintf(buf, size, "%llu items done and saved in journal '%.300s' (an imap: how many are left is not "
                 "known)", (unsigned long long)done, r->je->path);
    else
        snprintf(buf, size, "%llu of %zu items done and saved in journal '%.300s', %llu not done",
                 (unsigned long long)done, j->n, r->je->path, (unsigned long long)(j->n - done));
}

void mpipool__resume_close_idle(void) {
    pthread_mutex_lock(&jlock);
    for (jentry *e = entries; e; e = e->next) {
        if (e->j && e->users == 0) {
            mpipool__journal_close(e->j);
            e->j = NULL;
            atomic_fetch_sub(&open_journals, 1);
        }
    }
    pthread_mutex_unlock(&jlock);
}
