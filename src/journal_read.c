/*
 * journal_read.c — reading results back from an open journal (format in
 * journal.h): replay a map's chunks item by item or straight into the
 * caller's array, list an imap's runs of results, read a run of
 * variable-size results; and check_bytes, which reads a whole file that
 * way (fuzzing, tests).
 *
 * Invariant: nothing is trusted that scan did not check, and what scan
 * could not check (failed items inside their chunk, variable sizes adding
 * up to their record) is checked here before a byte is handed out.
 */
#include <stdlib.h>
#include <string.h>
#include "journal_impl.h"

/* One chunk record being replayed: where it is, its fixed fields, and what
 * was read of its body — failed[] and, for variable results, the sizes and
 * the data (`meta` bytes) — with a flag per item that failed. */
typedef struct {
    uint64_t off, first, count, nfailed, meta;
    unsigned char *body, *failed_flag;
} jrec;

/* Fixed-size results of one chunk: straight into fixed_out, or item by
 * item through a buffer of one result. */
static int replay_fixed(const mpipool__journal *j, const jmap *m, const jrec *r, void *fixed_out,
                        mpipool__jitem_fn cb, void *ctx, char *err, size_t errsz) {
    int rc = MPIPOOL_OK;
    size_t osz = (size_t)m->out_size;
    uint64_t results = r->off + JR_CHUNK_FIXED + r->nfailed * 8;
    if (fixed_out) {
        if (read_at(j, results, (char *)fixed_out + r->first * osz, (size_t)(r->count * osz)) != 0)
            return fail(j, err, errsz, "%scannot read", "", r->off - JR_HDR);
        for (uint64_t i = 0; i < r->count && rc == MPIPOOL_OK; i++)
            if (!r->failed_flag[i]) rc = cb(ctx, r->first + i, NULL, osz);
        return rc;
    }
    if (r->count == 0) return MPIPOOL_OK;
    /* count > 0: then osz <= the record's length. */
    unsigned char *one = malloc(osz);
    if (one == NULL) return MPIPOOL_ENOMEM;
    for (uint64_t i = 0; i < r->count && rc == MPIPOOL_OK; i++) {
        if (r->failed_flag[i]) continue;
        if (read_at(j, results + i * osz, one, osz) != 0)
            rc = fail(j, err, errsz, "%scannot read", "", r->off - JR_HDR);
        else
            rc = cb(ctx, r->first + i, one, osz);
    }
    free(one);
    return rc;
}

/* The `count` sizes at `sizes` (little-endian) must add up to exactly
 * `avail` bytes of data: MPIPOOL_OK, else EJOURNAL naming the record. */
static int check_sizes(const mpipool__journal *j, const unsigned char *sizes, uint64_t count, uint64_t avail,
                       uint64_t off, char *err, size_t errsz) {
    uint64_t total = 0;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t sz = get64(sizes + 8 * i);
        if (sz > avail - total) return fail(j, err, errsz, "%sa chunk whose sizes exceed its record", "", off);
        total += sz;
    }
    if (total != avail) return fail(j, err, errsz, "%sa chunk whose sizes do not add up to its record", "", off);
    return MPIPOOL_OK;
}

/* Variable-size results of one chunk, from the body read whole. */
static int replay_var(const mpipool__journal *j, const jrec *r, mpipool__jitem_fn cb, void *ctx, char *err,
                      size_t errsz) {
    const unsigned char *sizes = r->body + r->nfailed * 8;
    uint64_t avail = r->meta - r->nfailed * 8 - r->count * 8;
    int rc = check_sizes(j, sizes, r->count, avail, r->off - JR_HDR, err, errsz);
    const unsigned char *data = sizes + r->count * 8;
    for (uint64_t i = 0; i < r->count && rc == MPIPOOL_OK; i++) {
        size_t sz = (size_t)get64(sizes + 8 * i);
        if (!r->failed_flag[i]) rc = cb(ctx, r->first + i, data, sz);
        data += sz;
    }
    return rc;
}

/* Read chunk c of map m into r: its fixed fields, its body but the fixed
 * results, and which items failed. */
static int read_chunk(const mpipool__journal *j, const jmap *m, size_t c, jrec *r, char *err, size_t errsz) {
    uint64_t off = m->chunks[c].off, len = m->chunks[c].len;
    unsigned char pre[JR_CHUNK_FIXED];
    r->off = off;
    if (read_at(j, off, pre, JR_CHUNK_FIXED) != 0) return fail(j, err, errsz, "%scannot read", "", off - JR_HDR);
    r->first = get64(pre + 8), r->count = get64(pre + 16), r->nfailed = get64(pre + 32);
    r->meta = m->out_size != UINT64_MAX ? r->nfailed * 8 : len - JR_CHUNK_FIXED;
    unsigned char *nb = realloc(r->body, r->meta ? (size_t)r->meta : 1);
    unsigned char *nf = realloc(r->failed_flag, r->count ? (size_t)r->count : 1);
    if (nb) r->body = nb;
    if (nf) r->failed_flag = nf;
    if (nb == NULL || nf == NULL) {
        snprintf(err, errsz, "journal '%s': out of memory to replay a chunk", jname(j));
        return MPIPOOL_ENOMEM;
    }
    if (read_at(j, off + JR_CHUNK_FIXED, r->body, (size_t)r->meta) != 0)
        return fail(j, err, errsz, "%scannot read", "", off - JR_HDR);
    memset(r->failed_flag, 0, (size_t)r->count);
    for (uint64_t i = 0; i < r->nfailed; i++) {
        uint64_t idx = get64(r->body + 8 * i);
        if (idx < r->first || idx - r->first >= r->count)
            return fail(j, err, errsz, "%sa failed item outside its chunk", "", off - JR_HDR);
        r->failed_flag[idx - r->first] = 1;
    }
    return MPIPOOL_OK;
}

int mpipool__journal_replay(mpipool__journal *j, uint64_t seq, void *fixed_out, mpipool__jitem_fn cb, void *ctx,
                            char *err, size_t errsz) {
    jmap *m = find_map(j, seq);
    int rc = MPIPOOL_OK;
    jrec r = {0};
    if (m == NULL) return MPIPOOL_OK;
    for (size_t c = 0; c < m->nchunks && rc == MPIPOOL_OK; c++) {
        rc = read_chunk(j, m, c, &r, err, errsz);
        if (rc != MPIPOOL_OK) break;
        if (m->out_size != UINT64_MAX) rc = replay_fixed(j, m, &r, fixed_out, cb, ctx, err, errsz);
        else rc = replay_var(j, &r, cb, ctx, err, errsz);
    }
    free(r.body);
    free(r.failed_flag);
    return rc;
}

int mpipool__journal_pieces(mpipool__journal *j, uint64_t seq, mpipool__jpiece_fn cb, void *ctx, char *err,
                            size_t errsz) {
    jmap *m = find_map(j, seq);
    int rc = MPIPOOL_OK;
    unsigned char *fl = NULL;
    if (m == NULL) return MPIPOOL_OK;
    for (size_t c = 0; c < m->nchunks && rc == MPIPOOL_OK; c++) {
        uint64_t off = m->chunks[c].off;
        unsigned char pre[JR_CHUNK_FIXED], f[8];
        if (read_at(j, off, pre, JR_CHUNK_FIXED) != 0) return fail(j, err, errsz, "%scannot read", "", off - JR_HDR);
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
            if (read_at(j, off + JR_CHUNK_FIXED + 8 * i, f, 8) != 0) {
                rc = fail(j, err, errsz, "%scannot read", "", off - JR_HDR);
                break;
            }
            uint64_t idx = get64(f);
            if (idx < first || idx - first >= count) {
                rc = fail(j, err, errsz, "%sa failed item outside its chunk", "", off - JR_HDR);
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
    unsigned char pre[JR_CHUNK_FIXED];
    if (read_at(j, off, pre, JR_CHUNK_FIXED) != 0) return fail(j, err, errsz, "%scannot read", "", off - JR_HDR);
    uint64_t cfirst = get64(pre + 8), ccount = get64(pre + 16), nfailed = get64(pre + 32);
    if (first < cfirst || first - cfirst > ccount || count > ccount - (first - cfirst))
        return fail(j, err, errsz, "%sitems asked for outside a chunk", "", off - JR_HDR);
    uint64_t meta = len - JR_CHUNK_FIXED; /* parse_chunk: >= (nfailed + ccount) * 8 */
    char *b = malloc(meta ? (size_t)meta : 1);
    if (b == NULL) {
        snprintf(err, errsz, "journal '%s': out of memory to read a chunk", jname(j));
        return MPIPOOL_ENOMEM;
    }
    if (read_at(j, off + JR_CHUNK_FIXED, b, (size_t)meta) != 0) {
        free(b);
        return fail(j, err, errsz, "%scannot read", "", off - JR_HDR);
    }
    unsigned char *sz = (unsigned char *)b + nfailed * 8;
    int rc = check_sizes(j, sz, ccount, meta - nfailed * 8 - ccount * 8, off - JR_HDR, err, errsz);
    if (rc != MPIPOOL_OK) {
        free(b);
        return rc;
    }
    uint64_t before = 0;
    for (uint64_t i = 0; i < ccount; i++) {
        uint64_t v = get64(sz + 8 * i);
        if (i < first - cfirst) before += v;
        memcpy(sz + 8 * i, &v, 8); /* host order, in place (8-aligned) */
    }
    *buf = b;
    *sizes = (const uint64_t *)(const void *)(sz + 8 * (first - cfirst));
    *data = (const char *)sz + ccount * 8 + before;
    return MPIPOOL_OK;
}

int mpipool__journal_kills(mpipool__journal *j, uint64_t seq, mpipool__jkill_fn cb, void *ctx, char *err,
                           size_t errsz) {
    jmap *m = find_map(j, seq);
    int rc = MPIPOOL_OK;
    for (size_t k = 0; m && k < m->nkills && rc == MPIPOOL_OK; k++) {
        uint64_t off = m->kills[k].off, len = m->kills[k].len; /* scan: JR_KILL_FIXED <= len */
        unsigned char b[JR_KILL_FIXED];
        char text[JR_TEXT_MAX + 1];
        size_t tlen = (size_t)(len - JR_KILL_FIXED);
        if (read_at(j, off, b, JR_KILL_FIXED) != 0 || read_at(j, off + JR_KILL_FIXED, text, tlen) != 0)
            return fail(j, err, errsz, "%scannot read", "", off - JR_HDR);
        text[tlen] = '\0';
        if (memchr(text, '\0', tlen)) return fail(j, err, errsz, "%sa kill record's text with a NUL byte", "", off - JR_HDR);
        rc = cb(ctx, get64(b + 8), (int)get32(b + 16), (int)get32(b + 20), text);
    }
    return rc;
}

static int count_kill(void *ctx, uint64_t item, int kind, int rank, const char *text) {
    (void)item;
    (void)kind;
    (void)rank;
    ++*(uint64_t *)ctx;
    (void)text;
    return 0;
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
        if (rc == MPIPOOL_OK) rc = mpipool__journal_kills(j, m->seq, count_kill, &items, err, errsz);
        free(out);
    }
    mpipool__journal_close(j);
    return rc;
}
