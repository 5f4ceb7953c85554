/*
 * journal.c — the journal object's life and everything that writes the
 * file (format in journal.h): open (scan, cut a torn tail, write the
 * header), begin a map, append a chunk, sync, close.  No MPI: the engine
 * calls in through resume.c.
 *
 * Invariant: the file always ends with an intact record once open
 * returns (a torn tail is cut off first), and every record is appended with
 * a single write(), so a process killed at any moment leaves at most one
 * torn record, at the end, which the next open ignores.
 *
 * A file-size limit (RLIMIT_FSIZE, `ulimit -f`) must not kill the process:
 * while it writes, the journal blocks SIGXFSZ in the writing thread (the
 * signal is sent to the thread whose write crossed the limit), so write()
 * fails with EFBIG instead — a journal error like a full disk — and the
 * signal that write raised is taken back before the thread's mask is
 * restored.  Other threads and the program's own SIGXFSZ disposition are
 * never touched.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include "journal_impl.h"

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static mpipool__journal *journal_new(void) {
    mpipool__journal *j = calloc(1, sizeof *j);
    if (j) j->fd = -1;
    return j;
}

static void journal_free(mpipool__journal *j) {
    if (j == NULL) return;
    mpipool__jr_free_maps(j);
    free(j->path);
    free(j);
}

/* SIGXFSZ blocked in this thread (see the top of the file). */
typedef struct {
    sigset_t old;
    int was_pending; /* a SIGXFSZ was pending before: not ours to take */
} xfsz_guard;

static void xfsz_block(xfsz_guard *g) {
    sigset_t s, p;
    sigemptyset(&s);
    sigaddset(&s, SIGXFSZ);
    pthread_sigmask(SIG_BLOCK, &s, &g->old);
    g->was_pending = sigpending(&p) == 0 && sigismember(&p, SIGXFSZ);
}

/* Restore the mask; after an EFBIG, first take back the SIGXFSZ the
 * failed write left pending, or unblocking would deliver it. */
static void xfsz_restore(const xfsz_guard *g, int efbig) {
    if (efbig && !g->was_pending) {
        sigset_t s;
        struct timespec zero = {0, 0};
        sigemptyset(&s);
        sigaddset(&s, SIGXFSZ);
        while (sigtimedwait(&s, NULL, &zero) < 0 && errno == EINTR) {}
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* EJOURNAL for a write that failed with errno e (0: wrote nothing). */
static int write_error(const mpipool__journal *j, int e, char *err, size_t errsz) {
    struct rlimit rl;
    if (e == EFBIG && getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        snprintf(err, errsz, "journal '%s': cannot write: file too large (the file-size limit, ulimit -f, is %llu "
                 "bytes)", jname(j), (unsigned long long)rl.rlim_cur);
    else if (e == EFBIG)
        snprintf(err, errsz, "journal '%s': cannot write: file too large for its filesystem", jname(j));
    else
        snprintf(err, errsz, "journal '%s': cannot write: %s", jname(j), e ? strerror(e) : "short write");
    return MPIPOOL_EJOURNAL;
}

/* Write iov[0..cnt) whole, going on after short writes.  0, or -1 with
 * the failed writev's errno in *e (0 if it wrote nothing). */
static int write_all(int fd, struct iovec *iov, int cnt, size_t total, int *e) {
    size_t done = 0;
    int first = 0;
    while (done < total) {
        ssize_t w = writev(fd, iov + first, cnt - first);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            *e = w < 0 ? errno : 0;
            return -1;
        }
        done += (size_t)w;
        /* A short write (rare on regular files, and how a file-size limit
         * starts): go on where it stopped. */
        size_t skip = (size_t)w;
        while (first < cnt && skip >= iov[first].iov_len) skip -= iov[first++].iov_len;
        if (first < cnt) {
            iov[first].iov_base = (char *)iov[first].iov_base + skip;
            iov[first].iov_len -= skip;
        }
    }
    return 0;
}

/* One record: header, body pieces, checksum, in one writev. */
static int append(mpipool__journal *j, uint32_t type, const struct iovec *body, int nbody, char *err,
                  size_t errsz) {
    unsigned char h[JR_HDR], t[JR_TRAILER];
    struct iovec iov[8];
    uint64_t len = 0;
    mpipool__hasher s;
    if (j->fd < 0) {
        snprintf(err, errsz, "journal '%s' is read-only", jname(j));
        return MPIPOOL_EJOURNAL;
    }
    for (int i = 0; i < nbody; i++) len += body[i].iov_len;
    put32(h, JR_MAGIC);
    put32(h + 4, type);
    put64(h + 8, len);
    put64(h + 16, mpipool__hash(h, 16));
    mpipool__hash_init(&s);
    mpipool__hash_update(&s, h, 16);
    for (int i = 0; i < nbody; i++) mpipool__hash_update(&s, body[i].iov_base, body[i].iov_len);
    put64(t, mpipool__hash_final(&s));
    iov[0] = (struct iovec){h, JR_HDR};
    for (int i = 0; i < nbody; i++) iov[1 + i] = body[i];
    iov[1 + nbody] = (struct iovec){t, JR_TRAILER};
    size_t total = JR_HDR + (size_t)len + JR_TRAILER;
    int e = 0;
    xfsz_guard g;
    xfsz_block(&g);
    int bad = write_all(j->fd, iov, nbody + 2, total, &e);
    /* Leave no half record behind for the next append to follow. */
    if (bad && ftruncate(j->fd, (off_t)j->size) != 0) {}
    xfsz_restore(&g, bad && e == EFBIG);
    if (bad) return write_error(j, e, err, errsz);
    if (j->dirty == 0) j->dirty_since = now_s();
    j->dirty += total;
    j->size += total;
    return MPIPOOL_OK;
}

int mpipool__journal_open(const char *path, mpipool__journal **out, char *err, size_t errsz) {
    mpipool__journal *j = journal_new();
    int rc;
    struct stat st;
    *out = NULL;
    if (j == NULL || (j->path = strdup(path)) == NULL) {
        journal_free(j);
        snprintf(err, errsz, "journal '%s': out of memory", path);
        return MPIPOOL_ENOMEM;
    }
    j->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (j->fd < 0) {
        snprintf(err, errsz, "journal '%s': cannot open: %s", path, strerror(errno));
        rc = MPIPOOL_EJOURNAL;
        goto cleanup;
    }
    if (flock(j->fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
        snprintf(err, errsz, "journal '%s' is in use by another process (or another pool of this one)", path);
        rc = MPIPOOL_EJOURNAL;
        goto cleanup;
    } /* other flock errors: a filesystem without locks; go on unlocked */
    if (fstat(j->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errsz, "journal '%s' is not a regular file", path);
        rc = MPIPOOL_EJOURNAL;
        goto cleanup;
    }
    rc = mpipool__jr_scan(j, (uint64_t)st.st_size, err, errsz);
    if (rc != MPIPOOL_OK) goto cleanup;
    if (j->torn && ftruncate(j->fd, (off_t)j->size) != 0) {
        snprintf(err, errsz, "journal '%s': cannot cut off its torn last record: %s", path, strerror(errno));
        rc = MPIPOOL_EJOURNAL;
        goto cleanup;
    }
    if (j->size == 0) {
        unsigned char v[8];
        put32(v, JR_VERSION);
        put32(v + 4, 0);
        struct iovec b = {v, 8};
        rc = append(j, JR_HEAD, &b, 1, err, errsz);
        if (rc != MPIPOOL_OK) goto cleanup;
    }
    *out = j;
    return MPIPOOL_OK;
cleanup:
    if (j->fd >= 0) close(j->fd);
    journal_free(j);
    return rc;
}

int mpipool__journal_open_mem(const void *p, size_t len, mpipool__journal **out, char *err, size_t errsz) {
    mpipool__journal *j = journal_new();
    *out = NULL;
    if (j == NULL) return MPIPOOL_ENOMEM;
    j->mem = p;
    int rc = mpipool__jr_scan(j, len, err, errsz);
    if (rc != MPIPOOL_OK) {
        journal_free(j);
        return rc;
    }
    *out = j;
    return MPIPOOL_OK;
}

int mpipool__journal_sync(mpipool__journal *j, char *err, size_t errsz) {
    if (j == NULL || j->fd < 0 || j->dirty == 0) return MPIPOOL_OK;
    if (fdatasync(j->fd) != 0 && errno != EINVAL) {
        snprintf(err, errsz, "journal '%s': fdatasync failed: %s", jname(j), strerror(errno));
        return MPIPOOL_EJOURNAL;
    }
    j->dirty = 0;
    j->last_sync = now_s();
    return MPIPOOL_OK;
}

int mpipool__journal_maybe_sync(mpipool__journal *j, char *err, size_t errsz) {
    if (j == NULL || j->dirty == 0) return 0;
    if (j->dirty < MPIPOOL__JOURNAL_SYNC_BYTES && now_s() - j->dirty_since < MPIPOOL__JOURNAL_SYNC_SECONDS) return 0;
    return mpipool__journal_sync(j, err, errsz) == MPIPOOL_OK ? 1 : MPIPOOL_EJOURNAL;
}

int mpipool__journal_sync_finish(mpipool__journal *j, char *err, size_t errsz) {
    if (j == NULL || j->dirty == 0) return 0;
    if (j->last_sync > 0 && now_s() - j->last_sync < MPIPOOL__JOURNAL_SYNC_SECONDS)
        return mpipool__journal_maybe_sync(j, err, errsz);
    return mpipool__journal_sync(j, err, errsz) == MPIPOOL_OK ? 1 : MPIPOOL_EJOURNAL;
}

int mpipool__journal_close(mpipool__journal *j) {
    char err[256];
    if (j == NULL) return MPIPOOL_OK;
    int rc = mpipool__journal_sync(j, err, sizeof err);
    if (j->fd >= 0) close(j->fd);
    journal_free(j);
    return rc;
}

const char *mpipool__journal_path(const mpipool__journal *j) { return jname(j); }
uint64_t mpipool__journal_size(const mpipool__journal *j) { return j->size; }
int mpipool__journal_had_torn_tail(const mpipool__journal *j) { return j->torn; }
size_t mpipool__journal_nmaps(const mpipool__journal *j) { return j->nmaps; }

int mpipool__journal_same_file(const mpipool__journal *j, const char *path) {
    struct stat a, b;
    if (j->fd < 0 || fstat(j->fd, &a) != 0 || stat(path, &b) != 0) return 0;
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static void describe(char *buf, size_t sz, const char *fn, uint64_t n, uint64_t in, uint64_t out, uint64_t dg) {
    char a[32], b[32];
    if (in == UINT64_MAX) snprintf(a, sizeof a, "variable");
    else snprintf(a, sizeof a, "%llu", (unsigned long long)in);
    if (out == UINT64_MAX) snprintf(b, sizeof b, "variable");
    else snprintf(b, sizeof b, "%llu", (unsigned long long)out);
    if (n == MPIPOOL__JSTREAM) {
        snprintf(buf, sz, "'%s' over a stream (mpipool_imap)", fn);
        return;
    }
    snprintf(buf, sz, "'%s' over %llu items of %s -> %s bytes, inputs %016llx", fn, (unsigned long long)n, a, b,
             (unsigned long long)dg);
}

/* A map found with the same key but another code identity. */
static int other_build(const mpipool__journal *j, const jmap *m, const char *code, char *err, size_t errsz) {
    char was[300], is[300];
    mpipool__progid_describe(m->code, was, sizeof was);
    mpipool__progid_describe(code, is, sizeof is);
    snprintf(err, errsz, "journal '%s' was written by another build of the program (%s; this run: %s), whose "
             "results may not be this build's; delete it to start over, or, if the change cannot alter results, "
             "set MPIPOOL_JOURNAL_CODE='%s' to resume it", jname(j), was, is, m->code);
    return MPIPOOL_EJOURNAL;
}

/* Append the MAP record of key k, written by code `code`, and index it. */
static int add_map_record(mpipool__journal *j, const mpipool__jkey *k, const char *code, char *err, size_t errsz) {
    size_t nlen = strlen(k->fn), clen = strlen(code);
    if (nlen == 0 || nlen > JR_NAME_MAX) {
        snprintf(err, errsz, "journal '%s': task name of %zu bytes", jname(j), nlen);
        return MPIPOOL_EJOURNAL;
    }
    unsigned char b[JR_MAP_FIXED];
    put64(b, k->seq);
    put64(b + 8, k->n);
    put64(b + 16, k->in_size);
    put64(b + 24, k->out_size);
    put64(b + 32, k->digest);
    put32(b + 40, (uint32_t)nlen);
    put32(b + 44, (uint32_t)clen);
    struct iovec body[3] = {{b, JR_MAP_FIXED}, {(void *)(uintptr_t)k->fn, nlen}, {(void *)(uintptr_t)code, clen}};
    int rc = append(j, JR_MAP, body, 3, err, errsz);
    if (rc != MPIPOOL_OK) return rc;
    /* Index it, so a second begin of the same seq is caught. */
    jmap *nm = mpipool__jr_add_map(j);
    char *name = strdup(k->fn), *c = strdup(code);
    if (nm == NULL || name == NULL || c == NULL) {
        if (nm) j->nmaps--;
        free(name);
        free(c);
        snprintf(err, errsz, "journal '%s': out of memory", jname(j));
        return MPIPOOL_ENOMEM;
    }
    *nm = (jmap){.seq = k->seq, .n = k->n, .in_size = k->in_size, .out_size = k->out_size, .digest = k->digest,
                 .name = name, .code = c};
    if (k->seq != j->nmaps - 1) j->sparse = 1;
    return 0;
}

int mpipool__journal_begin(mpipool__journal *j, const mpipool__jkey *k, char *err, size_t errsz) {
    char here[JR_CODE_MAX + 1];
    const char *code = k->code;
    if (code == NULL) {
        size_t len = mpipool__progid(here, sizeof here);
        if (len >= sizeof here) {
            snprintf(err, errsz, "journal '%s': MPIPOOL_JOURNAL_CODE is %zu bytes long (at most %d)", jname(j), len,
                     JR_CODE_MAX);
            return MPIPOOL_EJOURNAL;
        }
        code = here;
    }
    jmap *m = find_map(j, k->seq);
    if (m == NULL) return add_map_record(j, k, code, err, errsz);
    if (strcmp(m->name, k->fn) != 0 || m->n != k->n || m->in_size != k->in_size || m->out_size != k->out_size ||
        m->digest != k->digest) {
        char was[200], is[200];
        describe(was, sizeof was, m->name, m->n, m->in_size, m->out_size, m->digest);
        describe(is, sizeof is, k->fn, k->n, k->in_size, k->out_size, k->digest);
        snprintf(err, errsz, "journal '%s' belongs to another job: its map #%llu ran %s; this map runs %s "
                 "(use another journal file, or delete this one to start over)", jname(j),
                 (unsigned long long)k->seq, was, is);
        return MPIPOOL_EJOURNAL;
    }
    if (strcmp(m->code, code) != 0) return other_build(j, m, code, err, errsz);
    return 1;
}

int mpipool__journal_append_chunk(mpipool__journal *j, uint64_t seq, uint64_t first, uint64_t count,
                                  uint64_t out_size, const void *results, const mpipool_buf *vres,
                                  const uint64_t *failed, uint64_t nfailed, char *err, size_t errsz) {
    unsigned char pre[JR_CHUNK_FIXED];
    unsigned char *meta = NULL;
    int rc;
    put64(pre, seq);
    put64(pre + 8, first);
    put64(pre + 16, count);
    put64(pre + 24, out_size);
    put64(pre + 32, nfailed);
    if (out_size != UINT64_MAX) {
        /* Fixed: failed[] then the results straight from the caller's array. */
        meta = malloc(nfailed ? (size_t)nfailed * 8 : 1);
        if (meta == NULL) goto nomem;
        for (uint64_t i = 0; i < nfailed; i++) put64(meta + 8 * i, failed[i]);
        struct iovec body[3] = {{pre, JR_CHUNK_FIXED}, {meta, (size_t)nfailed * 8},
                                {(void *)(uintptr_t)results, (size_t)(count * out_size)}};
        rc = append(j, JR_CHUNK, body, 3, err, errsz);
    } else {
        /* Variable: copy into one buffer (one writev, whatever the count). */
        size_t bytes = (size_t)(nfailed + count) * 8;
        for (uint64_t i = 0; i < count; i++) bytes += vres[i].data ? vres[i].size : 0;
        meta = malloc(bytes ? bytes : 1);
        if (meta == NULL) goto nomem;
        for (uint64_t i = 0; i < nfailed; i++) put64(meta + 8 * i, failed[i]);
        unsigned char *sz = meta + nfailed * 8, *d = sz + count * 8;
        for (uint64_t i = 0; i < count; i++) {
            size_t s = vres[i].data ? vres[i].size : 0;
            put64(sz + 8 * i, s);
            if (s) memcpy(d, vres[i].data, s);
            d += s;
        }
        struct iovec body[2] = {{pre, JR_CHUNK_FIXED}, {meta, bytes}};
        rc = append(j, JR_CHUNK, body, 2, err, errsz);
    }
    free(meta);
    return rc;
nomem:
    snprintf(err, errsz, "journal '%s': out of memory for a record", jname(j));
    return MPIPOOL_ENOMEM;
}


int mpipool__journal_append_kill(mpipool__journal *j, uint64_t seq, uint64_t item, int kind, int rank, const char *text,
                                 char *err, size_t errsz) {
    size_t tlen = strlen(text);
    if (tlen > JR_TEXT_MAX) tlen = JR_TEXT_MAX;
    unsigned char b[JR_KILL_FIXED];
    put64(b, seq);
    put64(b + 8, item);
    put32(b + 16, (uint32_t)kind);
    put32(b + 20, (uint32_t)rank);
    put32(b + 24, (uint32_t)tlen);
    put32(b + 28, 0);
    struct iovec body[2] = {{b, JR_KILL_FIXED}, {(void *)(uintptr_t)text, tlen}};
    int rc = append(j, JR_KILL, body, 2, err, errsz);
    /* Rare, and what stops the next run from dying on the item again:
     * on disk before anyone is told it is noted. */
    return rc == MPIPOOL_OK ? mpipool__journal_sync(j, err, errsz) : rc;
}
