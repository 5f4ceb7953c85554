/*
 * joblog.c — writing and reading GNU parallel's joblog.
 *
 * We write exactly what parallel 20221122 writes (print_joblog): Starttime
 * with "%.3f", JobRuntime with "%10.3f", Send and Receive as byte counts,
 * newlines in the command as NUL bytes.  parallel's --resume reads a line
 * with /^(\d+)/ and --resume-failed with /^(\d+)(?:\t[^\t]+){5}\t0\t0\t/,
 * and rejects a line that fails /\d+\s+\S+\s+([-0-9.]+\s+){6}/, so a host
 * must be one non-empty word and every number field must be present.
 * Reading is stricter than parallel's: all nine fields, numbers where
 * numbers belong, so a corrupt log is refused rather than half-believed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "joblog.h"

char *mr_joblog_format(const mr_joblog_entry *e, size_t *len) {
    char head[256];
    int h = snprintf(head, sizeof head, "%llu\t%s\t%.3f\t%10.3f\t%llu\t%llu\t%d\t%d\t", e->seq,
                     e->host && *e->host ? e->host : ":", e->start, e->runtime, e->send,
                     e->receive, e->exitval, e->signal);
    if (h < 0 || (size_t)h >= sizeof head) return NULL;
    size_t n = (size_t)h + e->command_len + 1;
    char *r = malloc(n + 1);
    if (r == NULL) return NULL;
    memcpy(r, head, (size_t)h);
    for (size_t i = 0; i < e->command_len; i++)
        r[(size_t)h + i] = e->command[i] == '\n' ? '\0' : e->command[i];
    r[n - 1] = '\n';
    r[n] = '\0';
    *len = n;
    return r;
}

int mr_joblog_is_header(const char *line, size_t len) {
    size_t hl = strlen(MR_JOBLOG_HEADER) - 1;
    return len == hl && memcmp(line, MR_JOBLOG_HEADER, hl) == 0;
}

/* The next tab-separated field of line[*pos..len) as [*b, *e). */
static int field(const char *line, size_t len, size_t *pos, size_t *b, size_t *e) {
    if (*pos > len) return -1;
    *b = *pos;
    while (*pos < len && line[*pos] != '\t') (*pos)++;
    *e = *pos;
    if (*pos == len) return -1; /* every field but the command ends in a tab */
    (*pos)++;
    return 0;
}

static int parse_ull(const char *s, size_t n, unsigned long long *v) {
    char buf[32];
    if (n == 0 || n >= sizeof buf) return -1;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    *v = strtoull(buf, NULL, 10);
    return errno ? -1 : 0;
}

static int parse_int(const char *s, size_t n, int *v) {
    unsigned long long u;
    int neg = n > 0 && s[0] == '-';
    if (parse_ull(s + neg, n - (size_t)neg, &u) != 0 || u > 1000000) return -1;
    *v = neg ? -(int)u : (int)u;
    return 0;
}

static int parse_double(const char *s, size_t n, double *v) {
    char buf[64];
    size_t i = 0;
    while (i < n && s[i] == ' ') i++; /* "%10.3f" pads with spaces */
    s += i;
    n -= i;
    if (n == 0 || n >= sizeof buf) return -1;
    for (size_t k = 0; k < n; k++)
        if (!((s[k] >= '0' && s[k] <= '9') || s[k] == '.' || s[k] == '-')) return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    *v = strtod(buf, &end);
    return *end == '\0' ? 0 : -1;
}

int mr_joblog_parse(const char *line, size_t len, mr_joblog_entry *e, size_t *host_len) {
    size_t pos = 0, b[8], en[8];
    memset(e, 0, sizeof *e);
    for (int i = 0; i < 8; i++)
        if (field(line, len, &pos, &b[i], &en[i]) != 0) return -1;
    if (parse_ull(line + b[0], en[0] - b[0], &e->seq) != 0 || e->seq == 0) return -1;
    if (en[1] == b[1]) return -1;
    for (size_t i = b[1]; i < en[1]; i++)
        if (line[i] == ' ') return -1;
    e->host = line + b[1];
    if (host_len) *host_len = en[1] - b[1];
    if (parse_double(line + b[2], en[2] - b[2], &e->start) != 0 ||
        parse_double(line + b[3], en[3] - b[3], &e->runtime) != 0 ||
        parse_ull(line + b[4], en[4] - b[4], &e->send) != 0 ||
        parse_ull(line + b[5], en[5] - b[5], &e->receive) != 0 ||
        parse_int(line + b[6], en[6] - b[6], &e->exitval) != 0 ||
        parse_int(line + b[7], en[7] - b[7], &e->signal) != 0)
        return -1;
    e->command = line + pos;
    e->command_len = len - pos;
    return 0;
}

int mr_joblog_succeeded(const mr_joblog_entry *e) { return e->exitval == 0 && e->signal == 0; }
