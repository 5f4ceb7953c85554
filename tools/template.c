/*
 * template.c — replacement strings for mpipool-run, following GNU parallel
 * (20221122) where it defines the meaning:
 *
 *   {}    the arguments             {.}   without their extensions
 *   {/}   basename                  {//}  dirname (POSIX dirname(3))
 *   {/.}  basename, no extension    {#}   the job number (1-based)
 *   {n} {n.} {n/} {n//} {n/.}       the same for the n-th argument only
 *
 * "Extension" and "basename" are parallel's regular expressions, not path
 * logic: {.} is s:\.[^/.]*$::, {/} is s:.*\/::, so "a/b/" has basename "".
 * Values are shell-quoted as parallel quotes them, so the commands we run
 * (and write to the joblog) are the commands parallel runs.
 *
 * Where we differ, on purpose: parallel passes anything it does not know
 * through as text.  We do the same for braces holding other text ({print},
 * ${HOME}, {a,b}), but a brace group made only of replacement characters
 * (. / # % + - = and digits) that is not one of the above — {%}, {##},
 * {+.}, {-1}, {= perl =}, a typo such as {..} — or one left unterminated
 * is a usage error naming it: running ten thousand wrong commands is worse
 * than refusing.
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "template.h"

/* The part of an argument a replacement string takes. */
enum { P_ARG, P_NOEXT, P_BASE, P_DIR, P_BASENOEXT, P_SEQ };

typedef struct ph {
    int kind;   /* P_*; -1: text; -2: refused                       */
    size_t pos; /* 0: every argument; n: the n-th                   */
    size_t len; /* bytes of the template it covers                  */
} ph;

static const char *const suffixes[] = {"}", ".}", "/}", "//}", "/.}"};

static int group_char(char c) {
    return c == '.' || c == '/' || c == '#' || c == '%' || c == '+' || c == '-' || c == '=' ||
           (c >= '0' && c <= '9');
}

/* What starts at p: a replacement string, text, or a refused group. */
static ph placeholder_at(const char *p) {
    ph r = {-1, 0, 0};
    if (*p != '{') return r;
    if (strncmp(p, "{#}", 3) == 0) return (ph){P_SEQ, 0, 3};
    size_t i = 1, pos = 0;
    while (p[i] >= '0' && p[i] <= '9' && pos < 100000) pos = pos * 10 + (size_t)(p[i++] - '0');
    if (i == 1 || pos > 0) {
        for (int k = 0; k < (int)(sizeof suffixes / sizeof *suffixes); k++) {
            size_t l = strlen(suffixes[k]);
            if (strncmp(p + i, suffixes[k], l) == 0) return (ph){k, pos, i + l};
        }
    }
    if (p[1] == '=') { /* {= perl =}: up to the closing =} */
        const char *e = strstr(p + 2, "=}");
        return (ph){-2, 0, e ? (size_t)(e - p) + 2 : strlen(p)};
    }
    for (i = 1; group_char(p[i]); i++) {
    }
    if (i > 1 && (p[i] == '}' || p[i] == '\0')) return (ph){-2, 0, p[i] == '}' ? i + 1 : i};
    return r;
}

int mr_template_check(const char *tmpl, size_t nargs, int *has_placeholder, char *err,
                      size_t errlen) {
    int any = 0;
    (void)nargs; /* {n} past the arguments is empty, as in parallel: not an error */
    if (has_placeholder) *has_placeholder = 0;
    if (tmpl == NULL) return 0;
    for (const char *p = tmpl; *p; p++) {
        ph h = placeholder_at(p);
        const char *why = NULL;
        if (h.kind == -2 && p[h.len - 1] != '}') why = "unterminated replacement string";
        else if (h.kind == -2 && strncmp(p, "{%}", 3) == 0)
            why = "the job slot {%} is not offered (one job per rank at a time: use "
                  "$MPIPOOL_RANK); refused";
        else if (h.kind == -2 && p[1] == '=') why = "perl expressions are not offered; refused";
        else if (h.kind == -2) why = "unknown replacement string";
        if (why) {
            snprintf(err, errlen, "%s '%.*s' in the command template (known: {} {.} {/} {//} "
                     "{/.} {#} and {n} {n.} {n/} {n//} {n/.})", why, (int)(h.len > 200 ? 200 : h.len), p);
            return -1;
        }
        if (h.kind >= 0) {
            any = 1;
            p += h.len - 1;
        }
    }
    if (has_placeholder) *has_placeholder = any;
    return 0;
}

static int plain_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '+' || c == '/';
}

char *mr_shell_quote(const char *s, size_t len) {
    int plain = 1;
    size_t quotes = 0;
    for (size_t i = 0; i < len; i++) {
        if (!plain_char((unsigned char)s[i])) plain = 0;
        if (s[i] == '\'') quotes++;
    }
    if (len == 0) return strdup("''");
    if (plain) {
        char *r = malloc(len + 1);
        if (r) {
            memcpy(r, s, len);
            r[len] = '\0';
        }
        return r;
    }
    /* ' -> '"'"' (5 bytes for 1), plus the outer quotes and the NUL. */
    char *r = malloc(len + 4 * quotes + 3);
    if (r == NULL) return NULL;
    size_t o = 0;
    r[o++] = '\'';
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\'') {
            memcpy(r + o, "'\"'\"'", 5);
            o += 5;
        } else {
            r[o++] = s[i];
        }
    }
    r[o++] = '\'';
    r[o] = '\0';
    /* parallel: s/^''//; s/''$// (a leading or trailing quote leaves an
     * empty '' pair behind). */
    if (o >= 2 && r[0] == '\'' && r[1] == '\'') {
        memmove(r, r + 2, o - 1);
        o -= 2;
    }
    if (o >= 2 && r[o - 1] == '\'' && r[o - 2] == '\'') {
        o -= 2;
        r[o] = '\0';
    }
    return r;
}

/* The unquoted value of placeholder k for `arg`, as [*start, *start+*n),
 * or in buf for {//} and {#}. */
static void value_of(int k, const char *arg, size_t len, unsigned long long seq, char *buf,
                     size_t bufsize, const char **start, size_t *n) {
    size_t b = 0, e = len;
    if (k == P_SEQ) {
        *n = (size_t)snprintf(buf, bufsize, "%llu", seq);
        *start = buf;
        return;
    }
    if (k == P_DIR) {
        /* POSIX dirname: strip trailing slashes, the last component, then
         * the slashes before it; "." if nothing is left, "/" for the root. */
        while (e > 1 && arg[e - 1] == '/') e--;
        while (e > 0 && arg[e - 1] != '/') e--;
        if (e == 0) {
            *start = ".";
            *n = 1;
            return;
        }
        while (e > 1 && arg[e - 1] == '/') e--;
        *start = arg;
        *n = e;
        return;
    }
    if (k == P_BASE || k == P_BASENOEXT) { /* s:.*\/:: */
        for (size_t i = len; i > 0; i--)
            if (arg[i - 1] == '/') {
                b = i;
                break;
            }
    }
    if (k == P_NOEXT || k == P_BASENOEXT) { /* s:\.[^/.]*$:: */
        for (size_t i = e; i > b; i--) {
            if (arg[i - 1] == '/') break;
            if (arg[i - 1] == '.') {
                e = i - 1;
                break;
            }
        }
    }
    *start = arg + b;
    *n = e - b;
}

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} strbuf;

static void sb_add(strbuf *sb, const char *s, size_t n) {
    if (sb->oom) return;
    if (sb->len + n + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 64;
        while (cap < sb->len + n + 1) cap *= 2;
        char *p = realloc(sb->p, cap);
        if (p == NULL) {
            sb->oom = 1;
            return;
        }
        sb->p = p;
        sb->cap = cap;
    }
    memcpy(sb->p + sb->len, s, n);
    sb->len += n;
    sb->p[sb->len] = '\0';
}

static void sb_add_quoted(strbuf *sb, int k, const char *arg, size_t len, unsigned long long seq) {
    char buf[32];
    const char *v;
    size_t n;
    value_of(k, arg, len, seq, buf, sizeof buf, &v, &n);
    char *q = mr_shell_quote(v, n);
    if (q == NULL) {
        sb->oom = 1;
        return;
    }
    sb_add(sb, q, strlen(q));
    free(q);
}

static void add_value(strbuf *sb, ph h, char *const *args, size_t nargs, unsigned long long seq) {
    if (h.kind == P_SEQ) {
        sb_add_quoted(sb, P_SEQ, "", 0, seq);
    } else if (h.pos > 0) {
        if (h.pos <= nargs) sb_add_quoted(sb, h.kind, args[h.pos - 1], strlen(args[h.pos - 1]), seq);
        /* else nothing at all, not even '': what parallel gives */
    } else {
        for (size_t i = 0; i < nargs; i++) {
            if (i) sb_add(sb, " ", 1);
            sb_add_quoted(sb, h.kind, args[i], strlen(args[i]), seq);
        }
        if (nargs == 0) sb_add_quoted(sb, h.kind, "", 0, seq);
    }
}

char *mr_template_expand(const char *tmpl, char *const *args, size_t nargs, unsigned long long seq) {
    strbuf sb = {NULL, 0, 0, 0};
    sb_add(&sb, "", 0);
    if (tmpl == NULL) {
        for (size_t i = 0; i < nargs; i++) {
            if (i) sb_add(&sb, " ", 1);
            sb_add(&sb, args[i], strlen(args[i]));
        }
    } else {
        int any = 0;
        for (const char *p = tmpl; *p;) {
            ph h = placeholder_at(p);
            if (h.kind >= 0) {
                add_value(&sb, h, args, nargs, seq);
                any = 1;
                p += h.len;
            } else {
                sb_add(&sb, p++, 1);
            }
        }
        if (!any) {
            sb_add(&sb, " ", 1);
            add_value(&sb, (ph){P_ARG, 0, 2}, args, nargs, seq);
        }
    }
    if (sb.oom) {
        free(sb.p);
        return NULL;
    }
    return sb.p;
}
