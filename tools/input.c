/*
 * input.c — reading mpipool-run's input sources (see input.h).
 *
 * An item is everything up to the delimiter (newline, NUL with -0, or
 * -d's byte), without it.  A NUL byte inside an item cannot go into a
 * command line: like GNU parallel we replace it with the two characters
 * \0 and warn once (-0 makes NUL the delimiter instead).  With --colsep an
 * item is split into its columns, which become the job's arguments.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "farm.h"
#include "input.h"

static mr_source *new_source(mr_input *in, int linked) {
    mr_source *s = realloc(in->src, (in->nsrc + 1) * sizeof *s);
    if (s == NULL) return NULL;
    in->src = s;
    s += in->nsrc++;
    memset(s, 0, sizeof *s);
    s->linked = linked && in->nsrc > 1;
    return s;
}

static int push_val(mr_source *s, const char *p, size_t n) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char **v = realloc(s->vals, cap * sizeof *v);
        if (v == NULL) return -1;
        s->vals = v;
        s->cap = cap;
    }
    if ((s->vals[s->n] = strndup(p, n)) == NULL) return -1;
    s->n++;
    return 0;
}

int mr_input_add_values(mr_input *in, char *const *vals, size_t n, int linked) {
    mr_source *s = new_source(in, linked);
    if (s == NULL) return -1;
    /* parallel splits ::: arguments at the delimiter too (-d, or newline) */
    for (size_t i = 0; i < n; i++) {
        const char *p = vals[i], *d;
        while (in->delim != '\0' && (d = strchr(p, in->delim)) != NULL) {
            if (push_val(s, p, (size_t)(d - p)) != 0) return -1;
            p = d + 1;
        }
        if (push_val(s, p, strlen(p)) != 0) return -1;
    }
    return 0;
}

int mr_input_add_file(mr_input *in, const char *path, int linked) {
    mr_source *s = new_source(in, linked);
    if (s == NULL) return -1;
    s->path = path;
    return 0;
}

/* One item of f into in->line (NUL-terminated, no delimiter): 1, 0 at
 * the end, -1 on a read error. */
static int read_item(mr_input *in, FILE *f, const char *name) {
    errno = 0;
    ssize_t len = getdelim(&in->line, &in->line_cap, in->delim, f);
    if (len < 0) {
        if (ferror(f)) {
            mr_diag("cannot read %s: %s", name, strerror(errno ? errno : EIO));
            return -1;
        }
        return 0;
    }
    if (len > 0 && in->line[len - 1] == (char)in->delim) len--;
    in->line[len] = '\0';
    size_t nuls = in->delim == '\0' ? 0 : (size_t)len - strlen(in->line);
    if (nuls == 0) return 1;
    /* parallel: each NUL becomes the two characters \0, with a warning. */
    if (!in->nul_warned) {
        in->nul_warned = 1;
        mr_diag("warning: a NUL character in the input was replaced with \\0 (NUL cannot be "
                "passed in a command line; did you mean -0/--null?)");
    }
    size_t need = (size_t)len + nuls + 1;
    char *t = malloc(need);
    if (t == NULL) return -1;
    size_t o = 0;
    for (ssize_t i = 0; i < len; i++) {
        if (in->line[i] == '\0') {
            t[o++] = '\\';
            t[o++] = '0';
        } else {
            t[o++] = in->line[i];
        }
    }
    t[o] = '\0';
    free(in->line);
    in->line = t;
    in->line_cap = need;
    return 1;
}

static const char *src_name(const mr_source *s) {
    return s->path == NULL ? "the ::: arguments" : strcmp(s->path, "-") == 0 ? "standard input" : s->path;
}

int mr_input_open(mr_input *in) {
    if (in->nsrc == 0 && mr_input_add_file(in, "-", 0) != 0) return -1;
    in->stream = in->nsrc == 1 && in->src[0].path != NULL;
    for (size_t i = 0; i < in->nsrc; i++) {
        mr_source *s = &in->src[i];
        if (s->path == NULL) continue;
        s->f = strcmp(s->path, "-") == 0 ? stdin : fopen(s->path, "r");
        if (s->f == NULL) {
            mr_diag("cannot read %s: %s", s->path, strerror(errno));
            return -1;
        }
        if (in->stream) return 0;
        int r;
        while ((r = read_item(in, s->f, src_name(s))) > 0)
            if (push_val(s, in->line, strlen(in->line)) != 0) return -1;
        if (r < 0) return -1;
    }
    in->ngroups = 0;
    for (size_t i = 0; i < in->nsrc; i++) in->ngroups += !in->src[i].linked;
    in->pos = calloc(in->ngroups ? in->ngroups : 1, sizeof *in->pos);
    return in->pos ? 0 : -1;
}

static int set_args(mr_input *in, size_t n) {
    if (n > in->args_cap) {
        char **a = realloc(in->args, n * sizeof *a);
        if (a == NULL) return -1;
        in->args = a;
        in->args_cap = n;
    }
    in->nargs = n;
    return 0;
}

/* --colsep: in->line cut into columns; the args point into in->line. */
static int split_columns(mr_input *in) {
    size_t n = 1, sl = strlen(in->colsep);
    for (char *p = in->line; (p = strstr(p, in->colsep)) != NULL; p += sl) n++;
    if (set_args(in, n) != 0) return -1;
    char *p = in->line;
    for (size_t i = 0; i < n; i++) {
        in->args[i] = p;
        char *q = i + 1 < n ? strstr(p, in->colsep) : NULL;
        if (q) {
            *q = '\0';
            p = q + sl;
        }
    }
    return 0;
}

/* The length of the linked group starting at source s (its shortest). */
static size_t group_len(const mr_input *in, size_t s, size_t *end) {
    size_t len = in->src[s].n, e = s + 1;
    while (e < in->nsrc && in->src[e].linked) {
        if (in->src[e].n < len) len = in->src[e].n;
        e++;
    }
    *end = e;
    return len;
}

/* Several sources: the odometer over the linked groups, last fastest. */
static int next_combination(mr_input *in) {
    size_t g, s, e;
    if (in->ended) return 0;
    if (in->started) { /* advance */
        for (g = in->ngroups; g-- > 0;) {
            for (s = 0, e = 0; s < in->nsrc; s = e) {
                size_t len = group_len(in, s, &e), k = 0;
                for (size_t t = 0; t < s; t++) k += !in->src[t].linked;
                if (k != g) continue;
                if (++in->pos[g] < len) goto emit;
                in->pos[g] = 0;
            }
        }
        in->ended = 1;
        return 0;
    }
    in->started = 1;
    for (s = 0; s < in->nsrc; s = e)
        if (group_len(in, s, &e) == 0) {
            in->ended = 1;
            return 0;
        }
emit:
    if (set_args(in, in->nsrc) != 0) return -1;
    for (s = 0, g = 0; s < in->nsrc; s++) {
        if (s > 0 && !in->src[s].linked) g++;
        in->args[s] = in->src[s].vals[in->pos[g]];
    }
    return 1;
}

int mr_input_next(mr_input *in, char ***args, size_t *nargs) {
    int r;
    if (in->stream) {
        r = read_item(in, in->src[0].f, src_name(&in->src[0]));
        if (r > 0) in->items++;
        if (r > 0 && in->colsep) r = split_columns(in) == 0 ? 1 : -1;
        else if (r > 0) r = set_args(in, 1) == 0 ? (in->args[0] = in->line, 1) : -1;
    } else {
        r = next_combination(in);
        if (r > 0 && in->colsep && in->nsrc == 1) {
            /* one ::: source with --colsep: split its value */
            free(in->line);
            in->line = strdup(in->args[0]);
            r = in->line && split_columns(in) == 0 ? 1 : -1;
        }
    }
    if (r < 0 && errno == ENOMEM) mr_diag("out of memory reading the input");
    *args = in->args;
    *nargs = r > 0 ? in->nargs : 0;
    return r;
}

unsigned long long mr_input_total(mr_input *in) {
    if (!in->stream) {
        unsigned long long total = in->nsrc ? 1 : 0;
        for (size_t s = 0, e; s < in->nsrc; s = e) total *= group_len(in, s, &e);
        return total;
    }
    FILE *f = in->src[0].f;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    off_t at = ftello(f);
    unsigned long long n = 0;
    int c, last = in->delim;
    while ((c = getc(f)) != EOF) {
        if (c == in->delim) n++;
        last = c;
    }
    if (last != in->delim) n++;
    clearerr(f);
    if (at < 0 || fseeko(f, at, SEEK_SET) != 0) return 0;
    return n;
}

size_t mr_input_arity(const mr_input *in) { return in->colsep ? 0 : in->nsrc; }

void mr_input_free(mr_input *in) {
    for (size_t i = 0; i < in->nsrc; i++) {
        mr_source *s = &in->src[i];
        if (s->f && s->f != stdin) fclose(s->f);
        for (size_t k = 0; k < s->n; k++) free(s->vals[k]);
        free(s->vals);
    }
    free(in->src);
    free(in->pos);
    free(in->line);
    free(in->args);
    memset(in, 0, sizeof *in);
}
