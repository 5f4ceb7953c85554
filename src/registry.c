/*
 * registry.c — the process-wide table of task functions, known by name.
 *
 * Addresses of functions differ between ranks, names do not, so the wire
 * protocol names a task by its index in the sorted table.  Invariant: the
 * table is sorted and immutable while any pool is open (frozen > 0); the
 * open-time digest check guarantees every rank has the same table, hence the
 * same indices.  No MPI here.
 */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "pure.h"

typedef struct {
    char *name;
    mpipool_fn fn;
    int batch;   /* registered with mpipool_register_batch */
    int typed;   /* MPIPOOL_TASK_TYPED: maps must use these sizes */
    size_t in_size, out_size;
    mpipool__loop_fn loop; /* the macro's inlined loop over items, or NULL */
    int loop_zeroes;       /* ... which zeroes each result itself          */
} entry;

/* How a batch task appears in the digest and the serialised list, so that
 * ranks registering one name as a batch task and as a plain task differ. */
#define BATCH_SUFFIX " [batch]"


static entry *table;
static size_t count, cap;
static int frozen;
static int deferred_code;
static char deferred_msg[MPIPOOL__MSG_MAX];

static int add_entry(const char *name, mpipool_fn fn, int batch) {
    if (name == NULL || name[0] == '\0' || fn == NULL) return MPIPOOL_EINVAL;
    if (strchr(name, '\n') != NULL) return MPIPOOL_EINVAL;
    if (frozen) return MPIPOOL_EBUSY;
    for (size_t i = 0; i < count; i++) {
        if (strcmp(table[i].name, name) == 0)
            return table[i].fn == fn && table[i].batch == batch ? MPIPOOL_OK : MPIPOOL_EEXIST;
        /* One function is one kind of task: plain or batch, under one name. */
        if (table[i].fn == fn && table[i].batch != batch) return MPIPOOL_EEXIST;
    }
    if (count == cap) {
        size_t ncap = cap ? cap * 2 : 16;
        entry *t = realloc(table, ncap * sizeof *t);
        if (t == NULL) return MPIPOOL_ENOMEM;
        table = t;
        cap = ncap;
    }
    char *copy = strdup(name);
    if (copy == NULL) return MPIPOOL_ENOMEM;
    table[count].name = copy;
    table[count].fn = fn;
    table[count].batch = batch;
    table[count].typed = 0;
    table[count].loop = NULL;
    table[count].loop_zeroes = 0;
    count++;
    return MPIPOOL_OK;
}

int mpipool__registry_add(const char *name, mpipool_fn fn) { return add_entry(name, fn, 0); }
int mpipool__registry_add_batch(const char *name, mpipool_fn fn) { return add_entry(name, fn, 1); }

/* mpipool_register's code, with its reason in mpipool_last_error(NULL). */
static int registered(const char *func, const char *name, mpipool_fn fn, int rc) {
    char *e = mpipool__open_error;
    size_t n = sizeof mpipool__open_error;
    if (rc == MPIPOOL_EINVAL)
        snprintf(e, n, "%s: %s", func, name == NULL ? "name is NULL" : name[0] == '\0' ? "name is empty"
                 : fn == NULL ? "fn is NULL" : "the name contains a newline");
    else if (rc == MPIPOOL_EEXIST)
        snprintf(e, n, "%s: '%.200s' is already registered to another function, or the function under "
                 "another kind (plain or batch)", func, name);
    else if (rc == MPIPOOL_EBUSY)
        snprintf(e, n, "%s: cannot register '%.200s' while a pool is open "
                 "(register every task before mpipool_open)", func, name);
    else if (rc != MPIPOOL_OK)
        snprintf(e, n, "%s: out of memory", func);
    return rc;
}

int mpipool_register(const char *name, mpipool_fn fn) {
    return registered("mpipool_register", name, fn, add_entry(name, fn, 0));
}

int mpipool_register_batch(const char *name, mpipool_fn fn) {
    return registered("mpipool_register_batch", name, fn, add_entry(name, fn, 1));
}

static void deferred(const char *name, mpipool_fn fn, int batch) {
    int rc = add_entry(name, fn, batch);
    if (rc != MPIPOOL_OK && deferred_code == MPIPOOL_OK) {
        deferred_code = rc;
        snprintf(deferred_msg, sizeof deferred_msg,
                 "%s(%s) failed: %s", batch ? "MPIPOOL_BATCH_TASK" : "MPIPOOL_TASK",
                 name ? name : "(null)", mpipool_strerror(rc));
    }
}

void mpipool__register_deferred(const char *name, mpipool_fn fn) { deferred(name, fn, 0); }

void mpipool__register_deferred_typed(const char *name, mpipool_fn fn, size_t in_size, size_t out_size) {
    deferred(name, fn, 0);
    for (size_t i = 0; i < count; i++)
        if (table[i].fn == fn && !table[i].batch) {
            table[i].typed = 1;
            table[i].in_size = in_size;
            table[i].out_size = out_size;
        }
}

/* Only a plain task gets a loop: a batch task is its own loop. */
void mpipool__register_loop(mpipool_fn fn, mpipool__loop_fn loop, int zeroes) {
    for (size_t i = 0; i < count; i++)
        if (table[i].fn == fn && !table[i].batch && table[i].loop == NULL) {
            table[i].loop = loop;
            table[i].loop_zeroes = zeroes;
        }
}

mpipool__loop_fn mpipool__registry_loop(size_t i, int *zeroes) {
    if (i >= count) return NULL;
    *zeroes = table[i].loop_zeroes;
    return table[i].loop;
}

int mpipool__registry_types(size_t i, size_t *in_size, size_t *out_size) {
    if (i >= count || !table[i].typed) return 0;
    *in_size = table[i].in_size;
    *out_size = table[i].out_size;
    return 1;
}
void mpipool__register_deferred_batch(const char *name, mpipool_fn fn) { deferred(name, fn, 1); }

static int by_name(const void *a, const void *b) {
    return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

int mpipool__registry_freeze(void) {
    if (frozen++ == 0 && count > 1) qsort(table, count, sizeof *table, by_name);
    return deferred_code;
}

void mpipool__registry_thaw(void) {
    if (frozen > 0) frozen--;
}

size_t mpipool__registry_count(void) { return count; }

const char *mpipool__registry_name(size_t i) {
    return i < count ? table[i].name : NULL;
}

mpipool_fn mpipool__registry_fn(size_t i) {
    return i < count ? table[i].fn : NULL;
}

int mpipool__registry_is_batch(size_t i) {
    return i < count ? table[i].batch : 0;
}

int mpipool__registry_fn_is_batch(mpipool_fn fn) {
    for (size_t i = 0; fn != NULL && i < count; i++)
        if (table[i].fn == fn) return table[i].batch;
    return 0;
}

int mpipool__registry_find_fn(mpipool_fn fn, size_t *index) {
    for (size_t i = 0; fn != NULL && i < count; i++) {
        if (table[i].fn == fn) {
            if (index) *index = i;
            return MPIPOOL_OK;
        }
    }
    return MPIPOOL_ENOTREG;
}

int mpipool__registry_find_name(const char *name, size_t *index) {
    for (size_t i = 0; name != NULL && i < count; i++) {
        if (strcmp(table[i].name, name) == 0) {
            if (index) *index = i;
            return MPIPOOL_OK;
        }
    }
    return MPIPOOL_ENOTREG;
}

/* The digest and the serialised list must agree on order: both walk a
 * sorted copy of the names, whether or not the table is frozen. */
static entry *sorted_copy(void) {
    entry *s = malloc((count ? count : 1) * sizeof *s);
    if (s == NULL) return NULL;
    if (count) memcpy(s, table, count * sizeof *s);
    if (count > 1) qsort(s, count, sizeof *s, by_name);
    return s;
}

uint64_t mpipool__registry_digest(void) {
    uint64_t h = 1469598103934665603ULL;
    entry *s = sorted_copy();
    if (s == NULL) return 0;
    for (size_t i = 0; i < count; i++) {
        for (const char *p = s[i].name; *p; p++) {
            h ^= (unsigned char)*p;
            h *= 1099511628211ULL;
        }
        for (const char *p = s[i].batch ? BATCH_SUFFIX : ""; *p; p++) {
            h ^= (unsigned char)*p;
            h *= 1099511628211ULL;
        }
        h ^= '\n';
        h *= 1099511628211ULL;
    }
    free(s);
    return h;
}

char *mpipool__registry_serialize(size_t *len) {
    entry *s = sorted_copy();
    if (s == NULL) return NULL;
    size_t total = 0;
    for (size_t i = 0; i < count; i++) total += strlen(s[i].name) + (s[i].batch ? strlen(BATCH_SUFFIX) : 0) + 1;
    char *buf = malloc(total + 1);
    if (buf != NULL) {
        char *p = buf;
        for (size_t i = 0; i < count; i++) {
            size_t l = strlen(s[i].name);
            memcpy(p, s[i].name, l);
            p += l;
            if (s[i].batch) {
                memcpy(p, BATCH_SUFFIX, strlen(BATCH_SUFFIX));
                p += strlen(BATCH_SUFFIX);
            }
            *p++ = '\n';
        }
        *p = '\0';
        if (len) *len = total;
    }
    free(s);
    return buf;
}

const char *mpipool__registry_deferred_message(void) { return deferred_msg; }

void mpipool__registry_reset(void) {
    for (size_t i = 0; i < count; i++) free(table[i].name);
    free(table);
    table = NULL;
    count = cap = 0;
    frozen = 0;
    deferred_code = MPIPOOL_OK;
    deferred_msg[0] = '\0';
}

/* Is `name` (length len) one of the lines of `list`? */
static int list_has(const char *list, const char *name, size_t len) {
    for (const char *p = list; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (l == len && memcmp(p, name, len) == 0) return 1;
        p = nl ? nl + 1 : NULL;
    }
    return 0;
}

/* Append "a,b,c" style rank lists, eliding after a few so the message stays
 * readable at 4096 ranks. */
static void append_ranks(char *msg, size_t msgsz, const char *const *lists,
                         int nranks, const char *name, size_t len, int want) {
    int shown = 0, total = 0;
    for (int r = 0; r < nranks; r++) {
        if (list_has(lists[r], name, len) != want) continue;
        total++;
        if (shown < 8) {
            size_t used = strlen(msg);
            snprintf(msg + used, msgsz - used, "%s%d", shown ? "," : "", r);
            shown++;
        }
    }
    if (total > shown) {
        size_t used = strlen(msg);
        snprintf(msg + used, msgsz - used, ",... (%d ranks)", total);
    }
}

size_t mpipool__registry_describe_diff(const char *const *lists, int nranks,
                                       char *msg, size_t msgsz) {
    size_t ndiff = 0;
    if (msgsz == 0) return 0;
    msg[0] = '\0';
    for (int r = 0; r < nranks; r++) {
        for (const char *p = lists[r]; p && *p;) {
            const char *nl = strchr(p, '\n');
            size_t len = nl ? (size_t)(nl - p) : strlen(p);
            /* Report each name once: at the first rank that has it. */
            int first_here = 1, everywhere = 1;
            for (int q = 0; q < nranks; q++) {
                int has = list_has(lists[q], p, len);
                if (q < r && has) first_here = 0;
                if (!has) everywhere = 0;
            }
            if (first_here && !everywhere) {
                size_t used = strlen(msg);
                snprintf(msg + used, msgsz - used, "%stask '%.*s' is registered on ranks ",
                         ndiff ? "; " : "", (int)len, p);
                append_ranks(msg, msgsz, lists, nranks, p, len, 1);
                used = strlen(msg);
                snprintf(msg + used, msgsz - used, " but not on ranks ");
                append_ranks(msg, msgsz, lists, nranks, p, len, 0);
                ndiff++;
            }
            p = nl ? nl + 1 : NULL;
        }
    }
    return ndiff;
}
