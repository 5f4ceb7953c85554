/*
 * runner.c — one task's child process, from fork to reaping.
 *
 * The forked child is a small guard (see child()), made leader of its own
 * process group (setpgid in both parent and child, so there is no window in
 * which a kill could miss it); it starts /bin/sh -c CMD in that group, with
 * stdin from /dev/null and stdout/stderr on two pipes, and kills the whole
 * group if the rank dies.  The parent reads both pipes with poll(), so a task that
 * fills one pipe while we wait on the other can never block: neither pipe
 * is left unread.  A timeout or a stop request kills the whole group
 * (SIGTERM, then SIGKILL after a grace period), which takes the shell's own
 * children with it.
 *
 * Invariant: mr_run returns only after the child is reaped and both pipes
 * are closed, so no zombie and no descriptor outlives a task.
 *
 * The environment is built by the caller before fork; between fork and
 * exec the child calls only async-signal-safe functions, because the
 * master may have other threads (the pool's progress thread).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include "runner.h"

static double now_mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now_wall(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* An unlinked temporary file in $TMPDIR (or /tmp). */
static int spill_file(void) {
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/mpipool-run-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd >= 0) unlink(path);
    return fd;
}

static void capture_add(mr_capture *c, const char *p, size_t n) {
    if (c->error) return; /* the bytes are lost; the task will report it */
    if (c->fd < 0 && c->len + n <= MR_SPILL_BYTES) {
        if (c->len + n > c->cap) {
            size_t cap = c->cap ? c->cap : 4096;
            while (cap < c->len + n) cap *= 2;
            char *m = realloc(c->mem, cap);
            if (m == NULL) {
                c->error = ENOMEM;
                return;
            }
            c->mem = m;
            c->cap = cap;
        }
        memcpy(c->mem + c->len, p, n);
        c->len += n;
        return;
    }
    if (c->fd < 0 && (c->fd = spill_file()) < 0) {
        c->error = errno;
        return;
    }
    if (write_all(c->fd, p, n) != 0) {
        c->error = errno;
        return;
    }
    c->spilled += n;
}

uint64_t mr_capture_size(const mr_capture *c) { return (uint64_t)c->len + c->spilled; }

int mr_capture_copy(const mr_capture *c, char *dst) {
    if (c->len) memcpy(dst, c->mem, c->len);
    dst += c->len;
    uint64_t off = 0;
    while (off < c->spilled) {
        size_t want = c->spilled - off > ((size_t)1 << 30) ? (size_t)1 << 30 : (size_t)(c->spilled - off);
        ssize_t r = pread(c->fd, dst + off, want, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        off += (uint64_t)r;
    }
    return 0;
}

void mr_run_result_free(mr_run_result *r) {
    free(r->out.mem);
    free(r->err.mem);
    if (r->out.fd >= 0) close(r->out.fd);
    if (r->err.fd >= 0) close(r->err.fd);
    r->out.mem = r->err.mem = NULL;
    r->out.fd = r->err.fd = -1;
}

/* The shell, started by the guard with vfork: syscalls only, then exec. */
static void shell(const char *cmd, char *const envp[], int devnull, int out_w, int err_w) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (dup2(devnull, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0) _exit(127);
    /* The pipe ends and /dev/null were opened O_CLOEXEC: exec closes them. */
    char *argv[] = {"sh", "-c", (char *)(uintptr_t)cmd, NULL};
    execve("/bin/sh", argv, envp);
    _exit(127);
}

/* Die the way the shell died, so the runner's waitpid sees its status. */
static void mirror(int status) {
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        struct rlimit none = {0, 0};
        setrlimit(RLIMIT_CORE, &none); /* the shell dumped its core, if any; not us */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        sigaction(sig, &dfl, NULL);
        kill(getpid(), sig); /* pending while blocked ... */
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, sig);
        sigprocmask(SIG_UNBLOCK, &one, NULL); /* ... delivered here */
        _exit(128 + sig);
    }
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 127);
}

/*
 * In the forked child: async-signal-safe calls only.  The child is the
 * job's guard: the leader of the job's process group, and the parent of
 * the shell, which it starts in the same group.  It exists so that no
 * process of the job outlives the rank, however the rank dies: a rank
 * SIGKILLed by its launcher runs no code of ours, and PR_SET_PDEATHSIG on
 * the shell alone would kill the shell but not what the shell started.  So
 * the guard asks for SIGTERM when the rank dies, and then kills its whole
 * group (itself included) with SIGKILL.
 *
 * Handler-free: the guard blocks the signals it cares about and takes them
 * with sigwaitinfo.  A SIGTERM or SIGINT also comes from the runner's own
 * kill(-pgid) (the guard is in the group; the shell got it too), so a
 * signal means "the rank is gone" only if getppid() has changed; otherwise
 * the guard goes on waiting and the grace period is kept.  A signal sent by
 * anyone else (a job's `kill -TERM $PPID`: the guard is now its parent) is
 * passed on to the rank, as it was meant for the job's parent.  When the shell
 * ends, the guard ends the same way (exit code or signal), so the runner
 * sees the shell's status.  The shell is started with vfork, which (unlike
 * fork) runs no atfork handlers in this copy of a multi-threaded process.
 */
static void child(const char *cmd, char *const envp[], pid_t rank, int devnull, int out_w,
                  int err_w, int out_r, int err_r) {
    setpgid(0, 0);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int s = 1; s < NSIG; s++) sigaction(s, &dfl, NULL); /* errors for KILL/STOP are fine */
    sigset_t wait_for;
    sigemptyset(&wait_for);
    sigaddset(&wait_for, SIGCHLD);
    sigaddset(&wait_for, SIGTERM);
    sigaddset(&wait_for, SIGINT);
    sigaddset(&wait_for, SIGHUP);
    sigprocmask(SIG_SETMASK, &wait_for, NULL);
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
    if (getppid() != rank) { /* the rank died before prctl */
        kill(0, SIGKILL);
        _exit(137);
    }
    close(out_r); /* the guard reads nothing: only the runner holds the read ends */
    close(err_r);
    pid_t sh = vfork();
    if (sh < 0) _exit(127);
    if (sh == 0) shell(cmd, envp, devnull, out_w, err_w);
    close(devnull);
    close(out_w);
    close(err_w);
    for (;;) {
        int status;
        pid_t w = waitpid(sh, &status, WNOHANG);
        if (w == sh) mirror(status);
        if (getppid() != rank) { /* the rank is gone: so is the job, all of it */
            kill(0, SIGKILL);
            _exit(137);
        }
#ifndef __linux__
        /* No PR_SET_PDEATHSIG: look at getppid() once a second. */
        struct timespec tick = {1, 0};
        sigtimedwait(&wait_for, NULL, &tick);
#else
        siginfo_t si;
        memset(&si, 0, sizeof si);
        int sig = sigwaitinfo(&wait_for, &si);
        /* A SIGTERM/INT/HUP that neither the rank (its group kill) nor
         * the kernel (the rank's death) sent was meant for the rank, as
         * the job's parent: `kill -TERM $PPID` in a job.  Pass it on. */
        if (sig > 0 && sig != SIGCHLD && si.si_code == SI_USER && si.si_pid != rank && getppid() == rank)
            kill(rank, sig);
#endif
    }
}

/* The kill schedule of a running job: a timeout or a stop request sends
 * SIGTERM to its group, SIGKILL MR_KILL_GRACE seconds later.  Returns how
 * long the next poll may wait (ms). */
static int step_kill(pid_t pid, double t0, double timeout, int (*should_stop)(void *), void *ctx,
                     mr_run_result *r, int *killing, double *kill_at) {
    double t = now_mono();
    if (!*killing && ((timeout > 0 && t - t0 >= timeout) || (should_stop && should_stop(ctx)))) {
        if (timeout > 0 && t - t0 >= timeout) r->timed_out = 1;
        else r->interrupted = 1;
        kill(-pid, SIGTERM);
        *killing = 1;
        *kill_at = t + MR_KILL_GRACE;
    } else if (*killing == 1 && t >= *kill_at) {
        kill(-pid, SIGKILL);
        *killing = 2;
    }
    int wait_ms = 100;
    if (!*killing && timeout > 0) {
        double left = timeout - (t - t0);
        if (left * 1000 < wait_ms) wait_ms = left <= 0 ? 0 : (int)(left * 1000) + 1;
    }
    return wait_ms;
}

/* Read what is ready on the job's pipes; close a pipe at its end.
 * Returns -1 if poll failed. */
static int pump(struct pollfd fds[2], mr_capture *caps[2], int *open_fds, int wait_ms) {
    char buf[65536];
    int n = poll(fds, 2, wait_ms);
    if (n < 0 && errno != EINTR) return -1;
    for (int i = 0; n > 0 && i < 2; i++) {
        if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t got = read(fds[i].fd, buf, sizeof buf);
        if (got > 0) {
            capture_add(caps[i], buf, (size_t)got);
        } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
            close(fds[i].fd);
            fds[i].fd = -1;
            (*open_fds)--;
        }
    }
    return 0;
}

int mr_run(const char *cmd, char *const envp[], double timeout, int (*should_stop)(void *),
           void *ctx, mr_run_result *r) {
    int po[2] = {-1, -1}, pe[2] = {-1, -1}, devnull = -1;
    memset(r, 0, sizeof *r);
    r->out.fd = r->err.fd = -1;
    r->start = now_wall();
    double t0 = now_mono();
    if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0 ||
        (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        r->spawn_error = errno;
        goto fail;
    }
    pid_t rank = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        r->spawn_error = errno;
        goto fail;
    }
    if (pid == 0) child(cmd, envp, rank, devnull, po[1], pe[1], po[0], pe[0]);
    setpgid(pid, pid); /* EACCES after the child's exec is fine: it did it itself */
    close(po[1]);
    close(pe[1]);
    close(devnull);
    fcntl(po[0], F_SETFL, O_NONBLOCK);
    fcntl(pe[0], F_SETFL, O_NONBLOCK);

    struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    mr_capture *caps[2] = {&r->out, &r->err};
    int open_fds = 2, reaped = 0, status = 0, killing = 0;
    double kill_at = 0;
    while (open_fds > 0 || !reaped) {
        int wait_ms = step_kill(pid, t0, timeout, should_stop, ctx, r, &killing, &kill_at);
        if (open_fds > 0) {
            if (pump(fds, caps, &open_fds, wait_ms) != 0) break;
        } else {
            /* Both pipes closed but the shell lives on: wait for it in
             * short steps, still honouring the timeout. */
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (!reaped && waitpid(pid, &status, WNOHANG) == pid) {
            reaped = 1;
            /* The shell is gone; anything it left in its group that
             * still holds our pipes is killed if we were killing. */
            if (killing) kill(-pid, SIGKILL);
        }
    }
    if (!reaped) { /* poll failed: do not leave a zombie */
        kill(-pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0) close(fds[i].fd);
    r->runtime = now_mono() - t0;
    if (WIFEXITED(status)) {
        r->exitval = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        r->signal = WTERMSIG(status);
    }
    if (r->timed_out) r->exitval = -1; /* what parallel's joblog says for a timeout */
    return 0;

fail:
    for (int i = 0; i < 2; i++) {
        if (po[i] >= 0) close(po[i]);
        if (pe[i] >= 0) close(pe[i]);
    }
    if (devnull >= 0) close(devnull);
    r->runtime = now_mono() - t0;
    r->exitval = 127;
    return -1;
}
