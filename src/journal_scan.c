/*
 * journal_scan.c — reading a journal file at open (format in journal.h):
 * every record is checked (header check, checksum, that its body parses)
 * and indexed: which maps the file holds and where each one's chunks are.
 * Results themselves are not read here (journal_read.c does, on demand).
 *
 * Invariant: what scan accepts is safe to index and read back — a chunk
 * belongs to a map begun before it, lies inside that map's items, and its
 * length matches its results — and scan ends at the last intact record: a
 * torn tail (the file ending inside a record, or zero bytes) is only
 * measured, for open to cut off.
 */
#include <stdlib.h>
#include <string.h>
#include "journal_impl.h"

void mpipool__jr_free_maps(mpipool__journal *j) {
    for (size_t i = 0; i < j->nmaps; i++) {
        free(j->maps[i].name);
        free(j->maps[i].code);
        free(j->maps[i].chunks);
        free(j->maps[i].kills);
    }
    free(j->maps);
    j->maps = NULL;
    j->nmaps = j->cap = 0;
}

jmap *mpipool__jr_add_map(mpipool__journal *j) {
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
        size_t n = len - done < JR_BLOCK ? (size_t)(len - done) : JR_BLOCK;
        if (read_at(j, off + JR_HDR + done, block, n) != 0) return -1;
        mpipool__hash_update(&s, block, n);
        done += n;
    }
    if (read_at(j, off + JR_HDR + len, t, 8) != 0) return -1;
    return get64(t) == mpipool__hash_final(&s) ? 0 : -1;
}

/* A string of `len` bytes at `at` (a task name or a code identity) into a
 * new NUL-terminated *out; one with a NUL byte in it is refused. */
static int read_str(const mpipool__journal *j, uint64_t at, uint32_t len, char **out, const char *what, uint64_t off,
                    char *err, size_t errsz) {
    char *s = malloc((size_t)len + 1);
    *out = NULL;
    if (s == NULL) return MPIPOOL_ENOMEM;
    if (read_at(j, at, s, len) != 0) {
        free(s);
        return fail(j, err, errsz, "%scannot read", "", off);
    }
    s[len] = '\0';
    if (memchr(s, '\0', len)) {
        free(s);
        return fail(j, err, errsz, "%s with a NUL byte", what, off);
    }
    *out = s;
    return MPIPOOL_OK;
}

static int parse_map(mpipool__journal *j, uint64_t off, uint64_t len, char *err, size_t errsz) {
    unsigned char b[JR_MAP_FIXED];
    char *name = NULL, *code = NULL;
    if (len < JR_MAP_FIXED) return fail(j, err, errsz, "%sa map record is too short", "", off);
    if (read_at(j, off + JR_HDR, b, JR_MAP_FIXED) != 0) return fail(j, err, errsz, "%scannot read", "", off);
    uint32_t nlen = get32(b + 40), clen = get32(b + 44);
    if (nlen == 0 || nlen > JR_NAME_MAX || clen > JR_CODE_MAX || (uint64_t)nlen + clen != len - JR_MAP_FIXED)
        return fail(j, err, errsz, "%sa map record's name or code length does not match the record", "", off);
    uint64_t seq = get64(b);
    if (find_map(j, seq)) return fail(j, err, errsz, "%sa second record for the same map", "", off);
    int rc = read_str(j, off + JR_HDR + JR_MAP_FIXED, nlen, &name, "a task name", off, err, errsz);
    if (rc == MPIPOOL_OK) rc = read_str(j, off + JR_HDR + JR_MAP_FIXED + nlen, clen, &code, "a code identity", off, err,
                                        errsz);
    jmap *m = rc == MPIPOOL_OK ? mpipool__jr_add_map(j) : NULL;
    if (m == NULL) {
        free(name);
        free(code);
        return rc == MPIPOOL_OK ? MPIPOOL_ENOMEM : rc;
    }
    m->seq = seq;
    if (seq != j->nmaps - 1) j->sparse = 1;
    m->n = get64(b + 8);
    m->in_size = get64(b + 16);
    m->out_size = get64(b + 24);
    m->digest = get64(b + 32);
    m->name = name;
    m->code = code;
    if (m->out_size == 0) return fail(j, err, errsz, "%sa map with results of 0 bytes", "", off);
    return MPIPOOL_OK;
}

/* The HEAD record (first in every file): this format's version, else a
 * message that says what to do. */
static int parse_head(const mpipool__journal *j, uint64_t off, uint64_t len, char *err, size_t errsz) {
    unsigned char v[8];
    if (len != 8 || read_at(j, off + JR_HDR, v, 8) != 0 || get32(v + 4) != 0)
        return fail(j, err, errsz, "%sa journal of another format version", "", off);
    if (get32(v) == 1) {
        snprintf(err, errsz, "journal '%s' was written by an older mpipool (journal format 1, which did not record "
                 "which build of the program wrote it; this mpipool reads format %d); delete it to start over, or "
                 "finish the job with the mpipool that wrote it", jname(j), JR_VERSION);
        return MPIPOOL_EJOURNAL;
    }
    if (get32(v) != JR_VERSION && get32(v) != 2) /* 2: before KILL records, read as is */
        return fail(j, err, errsz, "%sa journal of another format version", "", off);
    return MPIPOOL_OK;
}

/* Where map m's record at `off` (`len` body bytes) is: in (*list)[*n]. */
static int add_rec(jchunk **list, size_t *n, size_t *cap, uint64_t off, uint64_t len) {
    if (*n == *cap) {
        size_t ncap = *cap ? 2 * *cap : 16;
        jchunk *c = realloc(*list, ncap * sizeof *c);
        if (c == NULL) return MPIPOOL_ENOMEM;
        *list = c;
        *cap = ncap;
    }
    (*list)[(*n)++] = (jchunk){off + JR_HDR, len};
    return MPIPOOL_OK;
}

/* A KILL record: of a map begun before it, an item inside that map, a
 * known kind, and a text that fills the rest (read by journal_kills). */
static int parse_kill(mpipool__journal *j, uint64_t off, uint64_t len, char *err, size_t errsz) {
    unsigned char b[JR_KILL_FIXED];
    if (len < JR_KILL_FIXED) return fail(j, err, errsz, "%sa kill record is too short", "", off);
    if (read_at(j, off + JR_HDR, b, JR_KILL_FIXED) != 0) return fail(j, err, errsz, "%scannot read", "", off);
    jmap *m = find_map(j, get64(b));
    uint32_t kind = get32(b + 16), tlen = get32(b + 24);
    if (m == NULL) return fail(j, err, errsz, "%sa kill record of a map the journal never began", "", off);
    if (get64(b + 8) >= m->n) return fail(j, err, errsz, "%sa kill record of an item beyond its map's end", "", off);
    if (kind < MPIPOOL__JKILL_CRASH || kind > MPIPOOL__JKILL_DIED || get32(b + 28) != 0)
        return fail(j, err, errsz, "%sa kill record of an unknown kind", "", off);
    if (tlen > JR_TEXT_MAX || tlen != len - JR_KILL_FIXED)
        return fail(j, err, errsz, "%sa kill record whose text length does not match the record", "", off);
    return add_rec(&m->kills, &m->nkills, &m->capkills, off, len);
}

static int parse_chunk(mpipool__journal *j, uint64_t off, uint64_t len, char *err, size_t errsz) {
    unsigned char b[JR_CHUNK_FIXED];
    if (len < JR_CHUNK_FIXED) return fail(j, err, errsz, "%sa chunk record is too short", "", off);
    if (read_at(j, off + JR_HDR, b, JR_CHUNK_FIXED) != 0) return fail(j, err, errsz, "%scannot read", "", off);
    uint64_t seq = get64(b), first = get64(b + 8), count = get64(b + 16), osz = get64(b + 24),
             nfailed = get64(b + 32);
    jmap *m = find_map(j, seq);
    if (m == NULL) return fail(j, err, errsz, "%sa chunk of a map the journal never began", "", off);
    if (osz != m->out_size) return fail(j, err, errsz, "%sa chunk whose result size is not its map's", "", off);
    if (first > m->n || count > m->n - first)
        return fail(j, err, errsz, "%sa chunk of items beyond its map's end", "", off);
    uint64_t rest = len - JR_CHUNK_FIXED;
    if (nfailed > count || nfailed > rest / 8)
        return fail(j, err, errsz, "%sa chunk with more failed items than items", "", off);
    rest -= nfailed * 8;
    if (osz == UINT64_MAX) {
        if (count > rest / 8) return fail(j, err, errsz, "%sa chunk too short for its sizes", "", off);
    } else if (count > UINT64_MAX / osz || rest != count * osz) {
        return fail(j, err, errsz, "%sa chunk whose length does not match its results", "", off);
    }
    return add_rec(&m->chunks, &m->nchunks, &m->cap, off, len);
}

/* Read every record of [0, total).  Sets j->size to the end of the last
 * intact one and j->torn if a torn tail follows it. */
int mpipool__jr_scan(mpipool__journal *j, uint64_t total, char *err, size_t errsz) {
    uint64_t off = 0;
    int rc = MPIPOOL_OK;
    unsigned char *block = malloc(JR_BLOCK);
    if (block == NULL) return MPIPOOL_ENOMEM;
    j->size = total; /* read_at (memory) bounds */
    while (off < total) {
        unsigned char h[JR_HDR];
        uint64_t rem = total - off;
        if (rem < JR_HDR) {
            /* A first record cut short must at least start like one: never
             * cut a small file that is not a journal down to nothing. */
            unsigned char m[4], want[4];
            size_t k = rem < 4 ? (size_t)rem : 4;
            put32(want, JR_MAGIC);
            if (off == 0 && (read_at(j, 0, m, k) != 0 || memcmp(m, want, k) != 0) && !zero_tail(j, 0, total)) {
                rc = fail(j, err, errsz, "%snot an mpipool journal (bad magic)", "", off);
                goto cleanup;
            }
            goto torn;
        }
        if (read_at(j, off, h, JR_HDR) != 0) {
            rc = fail(j, err, errsz, "%scannot read", "", off);
            goto cleanup;
        }
        uint32_t magic = get32(h), type = get32(h + 4);
        uint64_t len = get64(h + 8);
        if (magic != JR_MAGIC || (JR_CHECKSUMS_MATTER && get64(h + 16) != mpipool__hash(h, 16))) {
            if (zero_tail(j, off, total)) goto torn;
            rc = fail(j, err, errsz, off == 0 ? "%snot an mpipool journal (bad magic)" : "%sa damaged record header", "",
                      off);
            goto cleanup;
        }
        if (len > rem - JR_HDR || rem - JR_HDR - len < JR_TRAILER) goto torn; /* cut short by a crash */
        if (check_sum(j, off, h, len, block) != 0 && JR_CHECKSUMS_MATTER) {
            rc = fail(j, err, errsz, "%sa record that fails its checksum (corrupted)", "", off);
            goto cleanup;
        }
        if ((off == 0) != (type == JR_HEAD)) {
            rc = fail(j, err, errsz, off == 0 ? "%snot an mpipool journal (no header record)" : "%sa second header record",
                      "", off);
            goto cleanup;
        }
        if (type == JR_HEAD) {
            rc = parse_head(j, off, len, err, errsz);
        } else if (type == JR_MAP) {
            rc = parse_map(j, off, len, err, errsz);
        } else if (type == JR_CHUNK) {
            rc = parse_chunk(j, off, len, err, errsz);
        } else if (type == JR_KILL) {
            rc = parse_kill(j, off, len, err, errsz);
        } else {
            rc = fail(j, err, errsz, "%sa record of unknown type", "", off);
        }
        if (rc != MPIPOOL_OK) goto cleanup;
        off += JR_HDR + len + JR_TRAILER;
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
