/*
 * wordcount.c — map, then reduce on the master: the ten most frequent words
 * of a text.  The text is cut into chunks at whitespace (items of varying
 * size); each task counts the words of its chunk and returns its counts as
 * a "word\tcount\n" list (a result of varying size); the master merges the
 * lists and prints the total and the top ten.
 *
 *     mpirun -n 4 ./build/examples/wordcount book.txt
 *     mpirun -n 4 ./build/examples/wordcount book.txt 4096   # 4 KiB chunks
 *     cat book.txt | ./build/examples/wordcount               # standard input, one rank
 *
 * A word is a run of ASCII letters and digits, counted in lower case.  Ties
 * are listed alphabetically, so the output is the same for any number of
 * ranks and any chunk size.  Python equivalent:
 *
 *     with Pool() as pool:
 *         total = sum(pool.map(count_words, chunks(text)), Counter())
 *         for word, n in sorted(total.items(), key=lambda e: (-e[1], e[0]))[:10]:
 *             print(f"{n:7} {word}")
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mpipool.h>

/* ---- a small word -> count table (used by the tasks and the master) ---- */

typedef struct {
    char *word; /* malloc'd, NUL-terminated; NULL for an empty slot */
    size_t count;
} entry;

typedef struct {
    entry *slots;
    size_t cap, used; /* cap is a power of two, used <= cap / 2 */
} counter;

static size_t hash_word(const char *w, size_t len) {
    size_t h = 5381;
    for (size_t i = 0; i < len; i++) h = h * 33 + (unsigned char)w[i];
    return h;
}

static entry *slot_of(entry *slots, size_t cap, const char *w, size_t len) {
    size_t i = hash_word(w, len) & (cap - 1);
    while (slots[i].word && (strncmp(slots[i].word, w, len) != 0 || slots[i].word[len] != '\0'))
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

/* Add `n` to the count of the `len`-byte word `w`.  0, or -1 out of memory. */
static int counter_add(counter *c, const char *w, size_t len, size_t n) {
    if (2 * (c->used + 1) > c->cap) {
        size_t ncap = c->cap ? 2 * c->cap : 256;
        entry *ns = calloc(ncap, sizeof *ns);
        if (ns == NULL) return -1;
        for (size_t i = 0; i < c->cap; i++)
            if (c->slots[i].word) *slot_of(ns, ncap, c->slots[i].word, strlen(c->slots[i].word)) = c->slots[i];
        free(c->slots);
        c->slots = ns;
        c->cap = ncap;
    }
    entry *e = slot_of(c->slots, c->cap, w, len);
    if (e->word == NULL) {
        if ((e->word = malloc(len + 1)) == NULL) return -1;
        memcpy(e->word, w, len);
        e->word[len] = '\0';
        c->used++;
    }
    e->count += n;
    return 0;
}

static void counter_free(counter *c) {
    for (size_t i = 0; i < c->cap; i++) free(c->slots[i].word);
    free(c->slots);
    memset(c, 0, sizeof *c);
}

/* ---- the task: count the words of one chunk ------------------------------ */

static int count_words(mpipool_task *t) {
    const char *text = t->in;
    counter c = {0};
    char word[256];
    int rc = 0;
    for (size_t i = 0; i < t->in_size && rc == 0;) {
        if (!isalnum((unsigned char)text[i])) {
            i++;
            continue;
        }
        size_t len = 0, start = i;
        while (i < t->in_size && isalnum((unsigned char)text[i])) i++;
        /* Very long "words" are cut: only their first 255 bytes count. */
        for (size_t k = start; k < i && len < sizeof word - 1; k++) word[len++] = (char)tolower((unsigned char)text[k]);
        if (counter_add(&c, word, len, 1) != 0) rc = mpipool_task_fail(t, "out of memory");
    }
    /* The result: "word\tcount\n" per distinct word.  Measure it, ask for
     * exactly that much room, then write it. */
    char line[300]; /* a word (< 256 bytes), a tab, a count, a newline */
    size_t bytes = 0;
    for (size_t i = 0; i < c.cap && rc == 0; i++)
        if (c.slots[i].word) bytes += (size_t)snprintf(line, sizeof line, "%s\t%zu\n", c.slots[i].word, c.slots[i].count);
    char *out = rc == 0 ? mpipool_task_output(t, bytes) : NULL;
    if (rc == 0 && out == NULL) rc = mpipool_task_fail(t, "no room for a %zu-byte result", bytes);
    for (size_t i = 0; i < c.cap && rc == 0; i++) {
        if (c.slots[i].word == NULL) continue;
        int n = snprintf(line, sizeof line, "%s\t%zu\n", c.slots[i].word, c.slots[i].count);
        memcpy(out, line, (size_t)n);
        out += n;
    }
    counter_free(&c);
    return rc;
}
MPIPOOL_TASK(count_words);

/* ---- the master ----------------------------------------------------------- */

/* All of `f` in a malloc'd buffer; NULL on error. */
static char *read_all(FILE *f, size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        char *p = realloc(buf, cap * 2);
        if (p == NULL) {
            free(buf);
            return NULL;
        }
        buf = p;
        cap *= 2;
    }
    if (buf && ferror(f)) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* Cut text into chunks of about `target` bytes, each ending at whitespace
 * (or at the end), so no word is split.  Returns the number of chunks. */
static size_t split(char *text, size_t len, size_t target, mpipool_buf *chunks) {
    size_t n = 0, pos = 0;
    while (pos < len) {
        size_t end = len - pos > target ? pos + target : len;
        while (end < len && !isspace((unsigned char)text[end])) end++;
        chunks[n++] = (mpipool_buf){text + pos, end - pos};
        pos = end;
    }
    return n;
}

/* Merge one "word\tcount\n" list into the total. */
static int merge(counter *total, const char *p, size_t size) {
    const char *end = p + size;
    while (p < end) {
        const char *tab = memchr(p, '\t', (size_t)(end - p));
        const char *nl = tab ? memchr(tab, '\n', (size_t)(end - tab)) : NULL;
        if (nl == NULL) return -1;
        size_t n = strtoul(tab + 1, NULL, 10);
        if (counter_add(total, p, (size_t)(tab - p), n) != 0) return -1;
        p = nl + 1;
    }
    return 0;
}

static int by_count_then_word(const void *a, const void *b) {
    const entry *x = a, *y = b;
    if (x->count != y->count) return x->count < y->count ? 1 : -1;
    return strcmp(x->word, y->word);
}

int main(int argc, char **argv) {
    mpipool *pool;
    int rc = mpipool_open(&pool, &argc, &argv);
    if (rc != MPIPOOL_OK) {
        fprintf(stderr, "wordcount: %s\n", mpipool_last_error(NULL));
        return 1;
    }
    if (!mpipool_is_master(pool)) return mpipool_serve(pool) == MPIPOOL_OK ? 0 : 1;

    long target = 65536;
    if (argc > 2) {
        char *e;
        errno = 0;
        target = strtol(argv[2], &e, 10);
        if (errno || e == argv[2] || *e || target < 1) target = -1;
    }
    if (argc > 3 || target < 1) {
        fprintf(stderr, "wordcount: usage: wordcount [FILE|- [CHUNK_BYTES]]  (default: standard input, 65536)\n");
        mpipool_close(pool);
        return 2;
    }
    const char *path = argc > 1 && strcmp(argv[1], "-") != 0 ? argv[1] : NULL;
    FILE *f = path ? fopen(path, "rb") : stdin;
    size_t len = 0;
    char *text = f ? read_all(f, &len) : NULL;
    if (f && f != stdin) fclose(f);
    if (text == NULL) {
        perror(path ? path : "standard input");
        mpipool_close(pool);
        return 1;
    }

    /* Map: one chunk per item, its counts per result (both of any size). */
    size_t max_chunks = len / (size_t)target + 2;
    mpipool_buf *chunks = malloc(max_chunks * sizeof *chunks);
    mpipool_buf *counts = calloc(max_chunks, sizeof *counts);
    size_t n = chunks && counts ? split(text, len, (size_t)target, chunks) : 0;
    if (chunks == NULL || counts == NULL)
        rc = MPIPOOL_ENOMEM;
    else
        rc = mpipool_map(pool, count_words, chunks, MPIPOOL_VARIABLE, counts, MPIPOOL_VARIABLE, n, NULL);
    if (rc != MPIPOOL_OK)
        fprintf(stderr, "wordcount: %s: %s\n", mpipool_err_name(rc), mpipool_last_error(pool));

    /* Reduce, on the master: merge the lists, freeing each one. */
    counter total = {0};
    for (size_t i = 0; i < n; i++) {
        if (rc == MPIPOOL_OK && merge(&total, counts[i].data, counts[i].size) != 0) {
            fprintf(stderr, "wordcount: out of memory, or a bad result for chunk %zu\n", i);
            rc = MPIPOOL_ENOMEM;
        }
        free(counts[i].data);
    }
    if (rc == MPIPOOL_OK) {
        size_t words = 0, k = 0;
        for (size_t i = 0; i < total.cap; i++) {
            if (total.slots[i].word == NULL) continue;
            words += total.slots[i].count;
            total.slots[k++] = total.slots[i]; /* pack the entries to sort them */
        }
        qsort(total.slots, k, sizeof *total.slots, by_count_then_word);
        printf("%zu words, %zu distinct, %zu chunks\n", words, k, n);
        for (size_t i = 0; i < k && i < 10; i++) printf("%7zu %s\n", total.slots[i].count, total.slots[i].word);
        for (size_t i = k; i < total.cap; i++) total.slots[i].word = NULL;
    }

    counter_free(&total);
    free(chunks);
    free(counts);
    free(text);
    int crc = mpipool_close(pool);
    return rc == MPIPOOL_OK && crc == MPIPOOL_OK ? 0 : 1;
}
