/*
 * job.c — the worker side of mpipool-run: one job in, one result out.
 *
 * farm_job() runs on whichever rank the pool gives the item to (a worker,
 * or rank 0 in a one-rank pool).  It runs the command through runner.c,
 * and while the command runs it looks (should_stop) for a SIGTERM on this
 * rank and for rank 0's MR_CTL_STOP on the tool's own communicator, so a
 * halt or a shutdown reaches jobs that are already running.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <mpi.h>
#include <mpipool.h>

#include "farm.h"
#include "runner.h"

static int g_gate_pending; /* our last job asked rank 0 for a word (MR_RES_GATED) */

/* How long a job that died of a stop signal waits for its rank's own
 * (see cut_short). */
#define STOP_GRACE 1.0

/* Should the running job stop?  On a worker, look for rank 0's STOP. */
static int should_stop(void *ctx) {
    (void)ctx;
    mr_launcher_gone();
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

/* Before a job, on a worker whose last job was gated: rank 0's word on
 * whether that job halted the farm (--halt).  Blocking: rank 0 answers as
 * soon as it has seen that result. */
static void wait_gate(void) {
    if (!g_gate_pending) return;
    g_gate_pending = 0;
    char go = MR_GATE_GO;
    if (MPI_Recv(&go, 1, MPI_CHAR, 0, MR_CTL_GATE, g_ctl, MPI_STATUS_IGNORE) != MPI_SUCCESS ||
        go != MR_GATE_GO)
        g_nostart = 1;
}

/* Did the job fail (the rule rank 0 applies too)? */
static int job_failed(const res_hdr *r) {
    return r->exitval != 0 || r->signal != 0 || (r->flags & (MR_RES_SPAWN | MR_RES_LOST));
}

/* Did it die the way a stop kills: SIGTERM, SIGINT, SIGHUP or SIGKILL, or
 * a shell's 128 + one of them (its child died of it)? */
static int died_of_stop_signal(const mr_run_result *rr) {
    static const int stops[] = {SIGTERM, SIGINT, SIGHUP, SIGKILL};
    for (size_t i = 0; i < sizeof stops / sizeof *stops; i++)
        if (rr->signal == stops[i] || rr->exitval == 128 + stops[i]) return 1;
    return 0;
}

/* Was the job cut short by the farm's own stop (a signal to mpipool-run,
 * its launcher's death, rank 0's STOP for those or for --halt now)?  Then
 * its end is not a result: it is not logged, and --resume runs it again,
 * as GNU parallel logs no job that ends after its SIGTERM.  Two cases are
 * results whenever they end: a job that succeeded (it may have finished
 * just as the stop came: running it again would run it twice) and one that
 * timed out (a failure of its own).  A batch system signals every process
 * of the job (Slurm's proctrack), so a command can die of the farm's
 * SIGTERM before its rank has handled its own: a job that died of a stop
 * signal waits up to STOP_GRACE for the rank's. */
static int cut_short(const mr_run_result *rr, int failed) {
    if (!failed || rr->timed_out) return 0;
    if (rr->interrupted || should_stop(NULL)) return 1;
    if (!died_of_stop_signal(rr)) return 0;
    struct timespec tick = {0, 10 * 1000000L};
    for (int i = 0; i < (int)(STOP_GRACE * 100); i++) {
        nanosleep(&tick, NULL);
        if (should_stop(NULL)) return 1;
    }
    return 0;
}

/* Would /bin/sh -c CMD be over the kernel's limits (E2BIG)?  Linux also
 * limits one argument to 32 pages (MAX_ARG_STRLEN). */
static int too_long(size_t clen, char **env) {
    long arg_max = sysconf(_SC_ARG_MAX), page = sysconf(_SC_PAGESIZE);
    size_t total = clen + 16;
    for (size_t i = 0; env[i]; i++) total += strlen(env[i]) + 1 + sizeof(char *);
#ifdef __linux__
    if (page > 0 && clen + 1 > (size_t)page * 32) return 1;
#else
    (void)page;
#endif
    return arg_max > 0 && total > (size_t)arg_max;
}

/* Run the job in item `h` (command cmd, clen bytes) into *r and *rr. */
static int run_one(mpipool_task *t, const item_hdr *h, res_hdr *r, mr_run_result *rr) {
    size_t clen = t->in_size - sizeof *h;
    char *cmd = malloc(clen + 1);
    char **env = job_env(h->seq, t->rank);
    if (cmd == NULL || env == NULL) {
        free(cmd);
        job_env_free(env);
        return mpipool_task_fail(t, "[rank %d] out of memory for job %llu", t->rank,
                                 (unsigned long long)h->seq);
    }
    memcpy(cmd, (const char *)t->in + sizeof *h, clen);
    cmd[clen] = '\0';
    if (too_long(clen, env)) {
        r->flags |= MR_RES_SPAWN | MR_RES_E2BIG;
        r->exitval = 127;
        free(cmd);
        job_env_free(env);
        return 0;
    }
    int rc = mr_run(cmd, env, h->timeout, should_stop, NULL, rr);
    free(cmd);
    job_env_free(env);
    r->exitval = rr->exitval;
    r->signal = rr->signal;
    r->start = rr->start;
    r->runtime = rr->runtime;
    if (rc != 0) {
        r->flags |= MR_RES_SPAWN;
        mr_diag("job %llu: cannot start /bin/sh: %s", (unsigned long long)h->seq,
                strerror(rr->spawn_error));
    }
    if (rr->timed_out) r->flags |= MR_RES_TIMEDOUT;
    if (rr->out.error || rr->err.error) {
        r->flags |= MR_RES_LOST;
        mr_diag("job %llu: output lost: %s", (unsigned long long)h->seq,
                strerror(rr->out.error ? rr->out.error : rr->err.error));
    }
    if (rc == 0 && cut_short(rr, job_failed(r))) {
        r->flags |= MR_RES_INTERRUPTED; /* not a result: no output, not logged */
    } else {
        r->out_len = mr_capture_size(&rr->out);
        r->err_len = mr_capture_size(&rr->err);
    }
    return 0;
}

/* The task every rank registers: run one job, return a res_hdr + output. */
int farm_job(mpipool_task *t) {
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
    } else if (wait_gate(), g_nostart || should_stop(NULL)) {
        r.flags = MR_RES_INTERRUPTED;
    } else {
        int rc = run_one(t, &h, &r, &rr);
        if (rc != 0) return rc;
        uint32_t gate = job_failed(&r) ? MR_ITEM_GATE_FAIL : MR_ITEM_GATE_OK;
        if (g_rank != 0 && (h.flags & gate) && !(r.flags & MR_RES_INTERRUPTED)) r.flags |= MR_RES_GATED;
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
    g_gate_pending = (r.flags & MR_RES_GATED) != 0; /* rank 0 answers only a sent result */
    return 0;
}
MPIPOOL_TASK(farm_job);

