/*
 * mpipool-run.c — a task farm for batch jobs, built on mpipool's public API:
 *
 *     mpirun -n 64 mpipool-run [options] [command template] < inputs
 *
 * Rank 0 reads the input lines, fills the template (template.c) and streams
 * one item per job through mpipool_imap(); a worker runs each job as
 * /bin/sh -c in its own process group (runner.c) and sends back one result:
 * exit status, signal, times and the captured stdout and stderr.  Rank 0
 * writes the joblog (joblog.c), the --results files and the output.  With
 * one rank the master runs the jobs itself (the library does that).
 *
 * Why these choices:
 *  - imap, unordered, one job per chunk: jobs are whole programs, so the
 *    message cost per job is nothing, and a chunk of one means a job's
 *    result comes back the moment it ends.  The tool orders output itself
 *    (--keep-order), because a retried job is finished after later ones.
 *    Output that must wait for an earlier job goes to a spool file on rank
 *    0, not to memory.
 *  - Retries run in later rounds (a new imap over the jobs to retry), since
 *    an imap's source cannot be refilled once it has ended.  A retry names
 *    the rank it failed on; the first item of a round goes to rank 1, the
 *    next to rank 2 and so on (the engine's first pass), so the round is laid
 *    out with filler items to put each retry on another rank, and a rank
 *    that gets a job it must avoid anyway sends it back ("bounced") for the
 *    next round, at most MAX_BOUNCES times, after which it runs anywhere.
 *  - A side channel (MR_CTL_STOP on our own duplicate of MPI_COMM_WORLD)
 *    lets rank 0 stop the jobs running on workers: for --halt now, and for
 *    a SIGTERM that reached rank 0 only.  A worker probes for it while it
 *    waits on its child.  Rank 0 sends it from a small thread woken through
 *    a pipe (so a signal handler can trigger it) when MPI gives
 *    MPI_THREAD_MULTIPLE; otherwise from the imap callbacks, which then run
 *    on the main thread.  MR_CTL_DONE, sent after the pool is closed, tells
 *    each worker that no STOP can follow, so no message is left unreceived.
 *  - SIGTERM (a batch system's time limit) stops the jobs in flight; they are
 *    not written to the joblog, so --resume runs them again; the joblog is
 *    fsync'ed; the exit status is 143 (see EXIT_RESUMABLE).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <mpi.h>
#include <mpipool.h>

#include "farm.h"
#include "joblog.h"
#include "progress.h"
#include "runner.h"
#include "template.h"

/* Exit statuses, as GNU parallel's: 0 all jobs succeeded, 1..100 that many
 * failed, 101 more than 100 failed, 255 a usage or other error.  We add
 * 143 = 128 + SIGTERM: stopped by SIGTERM, the joblog is complete and
 * --resume will finish the work.  143 is what a shell reports for a
 * program killed by SIGTERM, so scripts and batch systems that already
 * treat "killed at the time limit" as "requeue" do the right thing, and it
 * cannot be confused with a count of failed jobs (at most 101). */
#define EXIT_USAGE 255
#define EXIT_RESUMABLE 143
#define MAX_BOUNCES 3

/* ---- state shared with signal handlers and the runner ------------------- */

static volatile sig_atomic_t g_term;  /* SIGTERM/SIGINT arrived on this rank   */
static volatile sig_atomic_t g_halt;  /* rank 0 asked us to stop (halt, term)  */
static MPI_Comm g_ctl = MPI_COMM_NULL;
static int g_rank, g_nranks;
static char g_host[64];
static int g_wake[2] = {-1, -1};      /* rank 0: wakes the stop thread         */

static void on_signal(int sig) {
    (void)sig;
    int saved = errno;
    g_term = 1;
    if (g_wake[1] >= 0) {
        ssize_t w = write(g_wake[1], "T", 1);
        (void)w;
    }
    errno = saved;
}

static void install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a closed stdout is an error we report, not a death */
}

static void diag(const char *fmt, ...) MPIPOOL__PRINTF(1, 2);
static void diag(const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (g_rank == 0) fprintf(stderr, "mpipool-run: %s\n", msg);
    else fprintf(stderr, "mpipool-run: [rank %d] %s\n", g_rank, msg);
}

/* ---- the worker side: one job --------------------------------------------- */

/* Should the running job stop?  On a worker, look for rank 0's STOP. */
static int should_stop(void *ctx) {
    (void)ctx;
    if (g_term || g_halt) return 1;
    if (g_rank != 0 && g_ctl != MPI_COMM_NULL) {
        int flag = 0;
        MPI_Status st;
        if (MPI_Iprobe(0, MR_CTL_STOP, g_ctl, &flag, &st) == MPI_SUCCESS && flag) {
            MPI_Recv(NULL, 0, MPI_BYTE, 0, MR_CTL_STOP, g_ctl, MPI_STATUS_IGNORE);
            g_halt = 1;
        }
    }
    return g_term || g_halt;
}

/* The job's environment: ours, with MPIPOOL_TASK_ID and MPIPOOL_RANK set. */
static char **job_env(unsigned long long seq, int rank) {
    extern char **environ;
    size_t n = 0;
    while (environ[n]) n++;
    char **env = malloc((n + 3) * sizeof *env);
    char *id = malloc(48), *rk = malloc(48);
    if (env == NULL || id == NULL || rk == NULL) {
        free(env);
        free(id);
        free(rk);
        return NULL;
    }
    snprintf(id, 48, "MPIPOOL_TASK_ID=%llu", seq);
    snprintf(rk, 48, "MPIPOOL_RANK=%d", rank);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "MPIPOOL_TASK_ID=", 16) != 0 &&
            strncmp(environ[i], "MPIPOOL_RANK=", 13) != 0)
            env[k++] = environ[i];
    env[k++] = id;
    env[k++] = rk;
    env[k] = NULL;
    return env;
}

static void job_env_free(char **env) {
    if (env == NULL) return;
    size_t n = 0;
    while (env[n]) n++;
    free(env[n - 1]);
    free(env[n - 2]);
    free(env);
}

/* The task every rank registers: run one job, return a res_hdr + output. */
static int farm_job(mpipool_task *t) {
    item_hdr h;
    res_hdr r;
    if (t->in_size < sizeof h) return mpipool_task_fail(t, "[rank %d] malformed item", t->rank);
    memcpy(&h, t->in, sizeof h);
    memset(&r, 0, sizeof r);
    r.seq = h.seq;
    r.rank = t->rank;
    snprintf(r.host, sizeof r.host, "%s", g_host);
    mr_run_result rr;
    memset(&rr, 0, sizeof rr);
    rr.out.fd = rr.err.fd = -1;
    if (h.flags & MR_ITEM_FILLER) {
        r.flags = MR_RES_FILLER;
    } else if (h.avoid_rank >= 0 && h.avoid_rank == t->rank) {
        r.flags = MR_RES_BOUNCED;
    } else if (should_stop(NULL)) {
        r.flags = MR_RES_INTERRUPTED;
    } else {
        size_t clen = t->in_size - sizeof h;
        char *cmd = malloc(clen + 1);
        char **env = job_env(h.seq, t->rank);
        if (cmd == NULL || env == NULL) {
            free(cmd);
            job_env_free(env);
            return mpipool_task_fail(t, "[rank %d] out of memory for job %llu", t->rank,
                                     (unsigned long long)h.seq);
        }
        memcpy(cmd, (const char *)t->in + sizeof h, clen);
        cmd[clen] = '\0';
        int rc = mr_run(cmd, env, h.timeout, should_stop, NULL, &rr);
        free(cmd);
        job_env_free(env);
        r.exitval = rr.exitval;
        r.signal = rr.signal;
        r.start = rr.start;
        r.runtime = rr.runtime;
        if (rc != 0) {
            r.flags |= MR_RES_SPAWN;
            diag("job %llu: cannot start /bin/sh: %s", (unsigned long long)h.seq,
                 strerror(rr.spawn_error));
        }
        if (rr.timed_out) r.flags |= MR_RES_TIMEDOUT;
        if (rr.interrupted) r.flags |= MR_RES_INTERRUPTED;
        if (rr.out.error || rr.err.error) {
            r.flags |= MR_RES_LOST;
            diag("job %llu: output lost: %s", (unsigned long long)h.seq,
                 strerror(rr.out.error ? rr.out.error : rr.err.error));
        }
        if (!rr.interrupted) {
            r.out_len = mr_capture_size(&rr.out);
            r.err_len = mr_capture_size(&rr.err);
        }
    }
    if (g_term) r.flags |= MR_RES_TERM;
    uint64_t total = sizeof r + r.out_len + r.err_len;
    char *out = total > SIZE_MAX ? NULL : mpipool_task_output(t, (size_t)total);
    if (out == NULL) {
        mr_run_result_free(&rr);
        return mpipool_task_fail(t, "[rank %d] no memory for the %llu bytes of output of job %llu",
                                 t->rank, (unsigned long long)total, (unsigned long long)h.seq);
    }
    memcpy(out, &r, sizeof r);
    int ok = 1;
    if (r.out_len && mr_capture_copy(&rr.out, out + sizeof r) != 0) ok = 0;
    if (r.err_len && mr_capture_copy(&rr.err, out + sizeof r + r.out_len) != 0) ok = 0;
    mr_run_result_free(&rr);
    if (!ok)
        return mpipool_task_fail(t, "[rank %d] cannot read back the spilled output of job %llu",
                                 t->rank, (unsigned long long)h.seq);
    return 0;
}
MPIPOOL_TASK(farm_job);

/* ---- the master: options --------------------------------------------------- */

typedef struct options {
    const char *argfile, *joblog, *results;
    char *tmpl; /* NULL: each line is a command */
    int keep_order, tag, resume, resume_failed;
    double timeout;
    unsigned retries; /* total tries per job, as parallel's --retries (0, 1: once) */
    int halt_now;     /* halt mode: 0 never, 1 soon, 2 now */
    unsigned long long halt_fail;
    unsigned progress;
} options;

static void usage(FILE *f) {
    fprintf(f,
        "Usage: mpirun -n N mpipool-run [options] [command template] < inputs\n"
        "Run a command for every input line across the ranks of an MPI job\n"
        "(rank 0 hands out the jobs, the other ranks run them).\n"
        "\n"
        "Without a template each input line is a whole shell command.  In a template\n"
        "{} is the line, {.} the line without extension, {/} its basename, {//} its\n"
        "dirname, {/.} the basename without extension, {#} the job number; values\n"
        "are shell-quoted; with no placeholder, \" {}\" is appended (GNU parallel).\n"
        "\n"
        "Options:\n"
        "  -a, --arg-file FILE  read input lines from FILE (- for standard input)\n"
        "  -k, --keep-order     print output in input order (default: as jobs finish)\n"
        "      --tag            prefix each output line with the input line and a tab\n"
        "      --results DIR    also write DIR/<job>/{stdout,stderr,exitval,signal,cmd}\n"
        "      --joblog FILE    log each finished job in GNU parallel's joblog format\n"
        "      --resume         skip jobs the joblog lists; refuse a joblog whose\n"
        "                       commands do not match the input\n"
        "      --resume-failed  the same, but run again the jobs that failed\n"
        "      --timeout SECS   kill a job's process group after SECS seconds\n"
        "      --retries N      run a failing job up to N times in all, on another\n"
        "                       rank where there is one\n"
        "      --halt WHEN      never (default), now,fail=N (kill running jobs after\n"
        "                       N failures), soon,fail=N (let running jobs finish)\n"
        "      --progress, --eta, --bar\n"
        "                       show progress on stderr when it is a terminal\n"
        "  -h, --help           show this help and exit\n"
        "  -V, --version        show the version and exit\n"
        "\n"
        "Each job gets MPIPOOL_TASK_ID (its number) and MPIPOOL_RANK in its environment.\n"
        "Exit status: 0 if every job succeeded, N (up to 100) if N jobs failed, 101 if\n"
        "more failed, 143 if stopped by SIGTERM (resumable with --resume), 255 for a\n"
        "usage or other error.  See mpipool-run(1).\n");
}

static int parse_ull(const char *s, unsigned long long *v) {
    char *end;
    if (s == NULL || *s < '0' || *s > '9') return -1;
    errno = 0;
    *v = strtoull(s, &end, 10);
    return errno || *end ? -1 : 0;
}

static int parse_halt(const char *s, options *o) {
    unsigned long long n;
    if (strcmp(s, "never") == 0 || strcmp(s, "0") == 0) {
        o->halt_now = 0;
        return 0;
    }
    if (strcmp(s, "1") == 0 || strcmp(s, "2") == 0) { /* parallel's old numeric forms */
        o->halt_now = s[0] == '2' ? 2 : 1;
        o->halt_fail = 1;
        return 0;
    }
    const char *rest;
    if (strncmp(s, "now,fail=", 9) == 0) {
        o->halt_now = 2;
        rest = s + 9;
    } else if (strncmp(s, "soon,fail=", 10) == 0) {
        o->halt_now = 1;
        rest = s + 10;
    } else {
        return -1;
    }
    if (parse_ull(rest, &n) != 0 || n == 0) return -1;
    o->halt_fail = n;
    return 0;
}

/* 0: run; 1: --help/--version done; -1: usage error (reported). */
static int parse_options(int argc, char **argv, options *o) {
    enum { O_TAG = 256, O_RESULTS, O_JOBLOG, O_RESUME, O_RESUME_FAILED, O_TIMEOUT, O_RETRIES,
           O_HALT, O_PROGRESS, O_ETA, O_BAR };
    static const struct option longs[] = {
        {"arg-file", required_argument, NULL, 'a'}, {"keep-order", no_argument, NULL, 'k'},
        {"tag", no_argument, NULL, O_TAG}, {"results", required_argument, NULL, O_RESULTS},
        {"joblog", required_argument, NULL, O_JOBLOG}, {"resume", no_argument, NULL, O_RESUME},
        {"resume-failed", no_argument, NULL, O_RESUME_FAILED},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"retries", required_argument, NULL, O_RETRIES}, {"halt", required_argument, NULL, O_HALT},
        {"progress", no_argument, NULL, O_PROGRESS}, {"eta", no_argument, NULL, O_ETA},
        {"bar", no_argument, NULL, O_BAR}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->retries = 1;
    opterr = 0;
    optind = 1;
    int c;
    unsigned long long n;
    while ((c = getopt_long(argc, argv, "+:a:khV", longs, NULL)) != -1) {
        switch (c) {
        case 'a': o->argfile = optarg; break;
        case 'k': o->keep_order = 1; break;
        case O_TAG: o->tag = 1; break;
        case O_RESULTS: o->results = optarg; break;
        case O_JOBLOG: o->joblog = optarg; break;
        case O_RESUME: o->resume = 1; break;
        case O_RESUME_FAILED: o->resume_failed = 1; break;
        case O_TIMEOUT: {
            char *end;
            errno = 0;
            o->timeout = strtod(optarg, &end);
            if (errno || *end || !(o->timeout > 0) || o->timeout > 1e9) {
                diag("--timeout wants a number of seconds > 0, not '%s'", optarg);
                return -1;
            }
            break;
        }
        case O_RETRIES:
            if (parse_ull(optarg, &n) != 0 || n > 255) {
                diag("--retries wants a whole number from 0 to 255, not '%s'", optarg);
                return -1;
            }
            o->retries = n ? (unsigned)n : 1;
            break;
        case O_HALT:
            if (parse_halt(optarg, o) != 0) {
                diag("--halt wants never, now,fail=N or soon,fail=N (N >= 1), not '%s'", optarg);
                return -1;
            }
            break;
        case O_PROGRESS: o->progress |= MR_PROGRESS_COUNTS; break;
        case O_ETA: o->progress |= MR_PROGRESS_ETA; break;
        case O_BAR: o->progress |= MR_PROGRESS_BAR; break;
        case 'h': usage(stdout); return 1;
        case 'V':
            printf("mpipool-run (mpipool) %s\n", mpipool_version_string());
            return 1;
        case ':':
            diag("option '%s' needs an argument (see --help)", argv[optind - 1]);
            return -1;
        default:
            if (optopt) diag("unknown option '-%c' (see --help)", optopt);
            else diag("unknown option '%s' (see --help)", argv[optind - 1]);
            return -1;
        }
    }
    if ((o->resume || o->resume_failed) && o->joblog == NULL) {
        diag("--resume and --resume-failed need --joblog FILE");
        return -1;
    }
    if (o->resume && o->resume_failed) {
        diag("--resume and --resume-failed exclude each other");
        return -1;
    }
    if (optind < argc) {
        size_t len = 0;
        for (int i = optind; i < argc; i++) len += strlen(argv[i]) + 1;
        o->tmpl = malloc(len);
        if (o->tmpl == NULL) return -1;
        o->tmpl[0] = '\0';
        for (int i = optind; i < argc; i++) {
            if (i > optind) strcat(o->tmpl, " ");
            strcat(o->tmpl, argv[i]);
        }
        char err[256];
        if (mr_template_check(o->tmpl, NULL, err, sizeof err) != 0) {
            diag("%s", err);
            return -1;
        }
    }
    return 0;
}

/* ---- the master: the run --------------------------------------------------- */

enum { R_NEW, R_RUNNING, R_RETRY, R_SPOOLED, R_PRINTED, R_SKIPPED, R_NOTRUN };

/* One job.  cmd and arg live until the job is final (needed for retries,
 * --tag, the joblog); the spool fields locate output waiting for -k. */
typedef struct rec {
    char *cmd, *arg;
    size_t arg_len;
    uint8_t state, tries, bounces;
    int32_t last_rank;
    int64_t spool_off;
    uint64_t out_len, err_len; /* as spooled (tagged) */
} rec;

typedef struct retry {
    uint64_t seq;
    int32_t avoid;
} retry;

typedef struct known { /* what the joblog says about a job (--resume) */
    char *cmd;
    int present, ok;
} known;

typedef struct run {
    options o;
    FILE *in;
    char *line;
    size_t line_cap;
    char **pre; /* --resume: the whole input, read first */
    size_t npre, pre_next;
    int input_done;
    rec *recs; /* recs[seq], seq from 1 */
    size_t nrecs, recs_cap;
    uint64_t *round_seq; /* this round: item index -> seq (0: filler) */
    size_t round_cap;
    retry *retries, *round_list;
    size_t nretries, retries_cap, round_n, round_next;
    known *log;
    size_t nlog;
    int joblog_fd;
    int joblog_error;
    FILE *spool;
    int64_t spool_end;
    uint64_t next_print;
    char *itembuf;
    size_t itembuf_cap;
    int workers;          /* ranks that run jobs (1 in a one-rank pool)          */
    int stopping, halted; /* no new jobs: SIGTERM or --halt                      */
    int term_seen;        /* a worker reported a SIGTERM                         */
    int fatal;
    int have_thread;
    pthread_mutex_t stop_lock;
    int stop_sent;
    mr_counts c;
    mr_progress prog;
} run;

/* Tell every worker to stop its running job (once).  Safe from any thread
 * when the stop thread exists (MPI_THREAD_MULTIPLE); otherwise called only
 * from the imap callbacks, which then run on the main thread. */
static void send_stop_all(run *R) {
    pthread_mutex_lock(&R->stop_lock);
    if (!R->stop_sent) {
        R->stop_sent = 1;
        for (int r = 1; r < g_nranks; r++) MPI_Send(NULL, 0, MPI_BYTE, r, MR_CTL_STOP, g_ctl);
    }
    pthread_mutex_unlock(&R->stop_lock);
}

static void request_stop(run *R) {
    g_halt = 1; /* a one-rank pool: the master's own running job stops */
    if (g_nranks == 1) return;
    if (R->have_thread) {
        ssize_t w = write(g_wake[1], "H", 1);
        (void)w;
    } else {
        send_stop_all(R);
    }
}

static void *stop_thread(void *arg) {
    run *R = arg;
    char ch;
    for (;;) {
        ssize_t n = read(g_wake[0], &ch, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || ch == 'Q') return NULL;
        send_stop_all(R);
    }
}

/* Called from the callbacks: has a signal arrived since we last looked? */
static void check_term(run *R) {
    if (g_term && !R->stopping) {
        R->stopping = 1;
        if (!R->have_thread) request_stop(R);
    }
}

static int rec_ensure(run *R, uint64_t seq) {
    if (seq < R->recs_cap) return 0;
    size_t cap = R->recs_cap ? R->recs_cap : 1024;
    while (cap <= seq) cap *= 2;
    rec *p = realloc(R->recs, cap * sizeof *p);
    if (p == NULL) return -1;
    memset(p + R->recs_cap, 0, (cap - R->recs_cap) * sizeof *p);
    R->recs = p;
    R->recs_cap = cap;
    return 0;
}

/* The next input line (without its newline) as [*p, *p + *n); 0 at the end. */
static int next_line(run *R, const char **p, size_t *n) {
    if (R->pre) {
        if (R->pre_next >= R->npre) return 0;
        *p = R->pre[R->pre_next];
        *n = strlen(*p);
        R->pre_next++;
        return 1;
    }
    ssize_t len = getline(&R->line, &R->line_cap, R->in);
    if (len < 0) return 0;
    if (len > 0 && R->line[len - 1] == '\n') len--;
    *p = R->line;
    *n = (size_t)len;
    return 1;
}

static int fill_item(run *R, size_t index, uint64_t seq, int32_t avoid, mpipool_buf *item) {
    const char *cmd = seq ? R->recs[seq].cmd : "";
    size_t clen = strlen(cmd), need = sizeof(item_hdr) + clen;
    if (index >= R->round_cap) {
        size_t cap = R->round_cap ? R->round_cap * 2 : 1024;
        while (cap <= index) cap *= 2;
        uint64_t *p = realloc(R->round_seq, cap * sizeof *p);
        if (p == NULL) return -1;
        R->round_seq = p;
        R->round_cap = cap;
    }
    if (need > R->itembuf_cap) {
        char *p = realloc(R->itembuf, need);
        if (p == NULL) return -1;
        R->itembuf = p;
        R->itembuf_cap = need;
    }
    item_hdr h = {seq, R->o.timeout, avoid, seq ? 0u : MR_ITEM_FILLER};
    memcpy(R->itembuf, &h, sizeof h);
    memcpy(R->itembuf + sizeof h, cmd, clen);
    R->round_seq[index] = seq;
    item->data = R->itembuf;
    item->size = need;
    if (seq) {
        R->recs[seq].state = R_RUNNING;
        R->recs[seq].tries++;
        R->c.running++;
    }
    return 1;
}

static void flush_ready(run *R);

/* Round 1: the input lines. */
static int source_input(void *ctx, size_t index, mpipool_buf *item) {
    run *R = ctx;
    const char *p;
    size_t n;
    check_term(R);
    if (R->stopping || R->fatal) return 0;
    for (;;) {
        if (!next_line(R, &p, &n)) {
            R->input_done = 1;
            R->c.total = R->nrecs;
            return 0;
        }
        uint64_t seq = ++R->nrecs;
        if (rec_ensure(R, seq) != 0) goto oom;
        rec *r = &R->recs[seq];
        if (seq < R->nlog && R->log[seq].present && (R->o.resume || R->log[seq].ok)) {
            r->state = R_SKIPPED;
            R->c.skipped++;
            flush_ready(R);
            continue;
        }
        r->cmd = mr_template_expand(R->o.tmpl, p, n, seq);
        r->arg = malloc(n + 1);
        if (r->cmd == NULL || r->arg == NULL) goto oom;
        memcpy(r->arg, p, n);
        r->arg[n] = '\0';
        r->arg_len = n;
        r->last_rank = -1;
        return fill_item(R, index, seq, -1, item) < 0 ? -1 : 1;
    }
oom:
    diag("out of memory reading the input");
    R->fatal = 1;
    return -1;
}

/* Later rounds: the retries, laid out by plan_round(). */
static int source_retries(void *ctx, size_t index, mpipool_buf *item) {
    run *R = ctx;
    check_term(R);
    if (R->stopping || R->fatal || R->round_next >= R->round_n) return 0;
    retry *t = &R->round_list[R->round_next++];
    if (fill_item(R, index, t->seq, t->avoid, item) < 0) {
        R->fatal = 1;
        return -1;
    }
    return 1;
}

/* Write `n` bytes to f, each line prefixed with the tag when tag != NULL.
 * Returns the number of bytes written (with the tags). */
static uint64_t emit(FILE *f, const char *tag, size_t tag_len, const char *p, uint64_t n) {
    if (tag == NULL) return fwrite(p, 1, (size_t)n, f);
    uint64_t w = 0;
    while (n > 0) {
        const char *nl = memchr(p, '\n', (size_t)n);
        size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)n;
        w += fwrite(tag, 1, tag_len, f) + fwrite("\t", 1, 1, f) + fwrite(p, 1, len, f);
        p += len;
        n -= len;
    }
    return w;
}

static void copy_spool(run *R, int64_t off, uint64_t n, FILE *to) {
    char buf[65536];
    if (n == 0) return;
    if (fseeko(R->spool, off, SEEK_SET) != 0) return;
    while (n > 0) {
        size_t want = n > sizeof buf ? sizeof buf : (size_t)n;
        size_t got = fread(buf, 1, want, R->spool);
        if (got == 0) break;
        fwrite(buf, 1, got, to);
        n -= got;
    }
}

/* Print, in order, every job from next_print on whose fate is settled. */
static void flush_ready(run *R) {
    if (!R->o.keep_order) return;
    while (R->next_print <= R->nrecs) {
        rec *r = &R->recs[R->next_print];
        if (r->state == R_SPOOLED) {
            copy_spool(R, r->spool_off, r->out_len, stdout);
            copy_spool(R, r->spool_off + (int64_t)r->out_len, r->err_len, stderr);
            r->state = R_PRINTED;
        } else if (r->state != R_PRINTED && r->state != R_SKIPPED && r->state != R_NOTRUN) {
            break;
        }
        R->next_print++;
    }
}

static void write_file(const char *dir, const char *name, const char *p, size_t n) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n) diag("cannot write %s: %s", path, strerror(errno));
    if (f && fclose(f) != 0) diag("cannot write %s: %s", path, strerror(errno));
}

static void write_results(run *R, uint64_t seq, const res_hdr *h, const char *out, const char *err) {
    char dir[4096], num[64];
    snprintf(dir, sizeof dir, "%s/%llu", R->o.results, (unsigned long long)seq);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        diag("cannot create %s: %s", dir, strerror(errno));
        return;
    }
    write_file(dir, "stdout", out, (size_t)h->out_len);
    write_file(dir, "stderr", err, (size_t)h->err_len);
    int n = snprintf(num, sizeof num, "%d\n", h->exitval);
    write_file(dir, "exitval", num, (size_t)n);
    n = snprintf(num, sizeof num, "%d\n", h->signal);
    write_file(dir, "signal", num, (size_t)n);
    write_file(dir, "cmd", R->recs[seq].cmd, strlen(R->recs[seq].cmd));
}

static void write_joblog(run *R, uint64_t seq, const res_hdr *h) {
    if (R->joblog_fd < 0) return;
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
    size_t len;
    char *line = mr_joblog_format(&e, &len);
    /* One write(2) per line, O_APPEND: a run killed at any moment leaves
     * whole lines, at worst a torn last one, which --resume drops. */
    if (line == NULL || write(R->joblog_fd, line, len) != (ssize_t)len) {
        if (!R->joblog_error) diag("cannot write the joblog %s: %s", R->o.joblog, strerror(errno));
        R->joblog_error = 1;
    }
    free(line);
}

/* A job's final result: joblog, --results, output, counts. */
static void finish_job(run *R, uint64_t seq, const res_hdr *h, const char *out, const char *err,
                       int failed) {
    rec *r = &R->recs[seq];
    write_joblog(R, seq, h);
    if (R->o.results) write_results(R, seq, h, out, err);
    const char *tag = R->o.tag ? r->arg : NULL;
    if (!R->o.keep_order || seq == R->next_print) {
        emit(stdout, tag, r->arg_len, out, h->out_len);
        fflush(stdout);
        emit(stderr, tag, r->arg_len, err, h->err_len);
        r->state = R_PRINTED;
    } else {
        if (fseeko(R->spool, R->spool_end, SEEK_SET) != 0) R->fatal = 1;
        r->spool_off = R->spool_end;
        r->out_len = emit(R->spool, tag, r->arg_len, out, h->out_len);
        r->err_len = emit(R->spool, tag, r->arg_len, err, h->err_len);
        R->spool_end += (int64_t)(r->out_len + r->err_len);
        r->state = R_SPOOLED;
    }
    free(r->cmd);
    free(r->arg);
    r->cmd = r->arg = NULL;
    if (failed) R->c.failed++;
    else R->c.done++;
    flush_ready(R);
    fflush(stdout);
    if (failed && R->o.halt_now && R->c.failed >= R->o.halt_fail && !R->halted) {
        R->halted = 1;
        R->stopping = 1;
        diag("halting after %llu failed job(s) (--halt %s)", R->c.failed,
             R->o.halt_now == 2 ? "now" : "soon");
        if (R->o.halt_now == 2) request_stop(R);
    }
}

static int push_retry(run *R, uint64_t seq, int32_t avoid) {
    if (R->nretries == R->retries_cap) {
        size_t cap = R->retries_cap ? R->retries_cap * 2 : 64;
        retry *p = realloc(R->retries, cap * sizeof *p);
        if (p == NULL) return -1;
        R->retries = p;
        R->retries_cap = cap;
    }
    R->retries[R->nretries].seq = seq;
    R->retries[R->nretries].avoid = avoid;
    R->nretries++;
    R->recs[seq].state = R_RETRY;
    return 0;
}

static int sink(void *ctx, size_t index, const void *result, size_t size, int status,
                const char *message) {
    run *R = ctx;
    check_term(R);
    uint64_t seq = index < R->round_cap ? R->round_seq[index] : 0;
    if (seq == 0) return 0; /* a filler */
    rec *r = &R->recs[seq];
    R->c.running--;
    res_hdr h;
    if (status != MPIPOOL_OK || size < sizeof h) {
        /* The worker could not send the job's result (out of memory). */
        diag("job %llu: %s", (unsigned long long)seq, message ? message : "no result");
        memset(&h, 0, sizeof h);
        h.seq = seq;
        h.exitval = -1;
        snprintf(h.host, sizeof h.host, ":");
        finish_job(R, seq, &h, "", "", 1);
        mr_progress_update(&R->prog, &R->c, 0);
        return 0;
    }
    memcpy(&h, result, sizeof h);
    if ((h.flags & MR_RES_TERM) && !R->term_seen) {
        /* A worker was signalled but maybe not rank 0: stop everything,
         * exactly as if the signal had reached us. */
        R->term_seen = 1;
        R->stopping = 1;
        request_stop(R);
    }
    const char *out = (const char *)result + sizeof h, *err = out + h.out_len;
    if (h.flags & MR_RES_BOUNCED) {
        r->tries--; /* it did not run */
        r->bounces++;
        if (push_retry(R, seq, r->bounces >= MAX_BOUNCES ? -1 : r->last_rank) != 0) R->fatal = 1;
        return 0;
    }
    if (h.flags & MR_RES_INTERRUPTED) {
        r->state = R_NOTRUN;
        flush_ready(R);
        return 0;
    }
    int failed = h.exitval != 0 || h.signal != 0 || (h.flags & (MR_RES_SPAWN | MR_RES_LOST));
    if (failed && h.exitval == 0 && h.signal == 0) h.exitval = -1; /* say so in the joblog */
    if (failed && r->tries < R->o.retries && !R->stopping) {
        r->last_rank = h.rank;
        r->bounces = 0;
        if (push_retry(R, seq, R->workers > 1 ? h.rank : -1) != 0) R->fatal = 1;
        return 0;
    }
    finish_job(R, seq, &h, out, err, failed);
    mr_progress_update(&R->prog, &R->c, 0);
    return 0;
}

/* Lay out a retry round: item p goes to rank p + 1 in the engine's first
 * pass over idle workers, so put filler items where a retry would land on
 * the rank it must avoid. */
static int plan_round(run *R) {
    size_t n = R->nretries, cap = 2 * n + (size_t)R->workers + 1;
    retry *l = realloc(R->round_list, cap * sizeof *l);
    if (l == NULL) return -1;
    R->round_list = l;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        retry t = R->retries[i];
        while (k < (size_t)R->workers && t.avoid == (int32_t)k + 1 && k < cap - 1) {
            l[k].seq = 0; /* filler */
            l[k].avoid = -1;
            k++;
        }
        l[k++] = t;
    }
    R->round_n = k;
    R->round_next = 0;
    R->nretries = 0;
    return 0;
}

/* --resume: read the joblog, then the whole input, and check they agree. */
static int load_joblog(run *R) {
    FILE *f = fopen(R->o.joblog, "r");
    if (f == NULL) return errno == ENOENT ? 0 : (diag("cannot read the joblog %s: %s", R->o.joblog, strerror(errno)), -1);
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    off_t good = 0;
    int rc = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (line[len - 1] != '\n') break; /* torn by a killed run: dropped below */
        len--;
        if (lineno == 1) {
            if (!mr_joblog_is_header(line, (size_t)len)) {
                diag("%s is not a joblog (its first line is not parallel's header)", R->o.joblog);
                rc = -1;
                break;
            }
            good = ftello(f);
            continue;
        }
        mr_joblog_entry e;
        if (mr_joblog_parse(line, (size_t)len, &e, NULL) != 0 || e.seq > 100000000ull) {
            diag("%s line %zu is not a joblog line; refusing to resume", R->o.joblog, lineno);
            rc = -1;
            break;
        }
        if (e.seq >= R->nlog) {
            size_t ncap = R->nlog ? R->nlog : 1024;
            while (ncap <= e.seq) ncap *= 2;
            known *k = realloc(R->log, ncap * sizeof *k);
            if (k == NULL) {
                rc = -1;
                break;
            }
            memset(k + R->nlog, 0, (ncap - R->nlog) * sizeof *k);
            R->log = k;
            R->nlog = ncap;
        }
        known *k = &R->log[e.seq];
        char *cmd = strndup(e.command, e.command_len);
        if (cmd == NULL) {
            rc = -1;
            break;
        }
        for (char *q = cmd; q < cmd + e.command_len; q++)
            if (*q == '\0') *q = '\n';
        if (k->present && strcmp(k->cmd, cmd) != 0) {
            diag("%s lists job %llu twice with different commands; refusing to resume",
                 R->o.joblog, e.seq);
            free(cmd);
            rc = -1;
            break;
        }
        free(k->cmd);
        k->cmd = cmd;
        k->present = 1;
        k->ok |= mr_joblog_succeeded(&e);
        good = ftello(f);
    }
    free(line);
    int torn = rc == 0 && !feof(f);
    if (rc == 0 && !torn) {
        fseeko(f, 0, SEEK_END);
        torn = ftello(f) != good;
    }
    fclose(f);
    if (rc == 0 && torn) {
        diag("%s ends in a torn line (a killed run); dropping it", R->o.joblog);
        if (truncate(R->o.joblog, good) != 0) {
            diag("cannot truncate %s: %s", R->o.joblog, strerror(errno));
            return -1;
        }
    }
    if (rc != 0) return rc;

    /* The input, whole, so every logged command can be checked first. */
    const char *p;
    size_t n, cap2 = 0, npre = 0;
    char **pre = NULL;
    while (next_line(R, &p, &n)) { /* from the file: R->pre is still NULL */
        if (npre == cap2) {
            cap2 = cap2 ? cap2 * 2 : 1024;
            char **q = realloc(pre, cap2 * sizeof *q);
            if (q == NULL) break;
            pre = q;
        }
        if ((pre[npre] = strndup(p, n)) == NULL) break;
        npre++;
    }
    R->pre = pre;
    R->npre = npre;
    if (!feof(R->in)) {
        diag("cannot read the input: %s", ferror(R->in) ? strerror(errno) : "out of memory");
        return -1;
    }
    for (size_t s = 1; s < R->nlog; s++) {
        if (!R->log[s].present) continue;
        if (s > R->npre) {
            diag("%s lists job %zu but the input has only %zu line(s); refusing to resume "
                 "(the input changed?)", R->o.joblog, s, R->npre);
            return -1;
        }
        char *cmd = mr_template_expand(R->o.tmpl, R->pre[s - 1], strlen(R->pre[s - 1]), s);
        int same = cmd && strcmp(cmd, R->log[s].cmd) == 0;
        if (!same)
            diag("%s says job %zu ran '%s' but the input now gives '%s'; refusing to resume "
                 "(the input or the template changed)", R->o.joblog, s, R->log[s].cmd,
                 cmd ? cmd : "?");
        free(cmd);
        if (!same) return -1;
    }
    return 0;
}

static int open_outputs(run *R) {
    if (R->o.joblog) {
        int append = (R->o.resume || R->o.resume_failed) && R->nlog > 0;
        struct stat st;
        if ((R->o.resume || R->o.resume_failed) && stat(R->o.joblog, &st) == 0 && st.st_size > 0)
            append = 1;
        R->joblog_fd = open(R->o.joblog, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0666);
        if (R->joblog_fd < 0) {
            diag("cannot write the joblog %s: %s", R->o.joblog, strerror(errno));
            return -1;
        }
        size_t hl = strlen(MR_JOBLOG_HEADER);
        if (!append && write(R->joblog_fd, MR_JOBLOG_HEADER, hl) != (ssize_t)hl) {
            diag("cannot write the joblog %s: %s", R->o.joblog, strerror(errno));
            return -1;
        }
    }
    if (R->o.results && mkdir(R->o.results, 0777) != 0 && errno != EEXIST) {
        diag("cannot create the results directory %s: %s", R->o.results, strerror(errno));
        return -1;
    }
    if (R->o.keep_order && (R->spool = tmpfile()) == NULL) {
        diag("cannot create a spool file for --keep-order: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static double wall(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int master(mpipool *pool, int argc, char **argv, int thread_multiple) {
    run *R = calloc(1, sizeof *R);
    if (R == NULL) return EXIT_USAGE;
    double t0 = wall();
    int code = EXIT_USAGE;
    pthread_t th;
    R->joblog_fd = -1;
    R->next_print = 1;
    R->workers = mpipool_size(pool);
    pthread_mutex_init(&R->stop_lock, NULL);
    int pr = parse_options(argc, argv, &R->o);
    if (pr != 0) {
        code = pr > 0 ? 0 : EXIT_USAGE;
        goto done;
    }
    R->in = stdin;
    if (R->o.argfile && strcmp(R->o.argfile, "-") != 0 && (R->in = fopen(R->o.argfile, "r")) == NULL) {
        diag("cannot read %s: %s", R->o.argfile, strerror(errno));
        R->in = NULL;
        goto done;
    }
    if ((R->o.resume || R->o.resume_failed) && load_joblog(R) != 0) goto done;
    if (open_outputs(R) != 0) goto done;

    if (g_nranks > 1 && thread_multiple && pipe2(g_wake, O_CLOEXEC) == 0) {
        if (pthread_create(&th, NULL, stop_thread, R) == 0) {
            R->have_thread = 1;
        } else {
            close(g_wake[0]);
            close(g_wake[1]);
            g_wake[0] = g_wake[1] = -1;
        }
    }
    mr_progress_init(&R->prog, R->o.progress);

    mpipool_imap_options io = MPIPOOL_IMAP_OPTIONS_INIT;
    io.unordered = 1; /* we order output ourselves (retries finish late) */
    io.chunk_size = 1;
    mpipool_sink sk = {sink, R};
    mpipool_source src = {source_input, R};
    int rc = mpipool_imap(pool, farm_job, &src, &sk, &io);
    while (rc != MPIPOOL_EMPI && rc != MPIPOOL_EPROTO && !R->fatal && !R->stopping &&
           R->nretries > 0) {
        if (plan_round(R) != 0) {
            R->fatal = 1;
            break;
        }
        mpipool_source rs = {source_retries, R};
        rc = mpipool_imap(pool, farm_job, &rs, &sk, &io);
    }
    check_term(R);
    if (rc != MPIPOOL_OK && rc != MPIPOOL_ETASK && rc != MPIPOOL_ECANCELED) {
        diag("the pool failed: %s: %s", mpipool_err_name(rc), mpipool_last_error(pool));
        R->fatal = 1;
    }
    /* Jobs that never got to run (halt, SIGTERM) or whose retry was cut
     * short: settle them so the rest prints. */
    for (size_t i = 0; i < R->nretries; i++) {
        rec *r = &R->recs[R->retries[i].seq];
        r->state = R_NOTRUN;
        R->c.failed++;
    }
    for (uint64_t s = 1; s <= R->nrecs; s++)
        if (R->recs[s].state == R_RUNNING || R->recs[s].state == R_RETRY) R->recs[s].state = R_NOTRUN;
    flush_ready(R);
    fflush(stdout);
    if (R->joblog_fd >= 0 && fsync(R->joblog_fd) != 0 && errno != EINVAL) {
        diag("cannot sync the joblog %s: %s", R->o.joblog, strerror(errno));
        R->joblog_error = 1;
    }
    mr_progress_update(&R->prog, &R->c, 1);
    mr_progress_end(&R->prog);
    unsigned long long notrun = 0;
    for (uint64_t s = 1; s <= R->nrecs; s++) notrun += R->recs[s].state == R_NOTRUN;
    /* Jobs cut short on a retry are counted as failed, not as not run. */
    notrun -= R->nretries;
    diag("%llu done, %llu failed, %llu skipped, %llu not run%s, %.1f s wall", R->c.done,
         R->c.failed, R->c.skipped, notrun, R->input_done || !R->stopping ? "" : " (and input left unread)",
         wall() - t0);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        diag("cannot write standard output: %s", strerror(errno));
        R->fatal = 1;
    }
    if (g_term || R->term_seen) {
        diag("stopped by a signal; run again with --resume to finish");
        code = EXIT_RESUMABLE;
    } else if (R->fatal) {
        code = EXIT_USAGE;
    } else {
        code = R->c.failed == 0 ? 0 : R->c.failed <= 100 ? (int)R->c.failed : 101;
        if (code == 0 && R->joblog_error) code = EXIT_USAGE;
    }

done:
    if (R->have_thread) {
        ssize_t w = write(g_wake[1], "Q", 1);
        (void)w;
        pthread_join(th, NULL);
        close(g_wake[0]);
        close(g_wake[1]);
        g_wake[0] = g_wake[1] = -1;
    }
    if (R->joblog_fd >= 0) close(R->joblog_fd);
    if (R->spool) fclose(R->spool);
    if (R->in && R->in != stdin) fclose(R->in);
    for (uint64_t s = 0; s < R->recs_cap; s++) {
        free(R->recs[s].cmd);
        free(R->recs[s].arg);
    }
    for (size_t s = 0; s < R->nlog; s++) free(R->log[s].cmd);
    for (size_t s = 0; s < R->npre; s++) free(R->pre[s]);
    free(R->pre);
    free(R->log);
    free(R->recs);
    free(R->round_seq);
    free(R->retries);
    free(R->round_list);
    free(R->itembuf);
    free(R->line);
    free(R->o.tmpl);
    pthread_mutex_destroy(&R->stop_lock);
    free(R);
    return code;
}

/* ---- main: every rank ------------------------------------------------------- */

int main(int argc, char **argv) {
    int provided = MPI_THREAD_SINGLE;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "mpipool-run: MPI_Init_thread failed\n");
        return EXIT_USAGE;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_nranks);
    MPI_Comm_dup(MPI_COMM_WORLD, &g_ctl);
    if (gethostname(g_host, sizeof g_host) != 0 || g_host[0] == '\0') snprintf(g_host, sizeof g_host, ":");
    g_host[sizeof g_host - 1] = '\0';
    for (char *p = g_host; *p; p++) /* parallel's joblog reader wants one word */
        if (*p == ' ' || *p == '\t' || *p == '\n') *p = '_';
    install_signals();

    mpipool *pool;
    int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
    if (rc != MPIPOOL_OK) {
        diag("cannot open the pool: %s", mpipool_last_error(NULL));
        MPI_Comm_free(&g_ctl);
        MPI_Finalize();
        return EXIT_USAGE;
    }
    int code = 0;
    if (!mpipool_is_master(pool)) {
        rc = mpipool_serve(pool);
        if (rc == MPIPOOL_OK) {
            /* Take every STOP rank 0 sent, up to its DONE. */
            MPI_Status st;
            do {
                MPI_Recv(NULL, 0, MPI_BYTE, 0, MPI_ANY_TAG, g_ctl, &st);
            } while (st.MPI_TAG != MR_CTL_DONE);
        } else {
            code = 1;
        }
    } else {
        code = master(pool, argc, argv, provided == MPI_THREAD_MULTIPLE);
        if (mpipool_close(pool) != MPIPOOL_OK) {
            diag("closing the pool failed: %s", mpipool_last_error(NULL));
            if (code == 0) code = EXIT_USAGE;
        }
        for (int r = 1; r < g_nranks; r++) MPI_Send(NULL, 0, MPI_BYTE, r, MR_CTL_DONE, g_ctl);
    }
    MPI_Comm_free(&g_ctl);
    MPI_Finalize();
    return code;
}
