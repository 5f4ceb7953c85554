/*
 * journal_impl.h — what the journal's own files share, and nobody else
 * includes (everyone else uses journal.h): the record layout's constants,
 * the journal object, the little-endian fields and the few helpers every
 * part reads records with.
 *
 *   journal_hash.c  the 64-bit hash (checksums, input digests)
 *   journal_scan.c  reading and checking a whole file at open: the index
 *                   of maps and chunks
 *   journal.c       the object's life, and writing: open, begin, append,
 *                   sync, close
 *   journal_read.c  reading results back: replay, pieces, read_var, and
 *                   the items that ended a worker (kills)
 *
 * Calls go journal_read.c -> journal.c -> journal_scan.c, never back.
 */
#ifndef MPIPOOL_JOURNAL_IMPL_H
#define MPIPOOL_JOURNAL_IMPL_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "journal.h"
#include "progid.h"

#define JR_MAGIC 0x524a504du /* "MPJR" little-endian */
#define JR_HDR 24
#define JR_TRAILER 8
#define JR_HEAD 1
#define JR_MAP 2
#define JR_CHUNK 3
#define JR_KILL 4
#define JR_VERSION 3      /* what new files are; 2 (no KILL records yet) is read too */
#define JR_MAP_FIXED 48   /* body bytes of a MAP record before the name */
#define JR_CHUNK_FIXED 40 /* body bytes of a CHUNK record before failed[] */
#define JR_KILL_FIXED 32  /* body bytes of a KILL record before its text */
#define JR_TEXT_MAX 1024  /* a KILL record's text, at most */
#define JR_BLOCK ((size_t)1 << 20)
#define JR_NAME_MAX 4096
#define JR_CODE_MAX MPIPOOL__PROGID_MAX
/* Fuzzing builds (the libFuzzer convention) accept bad checksums, so that
 * mutated bytes reach the parsers behind them. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define JR_CHECKSUMS_MATTER 0
#else
#define JR_CHECKSUMS_MATTER 1
#endif

/* ---- the journal object ------------------------------------------------- */

typedef struct {
    uint64_t off, len; /* of the body */
} jchunk;

typedef struct {
    uint64_t seq, n, in_size, out_size, digest;
    char *name;
    char *code;              /* the program's identity that wrote it */
    jchunk *chunks;
    size_t nchunks, cap;
    jchunk *kills;           /* its KILL records (journal.h), in file order */
    size_t nkills, capkills;
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

/* journal_scan.c */
/* Read every record of [0, total).  Sets j->size to the end of the last
 * intact one and j->torn if a torn tail follows it. */
int mpipool__jr_scan(mpipool__journal *j, uint64_t total, char *err, size_t errsz);
/* A new, zeroed entry at the end of j->maps (NULL: out of memory). */
jmap *mpipool__jr_add_map(mpipool__journal *j);
void mpipool__jr_free_maps(mpipool__journal *j);

/* ---- little-endian fields ----------------------------------------------- */

static inline void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline void put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint32_t get32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static inline uint64_t get64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* ---- shared helpers ----------------------------------------------------- */

static inline const char *jname(const mpipool__journal *j) { return j->path ? j->path : "(memory)"; }

/* MPIPOOL_EJOURNAL, with "journal 'path': <fmt with detail> at offset N". */
static inline int fail(const mpipool__journal *j, char *err, size_t errsz, const char *fmt, const char *detail,
                       uint64_t off) {
    char what[256];
    snprintf(what, sizeof what, fmt, detail);
    snprintf(err, errsz, "journal '%s': %s at offset %llu", jname(j), what, (unsigned long long)off);
    return MPIPOOL_EJOURNAL;
}

static inline int read_at(const mpipool__journal *j, uint64_t off, void *buf, size_t len) {
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

static inline jmap *find_map(const mpipool__journal *j, uint64_t seq) {
    /* Maps are begun in order, so maps[seq] is map seq, in O(1) even for a
     * program of a million applies; only an odd file needs the search. */
    if (!j->sparse) return seq < j->nmaps ? &j->maps[seq] : NULL;
    for (size_t i = 0; i < j->nmaps; i++)
        if (j->maps[i].seq == seq) return &j->maps[i];
    return NULL;
}

#endif
