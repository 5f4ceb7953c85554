/*
 * resume.c — reading the input ahead and the joblog back, for --resume
 * and --resume-failed (and --halt N%, which needs the number of jobs).
 *
 * Invariants: the whole input is read before the joblog, so a joblog line
 * is checked against the job it names before anything is allocated for
 * it (a damaged line naming job 99999999 is refused by its line number,
 * not trusted); every logged command must be the command the input and
 * the template give for that job now, or nothing runs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "joblog.h"
#include "run.h"
#include "template.h"

int mr_read_ahead(run *R) {
    char **args;
    size_t nargs, cap = 0;
    int r;
    while ((r = mr_input_next(&R->in, &args, &nargs)) > 0) {
        if (R->npre == cap) {
            cap = cap ? cap * 2 : 1024;
            packed *p = realloc(R->pre, cap * sizeof *p);
            if (p == NULL) goto oom;
            R->pre = p;
        }
        packed *p = &R->pre[R->npre];
        if ((p->args = mr_pack_args(args, nargs, &p->len)) == NULL) goto oom;
        p->nargs = (uint32_t)nargs;
        R->npre++;
    }
    if (R->pre == NULL && (R->pre = malloc(sizeof *R->pre)) == NULL) goto oom;
    return r;
oom:
    mr_diag("out of memory reading the input ahead");
    return -1;
}

/* The command job `seq` (1..npre) runs now. */
static char *command_of(run *R, size_t seq) {
    packed *p = &R->pre[seq - 1];
    char **v = malloc((p->nargs + 1) * sizeof *v);
    if (v == NULL) return NULL;
    const char *a = p->args;
    for (uint32_t i = 0; i < p->nargs; i++, a += strlen(a) + 1) v[i] = (char *)(uintptr_t)a;
    char *cmd = mr_template_expand(R->o.tmpl, v, p->nargs, seq);
    free(v);
    return cmd;
}

/* One joblog line (not the header): remember it in R->log[seq]. */
static int take_line(run *R, const char *line, size_t len, size_t lineno) {
    mr_joblog_entry e;
    if (mr_joblog_parse(line, len, &e, NULL) != 0) {
        mr_diag("%s line %zu is not a joblog line; refusing to resume", R->o.joblog, lineno);
        return -1;
    }
    if (e.seq > R->npre) {
        mr_diag("%s line %zu names job %llu but the input has only %zu job(s); refusing to "
                "resume (the input changed, or the joblog is damaged)", R->o.joblog, lineno,
                e.seq, R->npre);
        return -1;
    }
    known *k = &R->log[e.seq];
    char *cmd = strndup(e.command, e.command_len);
    if (cmd == NULL) return -1;
    for (char *q = cmd; q < cmd + e.command_len; q++)
        if (*q == '\0') *q = '\n';
    if (k->present && strcmp(k->cmd, cmd) != 0) {
        mr_diag("%s lists job %llu twice with different commands (line %zu); refusing to resume",
                R->o.joblog, e.seq, lineno);
        free(cmd);
        return -1;
    }
    if (!k->present) {
        char *now = command_of(R, e.seq);
        int same = now && strcmp(now, cmd) == 0;
        if (!same)
            mr_diag("%s line %zu says job %llu ran '%s' but the input and template now give "
                    "'%s'; refusing to resume (use a new joblog for a changed command)",
                    R->o.joblog, lineno, e.seq, cmd, now ? now : "?");
        free(now);
        if (!same) {
            free(cmd);
            return -1;
        }
    }
    free(k->cmd);
    k->cmd = cmd;
    k->present = 1;
    k->ok |= mr_joblog_succeeded(&e);
    return 0;
}

/* Read the joblog (already open and locked); drop a torn last line. */
int mr_load_joblog(run *R) {
    FILE *f = fopen(R->o.joblog, "r");
    if (f == NULL) {
        mr_diag("cannot read the joblog %s: %s", R->o.joblog, strerror(errno));
        return -1;
    }
    if ((R->log = calloc(R->npre + 1, sizeof *R->log)) == NULL) {
        fclose(f);
        return -1;
    }
    R->nlog = R->npre + 1;
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    off_t good = 0;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (line[len - 1] != '\n') break; /* torn by a killed run: dropped below */
        len--;
        if (lineno == 1 && !mr_joblog_is_header(line, (size_t)len)) {
            mr_diag("%s is not a joblog (its first line is not parallel's header)", R->o.joblog);
            rc = -1;
        } else if (lineno > 1) {
            rc = take_line(R, line, (size_t)len, lineno);
        }
        if (rc == 0) good = ftello(f);
    }
    free(line);
    int torn = 0;
    if (rc == 0 && fseeko(f, 0, SEEK_END) == 0) torn = ftello(f) != good;
    fclose(f);
    if (rc == 0 && torn) {
        mr_diag("%s ends in a torn line (a killed run); dropping it", R->o.joblog);
        if (ftruncate(R->joblog_fd, good) != 0) {
            mr_diag("cannot truncate %s: %s", R->o.joblog, strerror(errno));
            return -1;
        }
    }
    return rc;
}
