/*
 * template.c — placeholder expansion for mpipool-run, following GNU parallel
 * (20221122) where it defines the meaning:
 *
 *   {}    the input line            {.}   without its extension
 *   {/}   basename                  {//}  dirname (POSIX dirname(3))
 *   {/.}  basename, no extension    {#}   the sequence number (1-based)
 *
 * "Extension" and "basename" are parallel's regular expressions, not path
 * logic: {.} is s:\.[^/.]*$::, {/} is s:.*\/::, so "a/b/" has basename "".
 * Values are shell-quoted as parallel quotes them, so the commands we run
 * (and write to the joblog) are the commands parallel runs.
 *
 * Where we differ, on purpose: parallel passes anything it does not know
 * through as text.  We do the same for braces holding other text ({print},
 * ${HOME}, {a,b}), but a brace group made only of placeholder characters
 * (. / #) that is not one of the six above, a positional {1} (parallel's
 * several input sources, which we do not have) or such a group left
 * unterminated is a usage error: it is almost always a typo, and running
 * ten thousand wrong commands is worse than refusing.
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "template.h"

enum { P_NONE = -1, P_ARG, P_NOEXT, P_BASE, P_DIR, P_BASENOEXT, P_SEQ };

static const char *const names[] = {"{}", "{.}", "{/}", "{//}", "{/.}", "{#}"};

/* The kind of placeholder starting at p (length in *n), P_NONE for plain
 * text, or -2 for a malformed one (then *n is how far it reaches). */
static int placeholder_at(const char *p, size_t *n) {
    if (*p != '{') return P_NONE;
    for (int k = 0; k < (int)(sizeof names / sizeof *names); k++) {
        size_t l = strlen(names[k]);
        if (strncmp(p, names[k], l) == 0) {
            *n = l;
            return k;
        }
    }
    size_t i = 1;
    while (p[i] == '.' || p[i] == '/' || p[i] == '#' || (p[i] >= '0' && p[i] <= '9')) i++;
    if (i > 1 && (p[i] == '}' || p[i] == '\0')) {
        *n = p[i] == '}' ? i + 1 : i;
        return -2;
    }
    return P_NONE;
}

int mr_template_check(const char *tmpl, int *has_placeholder, char *err, size_t errlen) {
    int any = 0;
    if (has_placeholder) *has_placeholder = 0;
    if (tmpl == NULL) return 0;
    for (const char *p = tmpl; *p; p++) {
        size_t n = 0;
        int k = placeholder_at(p, &n);
        if (k == -2) {
            int digits = p[1] >= '0' && p[1] <= '9';
            snprintf(err, errlen, "%s placeholder '%.*s' in the command template%s",
                     p[n - 1] == '}' ? (digits ? "unsupported positional" : "unknown")
                                     : "unterminated",
                     (int)n, p,
                     digits ? " (there is one input source: use {})"
                            : " (known: {} {.} {/} {//} {/.} {#})");
            return -1;
        }
        if (k >= 0) {
            any = 1;
            p += n - 1;
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

char *mr_template_expand(const char *tmpl, const char *arg, size_t len, unsigned long long seq) {
    strbuf sb = {NULL, 0, 0, 0};
    if (tmpl == NULL) {
        sb_add(&sb, arg, len);
        if (sb.p == NULL && !sb.oom) sb_add(&sb, "", 0);
        if (sb.oom) free(sb.p);
        return sb.oom ? NULL : sb.p;
    }
    int any = 0;
    const char *p = tmpl;
    while (*p) {
        size_t n = 0;
        int k = placeholder_at(p, &n);
        if (k >= 0) {
            sb_add_quoted(&sb, k, arg, len, seq);
            any = 1;
            p += n;
        } else {
            sb_add(&sb, p, 1);
            p++;
        }
    }
    if (!any) {
        sb_add(&sb, " ", 1);
        sb_add_quoted(&sb, P_ARG, arg, len, seq);
    }
    if (sb.oom) {
        free(sb.p);
        return NULL;
    }
    return sb.p;
}
