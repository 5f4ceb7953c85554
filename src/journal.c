/*
 * journal.c — reading, checking and appending the journal file (format in
 * journal.h).  No MPI: the engine calls in through resume.c.
 *
 * Invariant: the file always ends with an intact record once open
 * returns (a torn tail is cut off first), and every record is appended with
 * a single write(), so a process killed at any moment leaves at most one
 * torn record, at the end, which the next open ignores.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "journal.h"

#define MAGIC 0x524a504du /* "MPJR" little-endian */
#define HDR 24
#define TRAILER 8
#define T_HEAD 1
#define T_MAP 2
#define T_CHUNK 3
#define VERSION 1
#define MAP_FIXED 44    /* body bytes of a MAP record before the name */
#define CHUNK_FIXED 40  /* body bytes of a CHUNK record before failed[] */
#define BLOCK ((size_t)1 << 20)
#define NAME_MAX_LEN 4096
/* Fuzzing builds (the libFuzzer convention) accept bad checksums, so that
 * mutated bytes reach the parsers behind them. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define CHECKSUMS_MATTER 0
#else
#define CHECKSUMS_MATTER 1
#endif

/* ---- hash --------------------------------------------------------------- */

#define P1 0x9e3779b185ebca87ull
#define P2 0xc2b2ae3d27d4eb4full

static uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static uint64_t mix(uint64_t h, uint64_t w) {
    h ^= rotl(w * P2, 31) * P1;
    return rotl(h, 27) * P1 + 0x85ebca77c2b2ae63ull;
}

void mpipool__hash_init(mpipool__hasher *s) { memset(s, 0, sizeof *s), s->h = 0x27d4eb2f165667c5ull; }

void mpipool__hash_update(mpipool__hasher *s, const void *p, size_t len) {
    const unsigned char *b = p;
    s->total += len;
    while (len > 0 && s->nbuf > 0) {
        s->buf[s->nbuf++] = *b++;
        len--;
        if (s->nbuf == 8) {
            uint64_t w;
            memcpy(&w, s->buf, 8);
            s->h = mix(s->h, w);
            s->nbuf = 0;
        }
    }
    for (; len >= 8; b += 8, len -= 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        s->h = mix(s->h, w);
    }
    while (len-- > 0) s->buf[s->nbuf++] = *b++;
}

uint64_t mpipool__hash_final(const mpipool__hasher *s) {
    uint64_t h = s->h;
    for (unsigned i = 0; i < s->nbuf; i++) h = rotl(h ^ (s->buf[i] * P1), 11) * P2;
    h ^= s->total * P1;
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P1;
    h ^= h >> 32;
    return h;
}

uint64_t mpipool__hash(const void *p, size_t len) {
    mpipool__hasher s;
    mpipool__hash_init(&s);
    mpipool__hash_update(&s, p, len);
    return mpipool__hash_final(&s);
}

/* ---- little-endian fields ----------------------------------------------- */

static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static uint64_t get64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* ---- the journal object ------------------------------------------------- */

typedef struct {
    uint64_t off, len; /* of the body */
} jchunk;

typedef struct {
    uint64_t seq, n, in_size, out_size, digest;
    char *name;
    jchunk *chunks;
    size_t nchunks, cap;
} jmap;

struct mpipool__journal {
    char *path;
    int fd;                  /* -1: in memory, read-only */
    const unsigned char *mem;
    uint64_t size;           /* bytes of intact records   */
    int torn;
    jmap *maps;
    size_t nmaps, cap;
    int sparse;              /* some maps[i].seq != i (else found by index) */
    uint64_t dirty;          /* bytes written since the last sync */
    double dirty_since;      /* when the oldest of them was written */
    double last_sync;        /* when we last synced (0: never)       */
};

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static const char *jname(const mpipool__journal *j) { return j->path ? j->path : "(memory)"; }

static int fail(const mpipool__journal *j, char *err, size_t errsz, const char *fmt, const char *detail,
                uint64_t off) {
    char what[256];
    snprintf(what, sizeof what, fmt, detail);
    snprintf(err, errsz, "journal '%s': %s at offset %llu", jname(j), what, (unsigned long long)off);
    return MPIPOOL_EJOURNAL;
}

static int read_at(const mpipool__journal *j, uint64_t off, void *buf, size_t len) {
    if (j->fd < 0) {
        if (off > j->size || len > j->size - off) return -1;
        memcpy(buf, j->mem + off, len);
        return 0;
    }
    char *p = buf;
    while (len > 0) {
        ssize_t r = pread(j->fd, p, len, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        off += (uint64_t)r;
        len -= (size_t)r;
    }
    return 0;
}

static jmap *find_map(const mpipool__journal *j, uint64_t seq) {
    /* Maps are begun in order, so maps[seq] is map seq, in O(1) even for a
     * program of a million applies; only an odd file needs the search. */
    if (!j->sparse) return seq < j->nmaps ? &j->maps[seq] : NULL;
    for (size_t i = 0; i < j->nmaps; i++)
        if (j->maps[i].seq == seq) return &j->maps[i];
    return NULL;
}

static void free_maps(mpipool__journal *j) {
    for (size_t i = 0; i < j->nmaps; i++) {
        free(j->maps[i].name);
        free(j->maps[i].chunks);
    }
    free(j->maps);
    j->maps = NULL;
    j->nmaps = j->cap = 0;
}

static jmap *add_map(mpipool__journal *j) {
    if (j->nmaps == j->cap) {
        size_t ncap = j->cap ? 2 * j->cap : 8;
        jmap *m = realloc(j->maps, ncap * sizeof *m);
        if (m == NULL) return NULL;
        j->maps = m;
        j->cap = ncap;
    }
    jmap *m = &j->maps[j->nmaps++];
    memset(m, 0, sizeof *m);
    return m;
}

/* 1 if bytes [off, end) are all zero. */
static int zero_tail(const mpipool__journal *j, uint64_t off, uint64_t end) {
    unsigned char buf[4096];
    while (off < end) {
        size_t len = end - off < sizeof buf ? (size_t)(end - off) : sizeof buf;
        if (read_at(j, off, buf, len) != 0) return 0;
        for (size_t i = 0; i < len; i++)
            if (buf[i]) return 0;
        off += len;
    }
    return 1;
}

/* Check one record's checksum by reading header and body in blocks. */
static int check_sum(const mpipool__journal *j, uint64_t off, const unsigned char *hdr, uint64_t len,
                     unsigned char *block) {
    mpipool__hasher s;
    unsigned char t[8];
    mpipool__hash_init(&s);
    mpipool__hash_update(&s, hdr, 16);
    for (uint64_t done = 0; done < len;) {
        size_t n = len - done < BLOCK ? (size_t)(len - done) : BLOCK;
        if (read_at(j, off + HDR + done, block, n) != 0) return -1;
        mpipool__hash_update(&s, block, n);
        done += n;
    }
    if (read_at(j, off + HDR + len, t, 8) != 0) return -1;
    return get64(t) == mpipool__hash_final(&s) ? 0 : -1;
}

static int parse_map(mpipool__journal *j, uint64_t off, uint64_t len, char *err, size_t errsz) {
    unsigned char b[MAP_FIXED];
    if (len < MAP_FIXED) return fail(j, err, errsz, "%sa map record is too short", "", off);
    if (read_at(j, off + HDR, b, MAP_FIXED) != 0) return fail(j, err, errsz, "%scannot read", "", off);
    uint32_t nlen = get32(b + 40);
    if (nlen == 0 || nlen > NAME_MAX_LEN || (uint64_t)nlen != len - MAP_FIXED)
        return fail(j, err, errsz, "%sa map record's name length does not match the record", "", off);
    uint64_t seq = get64(b);
    if (find_map(j, seq)) return fail(j, err, errsz, "%sa second record for the same map", "", off);
    char *name = malloc((size_t)nlen + 1);
    if (name == NULL) return MPIPOOL_ENOMEM;
    if (read_at(j, off + HDR + MAP_FIXED, name, nlen) != 0) {
        free(name);
        return fail(j, err, errsz, "%scannot read", "", off);
    }
    name[nlen] = '\0';
    if (memchr(name, '\0', nlen)) {
        free(name);
        return fail(j, err, errsz, "%sa task name with a NUL byte", "", off);
    }
    jmap *m = add_map(j);
    if (m == NULL) {
        free(name);
        return MPIPOOL_ENOMEM;
    }
    m->seq = seq;
    if (seq != j->nmaps - 1) j->sparse = 1;
    m->n = get64(b + 8);
    m->in_size = get64(b + 16);
    m->out_size = get64(b + 24);
    m->digest = get64(b + 32);
    m->name = name;
    if (m->out_size == 0) return fail(j, err, errsz, "%sa map with results of 0 bytes", "", off);
    return MPIPOOL_OK;
}

static int parse_chunk(mpipool__journal *j, uint64_t off, uint64_t len, char *err, size_t errsz) {
    unsigned char b[CHUNK_FIXED];
    if (len < CHUNK_FIXED) return fail(j, err, errsz, "%sa chunk record is too short", "", off);
    if (read_at(j, off + HDR, b, CHUNK_FIXED) != 0) return fail(j, err, errsz, "%scannot read", "", off);
    uint64_t seq = get64(b), first = get64(b + 8), count = get64(b + 16), osz = get64(b + 24),
             nfailed = get64(b + 32);
    jmap *m = find_map(j, seq);
    if (m == NULL) return fail(j, err, errsz, "%sa chunk of a map the journal never began", "", off);
    if (osz != m->out_size) return fail(j, err, errsz, "%sa chunk whose result size is not its map's", "", off);
    if (first > m->n || count > m->n - first)
        return fail(j, err, errsz, "%sa chunk of items beyond its map's end", "", off);
    uint64_t rest = len - CHUNK_FIXED;
    if (nfailed > count || nfailed > rest / 8)
        return fail(j, err, errsz, "%sa chunk with more failed items than items", "", off);
    rest -= nfailed * 8;
    if (osz == UINT64_MAX) {
        if (count > rest / 8) return fail(j, err, errsz, "%sa chunk too short for its sizes", "", off);
    } else if (count > UINT64_MAX / osz || rest != count * osz) {
        return fail(j, err, errsz, "%sa chunk whose length does not match its results", "", off);
    }
    if (m->nchunks == m->cap) {
        size_t ncap = m->cap ? 2 * m->cap : 16;
        jchunk *c = realloc(m->chunks, ncap * sizeof *c);
        if (c == NULL) return MPIPOOL_ENOMEM;
        m->chunks = c;
        m->cap = ncap;
    }
    m->chunks[m->nchunks++] = (jchunk){off + HDR, len};
    return MPIPOOL_OK;
}

/* Read every record of [0, total).  Sets j->size to the end of the last
 * intact one and j->torn if a torn tail follows it. */
static int scan(mpipool__journal *j, uint64_t total, char *err, size_t errsz) {
    uint64_t off = 0;
    int rc = MPIPOOL_OK;
    unsigned char *block = malloc(BLOCK);
    if (block == NULL) return MPIPOOL_ENOMEM;
    j->size = total; /* read_at (memory) bounds */
    while (off < total) {
        unsigned char h[HDR];
        uint64_t rem = total - off;
        if (rem < HDR) {
            /* A first record cut short must at least start like one: never
             * cut a small file that is not a journal down to nothing. */
            unsigned char m[4], want[4];
            size_t k = rem < 4 ? (size_t)rem : 4;
            put32(want, MAGIC);
            if (off == 0 && (read_at(j, 0, m, k) != 0 || memcmp(m, want, k) != 0) && !zero_tail(j, 0, total)) {
                rc = fail(j, err, errsz, "%snot an mpipool journal (bad magic)", "", off);
                goto cleanup;
            }
            goto torn;
        }
        if (read_at(j, off, h, HDR) != 0) {
            rc = fail(j, err, errsz, "%scannot read", "", off);
            goto cleanup;
        }
        uint32_t magic = get32(h), type = get32(h + 4);
        uint64_t len = get64(h + 8);
        if (magic != MAGIC || (CHECKSUMS_MATTER && get64(h + 16) != mpipool__hash(h, 16))) {
            if (zero_tail(j, off, total)) goto torn;
            rc = fail(j, err, errsz, off == 0 ? "%snot an mpipool journal (bad magic)" : "%sa damaged record header", "",
                      off);
            goto cleanup;
        }
        if (len > rem - HDR || rem - HDR - len < TRAILER) goto torn; /* cut short by a crash */
        if (check_sum(j, off, h, len, block) != 0 && CHECKSUMS_MATTER) {
            rc = fail(j, err, errsz, "%sa record that fails its checksum (corrupted)", "", off);
            goto cleanup;
        }
        if ((off == 0) != (type == T_HEAD)) {
            rc = fail(j, err, errsz, off == 0 ? "%snot an mpipool journal (no header record)" : "%sa second header record",
                      "", off);
            goto cleanup;
        }
        if (type == T_HEAD) {
            unsigned char v[8];
            if (len != 8 || read_at(j, off + HDR, v, 8) != 0 || get32(v) != VERSION || get32(v + 4) != 0) {
                rc = fail(j, err, errsz, "%sa journal of another format version", "", off);
                goto cleanup;
            }
        } else if (type == T_MAP) {
            rc = parse_map(j, off, len, err, errsz);
        } else if (type == T_CHUNK) {
            rc = parse_chunk(j, off, len, err, errsz);
        } else {
            rc = fail(j, err, errsz, "%sa record of unknown type", "", off);
        }
        if (rc != MPIPOOL_OK) goto cleanup;
        off += HDR + len + TRAILER;
    }
    j->size = off;
    goto cleanup;
torn:
    j->size = off;
    j->torn = 1;
cleanup:
    free(block);
    return rc;
}

static mpipool__journal *journal_new(void) {
    mpipool__journal *j = calloc(1, sizeof *j);
    if (j) j->fd = -1;
    return j;
}

static void journal_free(mpipool__journal *j) {
    if (j == NULL) return;
    free_maps(j);
    free(j->path);
    free(j);
}

/* One record: header, body pieces, checksum, in one writev. */
static int append(mpipool__journal *j, uint32_t type, const struct iovec *body, int nbody, char *err,
                  size_t errsz) {
    unsigned char h[HDR], t[TRAILER];
    struct iovec iov[8];
    uint64_t len = 0;
    mpipool__hasher s;
    if (j->fd < 0) {
        snprintf(err, errsz, "journal '%s' is read-only", jname(j));
        return MPIPOOL_EJOURNAL;
    }
    for (int i = 0; i < nbody; i++) len += body[i].iov_len;
    put32(h, MAGIC);
    put32(h + 4, type);
    put64(h + 8, len);
    put64(h + 16, mpipool__hash(h, 16));
    mpipool__hash_init(&s);
    mpipool__hash_update(&s, h, 16);
    for (int i = 0; i < nbody; i++) mpipool__hash_update(&s, body[i].iov_base, body[i].iov_len);
    put64(t, mpipool__hash_final(&s));
    iov[0] = (struct iovec){h, HDR};
    for (int i = 0; i < nbody; i++) iov[1 + i] = body[i];
    iov[1 + nbody] = (struct iovec){t, TRAILER};
    size_t total = HDR + (size_t)len + TRAILER, done = 0;
    int cnt = nbody + 2, first = 0;
    while (done < total) {
        ssize_t w = writev(j->fd, iov + first, cnt - first);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int e = errno;
            /* Leave no half record behind for the next append to follow. */
            if (ftruncate(j->fd, (off_t)j->size) != 0) {}
            snprintf(err, errsz, "journal '%s': cannot write: %s", jname(j), w < 0 ? strerror(e) : "short write");
            return MPIPOOL_EJOURNAL;
        }
        done += (size_t)w;
        /* A short write (rare on regular files): go on where it stopped. */
        size_t skip = (size_t)w;
        while (first < cnt && skip >= iov[first].iov_len) skip -= iov[first++].iov_len;
        if (first < cnt) {
            iov[first].iov_base = (char *)iov[first].iov_base + skip;
            iov[first].iov_len -= skip;
        }
    }
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
    rc = scan(j, (uint64_t)st.st_size, err, errsz);
    if (rc != MPIPOOL_OK) goto cleanup;
    if (j->torn && ftruncate(j->fd, (off_t)j->size) != 0) {
        snprintf(err, errsz, "journal '%s': cannot cut off its torn last record: %s", path, strerror(errno));
        rc = MPIPOOL_EJOURNAL;
        goto cleanup;
    }
    if (j->size == 0) {
        unsigned char v[8];
        put32(v, VERSION);
        put32(v + 4, 0);
        struct iovec b = {v, 8};
        rc = append(j, T_HEAD, &b, 1, err, errsz);
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
    int rc = scan(j, len, err, errsz);
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

int mpipool__journal_begin(mpipool__journal *j, const mpipool__jkey *k, char *err, size_t errsz) {
    jmap *m = find_map(j, k->seq);
    if (m) {
        if (strcmp(m->name, k->fn) == 0 && m->n == k->n && m->in_size == k->in_size && m->out_size == k->out_size &&
            m->digest == k->digest)
            return 1;
        char was[200], is[200];
        describe(was, sizeof was, m->name, m->n, m->in_size, m->out_size, m->digest);
        describe(is, sizeof is, k->fn, k->n, k->in_size, k->out_size, k->digest);
        snprintf(err, errsz, "journal '%s' belongs to another job: its map #%llu ran %s; this map runs %s "
                 "(use another journal file, or delete this one to start over)", jname(j),
                 (unsigned long long)k->seq, was, is);
        return MPIPOOL_EJOURNAL;
    }
    size_t nlen = strlen(k->fn);
    if (nlen == 0 || nlen > NAME_MAX_LEN) {
        snprintf(err, errsz, "journal '%s': task name of %zu bytes", jname(j), nlen);
        return MPIPOOL_EJOURNAL;
    }
    unsigned char b[MAP_FIXED];
    put64(b, k->seq);
    put64(b + 8, k->n);
    put64(b + 16, k->in_size);
    put64(b + 24, k->out_size);
    put64(b + 32, k->digest);
    put32(b + 40, (uint32_t)nlen);
    struct iovec body[2] = {{b, MAP_FIXED}, {(void *)(uintptr_t)k->fn, nlen}};
    int rc = append(j, T_MAP, body, 2, err, errsz);
    if (rc != MPIPOOL_OK) return rc;
    /* Index it, so a second begin of the same seq is caught. */
    jmap *nm = add_map(j);
    char *name = strdup(k->fn);
    if (nm == NULL || name == NULL) {
        if (nm) j->nmaps--;
        free(name);
        snprintf(err, errsz, "journal '%s': out of memory", jname(j));
        return MPIPOOL_ENOMEM;
    }
    *nm = (jmap){k->seq, k->n, k->in_size, k->out_size, k->digest, name, NULL, 0, 0};
    if (k->seq != j->nmaps - 1) j->sparse = 1;
    return 0;
}

int mpipool__journal_replay(mpipool__journal *j, uint64_t seq, void *fixed_out, mpipool__jitem_fn cb, void *ctx,
                            char *err, size_t errsz) {
    jmap *m = find_map(j, seq);
    int rc = MPIPOOL_OK;
    unsigned char *body = NULL, *failed_flag = NULL;
    if (m == NULL) return MPIPOOL_OK;
    int fixed = m->out_size != UINT64_MAX;
    for (size_t c = 0; c < m->nchunks && rc == MPIPOOL_OK; c++) {
        uint64_t off = m->chunks[c].off, len = m->chunks[c].len;
        unsigned char pre[CHUNK_FIXED];
        if (read_at(j, off, pre, CHUNK_FIXED) != 0) {
            rc = fail(j, err, errsz, "%scannot read", "", off - HDR);
            break;
        }
        uint64_t first = get64(pre + 8), count = get64(pre + 16), nfailed = get64(pre + 32);
        /* Everything but the fixed results: failed[] and, for variable
         * results, sizes and data. */
        uint64_t meta = fixed ? nfailed * 8 : len - CHUNK_FIXED;
        unsigned char *nb = realloc(body, meta ? (size_t)meta : 1);
        unsigned char *nf = realloc(failed_flag, count ? (size_t)count : 1);
        if (nb) body = nb;
        if (nf) failed_flag = nf;
        if (nb == NULL || nf == NULL) {
            rc = MPIPOOL_ENOMEM;
            snprintf(err, errsz, "journal '%s': out of memory to replay a chunk", jname(j));
            break;
        }
        if (read_at(j, off + CHUNK_FIXED, body, (size_t)meta) != 0) {
            rc = fail(j, err, errsz, "%scannot read", "", off - HDR);
            break;
        }
        memset(failed_flag, 0, (size_t)count);
        for (uint64_t i = 0; i < nfailed; i++) {
            uint64_t idx = get64(body + 8 * i);
            if (idx < first || idx - first >= count) {
                rc = fail(j, err, errsz, "%sa failed item outside its chunk", "", off - HDR);
                break;
            }
            failed_flag[idx - first] = 1;
        }
        if (rc != MPIPOOL_OK) break;
        if (fixed) {
            size_t osz = (size_t)m->out_size;
            if (fixed_out) {
                if (read_at(j, off + CHUNK_FIXED + nfailed * 8, (char *)fixed_out + first * osz,
                            (size_t)(count * osz)) != 0) {
                    rc = fail(j, err, errsz, "%scannot read", "", off - HDR);
                    break;
                }
                for (uint64_t i = 0; i < count && rc == MPIPOOL_OK; i++)
                    if (!failed_flag[i]) rc = cb(ctx, first + i, NULL, osz);
            } else if (count > 0) {
                /* Item by item, through a buffer of one result (count > 0:
                 * then osz <= the record's length). */
                unsigned char *one = malloc(osz);
                if (one == NULL) {
                    rc = MPIPOOL_ENOMEM;
                    break;
                }
                for (uint64_t i = 0; i < count && rc == MPIPOOL_OK; i++) {
                    if (failed_flag[i]) continue;
                    if (read_at(j, off + CHUNK_FIXED + nfailed * 8 + i * osz, one, osz) != 0)
                        rc = fail(j, err, errsz, "%scannot read", "", off - HDR);
                    else
                        rc = cb(ctx, first + i, one, osz);
                }
                free(one);
            }
        } else {
            const unsigned char *sizes = body + nfailed * 8;
            uint64_t avail = meta - nfailed * 8 - count * 8, total = 0;
            for (uint64_t i = 0; i < count; i++) {
                uint64_t sz = get64(sizes + 8 * i);
                if (sz > avail - total) {
                    rc = fail(j, err, errsz, "%sa chunk whose sizes exceed its record", "", off - HDR);
                    break;
                }
                total += sz;
            }
            if (rc == MPIPOOL_OK && total != avail)
                rc = fail(j, err, errsz, "%sa chunk whose sizes do not add up to its record", "", off - HDR);
            const unsigned char *data = sizes + count * 8;
            for (uint64_t i = 0; i < count && rc == MPIPOOL_OK; i++) {
                size_t sz = (size_t)get64(sizes + 8 * i);
                if (!failed_flag[i]) rc = cb(ctx, first + i, data, sz);
                data += sz;
            }
        }
    }
    free(body);
    free(failed_flag);
    return rc;
}

int mpipool__journal_append_chunk(mpipool__journal *j, uint64_t seq, uint64_t first, uint64_t count,
                                  uint64_t out_size, const void *results, const mpipool_buf *vres,
                                  const uint64_t *failed, uint64_t nfailed, char *err, size_t errsz) {
    unsigned char pre[CHUNK_FIXED];
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
        struct iovec body[3] = {{pre, CHUNK_FIXED}, {meta, (size_t)nfailed * 8},
                                {(void *)(uintptr_t)results, (size_t)(count * out_size)}};
        rc = append(j, T_CHUNK, body, 3, err, errsz);
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
        struct iovec body[2] = {{pre, CHUNK_FIXED}, {meta, bytes}};
        rc = append(j, T_CHUNK, body, 2, err, errsz);
    }
    free(meta);
    return rc;
nomem:
    snprintf(err, errsz, "journal '%s': out of memory for a record", jname(j));
    return MPIPOOL_ENOMEM;
}

int mpipool__journal_pieces(mpipool__journal *j, uint64_t seq, mpipool__jpiece_fn cb, void *ctx, char *err,
                            size_t errsz) {
    jmap *m = find_map(j, seq);
    int rc = MPIPOOL_OK;
    unsigned char *fl = NULL;
    if (m == NULL) return MPIPOOL_OK;
    for (size_t c = 0; c < m->nchunks && rc == MPIPOOL_OK; c++) {
        uint64_t off = m->chunks[c].off;
        unsigned char pre[CHUNK_FIXED], f[8];
        if (read_at(j, off, pre, CHUNK_FIXED) != 0) return fail(j, err, errsz, "%scannot read", "", off - HDR);
        uint64_t first = get64(pre + 8), count = get64(pre + 16), nfailed = get64(pre + 32);
        unsigned char *nf = realloc(fl, count ? (size_t)count : 1);
        if (nf == NULL) {
            free(fl);
            snprintf(err, errsz, "journal '%s': out of memory to index a chunk", jname(j));
            return MPIPOOL_ENOMEM;
        }
        fl = nf;
        memset(fl, 0, (size_t)count);
        for (uint64_t i = 0; i < nfailed; i++) {
            if (read_at(j, off + CHUNK_FIXED + 8 * i, f, 8) != 0) {
                rc = fail(j, err, errsz, "%scannot read", "", off - HDR);
                break;
            }
            uint64_t idx = get64(f);
            if (idx < first || idx - first >= count) {
                rc = fail(j, err, errsz, "%sa failed item outside its chunk", "", off - HDR);
                break;
            }
            fl[idx - first] = 1;
        }
        /* The runs of items with a result. */
        for (uint64_t i = 0; i < count && rc == MPIPOOL_OK;) {
            if (fl[i]) {
                i++;
                continue;
            }
            uint64_t k = i;
            while (k < count && !fl[k]) k++;
            rc = cb(ctx, first + i, k - i, c);
            i = k;
        }
    }
    free(fl);
    return rc;
}

int mpipool__journal_read_var(mpipool__journal *j, uint64_t seq, size_t chunk, uint64_t first, uint64_t count,
                              char **buf, const uint64_t **sizes, const char **data, char *err, size_t errsz) {
    jmap *m = find_map(j, seq);
    *buf = NULL;
    if (m == NULL || chunk >= m->nchunks || m->out_size != UINT64_MAX) {
        snprintf(err, errsz, "journal '%s': no such variable-size chunk", jname(j));
        return MPIPOOL_EJOURNAL;
    }
    uint64_t off = m->chunks[chunk].off, len = m->chunks[chunk].len;
    unsigned char pre[CHUNK_FIXED];
    if (read_at(j, off, pre, CHUNK_FIXED) != 0) return fail(j, err, errsz, "%scannot read", "", off - HDR);
    uint64_t cfirst = get64(pre + 8), ccount = get64(pre + 16), nfailed = get64(pre + 32);
    if (first < cfirst || first - cfirst > ccount || count > ccount - (first - cfirst))
        return fail(j, err, errsz, "%sitems asked for outside a chunk", "", off - HDR);
    uint64_t meta = len - CHUNK_FIXED; /* parse_chunk: >= (nfailed + ccount) * 8 */
    char *b = malloc(meta ? (size_t)meta : 1);
    if (b == NULL) {
        snprintf(err, errsz, "journal '%s': out of memory to read a chunk", jname(j));
        return MPIPOOL_ENOMEM;
    }
    if (read_at(j, off + CHUNK_FIXED, b, (size_t)meta) != 0) {
        free(b);
        return fail(j, err, errsz, "%scannot read", "", off - HDR);
    }
    unsigned char *sz = (unsigned char *)b + nfailed * 8;
    uint64_t avail = meta - nfailed * 8 - ccount * 8, total = 0, before = 0;
    for (uint64_t i = 0; i < ccount; i++) {
        uint64_t v = get64(sz + 8 * i);
        if (v > avail - total) {
            free(b);
            return fail(j, err, errsz, "%sa chunk whose sizes exceed its record", "", off - HDR);
        }
        total += v;
        if (i < first - cfirst) before += v;
        memcpy(sz + 8 * i, &v, 8); /* host order, in place (8-aligned) */
    }
    if (total != avail) {
        free(b);
        return fail(j, err, errsz, "%sa chunk whose sizes do not add up to its record", "", off - HDR);
    }
    *buf = b;
    *sizes = (const uint64_t *)(const void *)(sz + 8 * (first - cfirst));
    *data = (const char *)sz + ccount * 8 + before;
    return MPIPOOL_OK;
}

static int count_item(void *ctx, uint64_t index, const void *data, size_t size) {
    (void)index;
    (void)data;
    (void)size;
    ++*(uint64_t *)ctx;
    return 0;
}

int mpipool__journal_check_bytes(const void *p, size_t len, char *err, size_t errsz) {
    mpipool__journal *j;
    int rc = mpipool__journal_open_mem(p, len, &j, err, errsz);
    if (rc != MPIPOOL_OK) return rc;
    for (size_t i = 0; i < j->nmaps && rc == MPIPOOL_OK; i++) {
        jmap *m = &j->maps[i];
        uint64_t items = 0;
        void *out = NULL;
        /* The straight-into-place path too, when the map is small. */
        if (m->out_size <= ((uint64_t)1 << 20) && m->n <= ((uint64_t)1 << 20) / m->out_size)
            out = calloc((size_t)m->n + 1, (size_t)m->out_size);
        rc = mpipool__journal_replay(j, m->seq, NULL, count_item, &items, err, errsz);
        if (rc == MPIPOOL_OK && out) rc = mpipool__journal_replay(j, m->seq, out, count_item, &items, err, errsz);
        free(out);
    }
    mpipool__journal_close(j);
    return rc;
}
