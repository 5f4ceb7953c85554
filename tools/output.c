/*
 * output.c — settling a finished job on rank 0: its --results files, its
 * joblog line, its output (in input order with -k), the counts and --halt.
 *
 * Invariants:
 *  - order: --results, then the joblog, then the output.  A job is in the
 *    joblog (so skipped by --resume) only once its --results files are
 *    whole: if they cannot be written the job is not logged, and the run
 *    ends with 255 naming it.  A job whose output is printed is in the
 *    joblog, so --resume never prints it a second time.
 *  - the joblog is never written by two runs at once: it is locked
 *    (mr_open_joblog) until this process and its jobs are gone, so a
 *    --resume started while we still run is refused.  So once the launcher
 *    is gone we stop as on SIGTERM — no job starts, running ones are
 *    killed — but still log the jobs that had finished, which --resume
 *    would otherwise run a second time.  Only an unlocked joblog (--joblog
 *    -, standard output, which went with the launcher) gets no more lines.
 *  - with -k, job N's output is printed only after every earlier job's; a
 *    result that must wait goes to a spool file, not to memory.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "joblog.h"
#include "run.h"

static void write_joblog(run *R, char *line, size_t len);

char *mr_pack_args(char *const *args, size_t nargs, size_t *len) {
    size_t n = 0;
    for (size_t i = 0; i < nargs; i++) n += strlen(args[i]) + 1;
    char *p = malloc(n ? n : 1);
    if (p == NULL) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < nargs; i++) {
        size_t l = strlen(args[i]) + 1;
        memcpy(p + o, args[i], l);
        o += l;
    }
    *len = n;
    return p;
}

/* Write `n` bytes to f, each line prefixed with the tag (the arguments
 * joined with spaces, then a tab) when tag != NULL.  Returns the bytes
 * written, tags included. */
static uint64_t emit(FILE *f, const rec *tag, const char *p, uint64_t n) {
    if (tag == NULL) return fwrite(p, 1, (size_t)n, f);
    uint64_t w = 0;
    while (n > 0) {
        const char *nl = memchr(p, '\n', (size_t)n);
        size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)n;
        for (size_t i = 0; i < tag->args_len; i++)
            w += fputc(tag->args[i] ? tag->args[i] : (i + 1 < tag->args_len ? ' ' : '\t'), f) != EOF;
        if (tag->args_len == 0) w += fputc('\t', f) != EOF;
        w += fwrite(p, 1, len, f);
        p += len;
        n -= len;
    }
    return w;
}

static void copy_spool(run *R, int64_t off, uint64_t n, FILE *to) {
    char buf[65536];
    if (n == 0 || fseeko(R->spool, off, SEEK_SET) != 0) return;
    while (n > 0) {
        size_t want = n > sizeof buf ? sizeof buf : (size_t)n;
        size_t got = fread(buf, 1, want, R->spool);
        if (got == 0) break;
        fwrite(buf, 1, got, to);
        n -= got;
    }
}

void mr_flush_ready(run *R) {
    if (!R->o.keep_order) return;
    while (R->next_print <= R->nrecs) {
        rec *r = &R->recs[R->next_print];
        if (r->state == R_SPOOLED) {
            if (r->logline) write_joblog(R, r->logline, r->logline_len); /* -k: input order */
            r->logline = NULL;
            copy_spool(R, r->spool_off, r->out_len, stdout);
            copy_spool(R, r->spool_off + (int64_t)r->out_len, r->err_len, stderr);
            r->state = R_PRINTED;
        } else if (r->state != R_PRINTED && r->state != R_SKIPPED && r->state != R_NOTRUN) {
            break;
        }
        R->next_print++;
    }
}

/* ---- --results ---------------------------------------------------------- */

/* An argument as a directory name, as parallel writes it: \ as \\, / as
 * \_.  Where parallel's names collide or escape ("", ".", ".."), ours are
 * \e, \. and \.\. (an escaped name never holds a lone \ otherwise). */
static int add_component(char *path, size_t cap, size_t *o, const char *a) {
    const char *special = a[0] == '\0' ? "\\e" : strcmp(a, ".") == 0 ? "\\." :
                          strcmp(a, "..") == 0 ? "\\.\\." : NULL;
    if (special) a = special;
    for (; *a; a++) {
        const char *rep = special ? NULL : *a == '\\' ? "\\\\" : *a == '/' ? "\\_" : NULL;
        size_t l = rep ? 2 : 1;
        if (*o + l + 1 >= cap) return -1;
        memcpy(path + *o, rep ? rep : a, l);
        *o += l;
    }
    path[*o] = '\0';
    return 0;
}

static int make_dir(const char *path) {
    if (mkdir(path, 0777) == 0 || errno == EEXIST) return 0;
    mr_diag("cannot create %s: %s", path, strerror(errno));
    return -1;
}

static int write_file(const char *dir, const char *name, const char *p, size_t n) {
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(p, 1, n, f) == n;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok) mr_diag("cannot write %s: %s", path, strerror(errno));
    return ok ? 0 : -1;
}

/* DIR/1/<arg1>/2/<arg2>/... then seq, stdout, stderr (parallel's files)
 * and exitval, signal, cmd (ours).  0, or -1 if any of it failed. */
static int write_results(run *R, uint64_t seq, const res_hdr *h, const char *out, const char *err) {
    rec *r = &R->recs[seq];
    char dir[4096], num[64];
    size_t o = (size_t)snprintf(dir, sizeof dir, "%s", R->o.results);
    const char *a = r->args;
    for (uint32_t k = 0; k < r->nargs; k++, a += strlen(a) + 1) {
        int n = snprintf(dir + o, sizeof dir - o, "/%u/", k + 1);
        if (n < 0 || o + (size_t)n >= sizeof dir) goto too_long;
        dir[o + (size_t)n - 1] = '\0';
        if (make_dir(dir) != 0) return -1;
        dir[o + (size_t)n - 1] = '/';
        o += (size_t)n;
        if (add_component(dir, sizeof dir, &o, a) != 0) goto too_long;
        if (make_dir(dir) != 0) return -1;
    }
    int rc = 0, n = snprintf(num, sizeof num, "%llu\n", (unsigned long long)seq);
    rc |= write_file(dir, "seq", num, (size_t)n);
    rc |= write_file(dir, "stdout", out, (size_t)h->out_len);
    rc |= write_file(dir, "stderr", err, (size_t)h->err_len);
    n = snprintf(num, sizeof num, "%d\n", h->exitval);
    rc |= write_file(dir, "exitval", num, (size_t)n);
    n = snprintf(num, sizeof num, "%d\n", h->signal);
    rc |= write_file(dir, "signal", num, (size_t)n);
    rc |= write_file(dir, "cmd", r->cmd, strlen(r->cmd));
    return rc;
too_long:
    mr_diag("job %llu: its --results path is over %zu bytes", (unsigned long long)seq, sizeof dir);
    return -1;
}

/* ---- the joblog --------------------------------------------------------- */

/* One run per joblog: locked until we exit (a job's guard process
 * inherits the lock, so it is held until the last job is gone too).  A
 * run that continues the joblog (--resume, --resume-failed, +FILE) waits
 * up to JOBLOG_WAIT seconds for the run that holds it, which may be a
 * killed run winding down (its ranks stop within ORPHAN_GRACE of their
 * launcher's death, ranks.c), so "kill, then --resume at once" works; a
 * new run is refused at once.  0, or -1 (reported). */
#define JOBLOG_WAIT 10
static int lock_joblog(int fd, const char *path, int keep) {
    int waited = 0;
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR) continue;
        if (errno != EWOULDBLOCK) {
            mr_diag("cannot lock the joblog %s: %s", path, strerror(errno));
            return -1;
        }
        if (!keep || waited >= JOBLOG_WAIT * 20 || g_term) {
            if (waited)
                mr_diag("the joblog %s is still in use by another run after %d s (it is locked); "
                        "refusing to run", path, JOBLOG_WAIT);
            else
                mr_diag("the joblog %s is in use by another run (it is locked); refusing to run", path);
            return -1;
        }
        if (waited++ == 0)
            mr_diag("the joblog %s is in use by another run; waiting up to %d s for it to end", path,
                    JOBLOG_WAIT);
        struct timespec tick = {0, 50 * 1000000L};
        nanosleep(&tick, NULL);
    }
    return 0;
}

int mr_open_joblog(run *R) {
    const char *path = R->o.joblog;
    if (path == NULL) return 0;
    if (strcmp(path, "-") == 0) { /* parallel: the joblog on standard output */
        R->joblog_fd = STDOUT_FILENO;
        fputs(MR_JOBLOG_HEADER, stdout);
        fflush(stdout);
        return 0;
    }
    int keep = R->o.resume || R->o.resume_failed || R->o.joblog_append;
    R->joblog_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (R->joblog_fd < 0) {
        mr_diag("cannot write the joblog %s: %s", path, strerror(errno));
        return -1;
    }
    if (lock_joblog(R->joblog_fd, path, keep) != 0) return -1;
    R->joblog_locked = 1;
    struct stat st;
    if (fstat(R->joblog_fd, &st) != 0 || (!keep && ftruncate(R->joblog_fd, 0) != 0)) {
        mr_diag("cannot write the joblog %s: %s", path, strerror(errno));
        return -1;
    }
    fcntl(R->joblog_fd, F_SETFL, O_APPEND);
    size_t hl = strlen(MR_JOBLOG_HEADER);
    if ((!keep || st.st_size == 0) && write(R->joblog_fd, MR_JOBLOG_HEADER, hl) != (ssize_t)hl) {
        mr_diag("cannot write the joblog %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* The joblog line of job `seq` (malloc'd, or NULL when out of memory). */
static char *joblog_line(run *R, uint64_t seq, const res_hdr *h, size_t *len) {
    mr_joblog_entry e;
    memset(&e, 0, sizeof e);
    e.seq = seq;
    e.host = h->host;
    e.start = h->start;
    e.runtime = h->runtime;
    e.receive = h->out_len; /* parallel: the bytes of stdout */
    e.exitval = h->exitval;
    e.signal = h->signal;
    e.command = R->recs[seq].cmd;
    e.command_len = strlen(e.command);
    return mr_joblog_format(&e, len);
}

/* Write one line (and free it).  Unlocked (standard output): nothing once
 * the launcher is gone. */
static void write_joblog(run *R, char *line, size_t len) {
    if (R->joblog_fd < 0 || (!R->joblog_locked && mr_launcher_gone())) {
        free(line);
        return;
    }
    if (R->joblog_fd == STDOUT_FILENO) fflush(stdout);
    /* One write(2) per line, O_APPEND: a run killed at any moment leaves
     * whole lines, at worst a torn last one, which --resume drops. */
    if (line == NULL || write(R->joblog_fd, line, len) != (ssize_t)len) {
        if (!R->joblog_error) mr_diag("cannot write the joblog %s: %s", R->o.joblog, strerror(errno));
        R->joblog_error = 1;
    }
    free(line);
}

/* ---- --halt --------------------------------------------------------------- */

/* parallel's rule (its Job::should_we_halt): count what --halt counts; at
 * the limit, start no more jobs (soon) or also kill the running ones (now);
 * the exit status is the failing job's own status for fail=1 or done=1,
 * the number failed for a count, the percentage failed for N%, 0 for
 * success. */
static void check_halt(run *R, const res_hdr *h, int failed) {
    const options *o = &R->o;
    unsigned long long limit;
    if (o->halt_when == HALT_NEVER || R->halted) return;
    if (o->halt_on == HALT_ON_FAIL && failed) limit = R->c.failed;
    else if (o->halt_on == HALT_ON_SUCCESS && !failed) limit = R->c.done;
    else if (o->halt_on == HALT_ON_DONE) limit = R->c.done + R->c.failed;
    else return;
    double total = (double)(R->c.total ? R->c.total : 1);
    double count = o->halt_pct > 0 ? total * o->halt_pct : (double)o->halt_count;
    if ((double)limit < count) return;
    R->halted = 1;
    R->stopping = 1;
    if (o->halt_on == HALT_ON_SUCCESS) R->halt_status = 0;
    else if (o->halt_pct > 0) R->halt_status = (int)ceil((double)R->c.failed / total * 100.0);
    else if (o->halt_count == 1) R->halt_status = h->exitval ? h->exitval & 255 : h->signal ? h->signal + 128 : 0;
    else R->halt_status = R->c.failed > 101 ? 101 : (int)R->c.failed;
    mr_diag("halting after job %llu (--halt %s): %s", (unsigned long long)h->seq,
            o->halt_when == HALT_NOW ? "now: killing the running jobs" : "soon",
            o->halt_when == HALT_NOW ? "no more jobs start" : "no more jobs start; waiting for the running ones");
    if (o->halt_when == HALT_NOW) R->stop_now = 1; /* master.c stops the running jobs */
}

void mr_finish_job(run *R, uint64_t seq, const res_hdr *h, const char *out, const char *err,
                   int failed) {
    rec *r = &R->recs[seq];
    int recorded = 1;
    if (R->o.results && write_results(R, seq, h, out, err) != 0) {
        mr_diag("job %llu: its --results could not be written: not logged as done (--resume "
                "will run it again)", (unsigned long long)seq);
        R->unrecorded++;
        recorded = 0;
    }
    /* -k: a job printed later is logged later, so the joblog is in input
     * order, as parallel writes it. */
    int direct = !R->o.keep_order || seq == R->next_print;
    if (recorded && R->joblog_fd >= 0) {
        size_t len = 0;
        char *line = joblog_line(R, seq, h, &len);
        if (direct || line == NULL) write_joblog(R, line, len);
        r->logline = direct ? NULL : line;
        r->logline_len = len;
    }
    const rec *tag = R->o.tag ? r : NULL;
    if (!recorded || (R->o.results && direct)) {
        r->state = R_PRINTED; /* parallel prints nothing with --results */
    } else if (direct) {
        if (R->o.verbose) printf("%s\n", r->cmd);
        emit(stdout, tag, out, h->out_len);
        fflush(stdout);
        emit(stderr, tag, err, h->err_len);
        r->state = R_PRINTED;
    } else {
        if (fseeko(R->spool, R->spool_end, SEEK_SET) != 0) R->fatal = 1;
        r->spool_off = R->spool_end;
        r->out_len = r->err_len = 0;
        if (!R->o.results) {
            r->out_len = R->o.verbose ? (uint64_t)fprintf(R->spool, "%s\n", r->cmd) : 0;
            r->out_len += emit(R->spool, tag, out, h->out_len);
            r->err_len = emit(R->spool, tag, err, h->err_len);
        }
        R->spool_end += (int64_t)(r->out_len + r->err_len);
        r->state = R_SPOOLED;
    }
    free(r->cmd);
    free(r->args);
    r->cmd = r->args = NULL;
    if (failed) R->c.failed++;
    else R->c.done++;
    mr_flush_ready(R);
    fflush(stdout);
    check_halt(R, h, failed);
}
