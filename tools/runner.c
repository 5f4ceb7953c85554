/*
 * runner.c — one task's child process, from fork to reaping.
 *
 * The child is /bin/sh -c CMD (fork + execve), made leader of its own
 * process group (setpgid in both parent and child, so there is no window in
 * which a kill could miss it), with stdin from /dev/null and stdout/stderr
 * on two pipes.  The parent reads both pipes with poll(), so a task that
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

/* In the child: async-signal-safe calls only, then exec. */
static void child(const char *cmd, char *const envp[], int devnull, int out_w, int err_w) {
    setpgid(0, 0);
#ifdef __linux__
    /* If the rank dies (the launcher SIGKILLs it), take the shell along. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int s = 1; s < NSIG; s++) sigaction(s, &dfl, NULL); /* errors for KILL/STOP are fine */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (dup2(devnull, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0) _exit(127);
    /* The pipe ends and /dev/null were opened O_CLOEXEC: exec closes them. */
    char *argv[] = {"sh", "-c", (char *)(uintptr_t)cmd, NULL};
    execve("/bin/sh", argv, envp);
    _exit(127);
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
    pid_t pid = fork();
    if (pid < 0) {
        r->spawn_error = errno;
        goto fail;
    }
    if (pid == 0) child(cmd, envp, devnull, po[1], pe[1]);
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
    char buf[65536];
    while (open_fds > 0 || !reaped) {
        double t = now_mono();
        if (!killing && ((timeout > 0 && t - t0 >= timeout) || (should_stop && should_stop(ctx)))) {
            if (timeout > 0 && t - t0 >= timeout) r->timed_out = 1;
            else r->interrupted = 1;
            kill(-pid, SIGTERM);
            killing = 1;
            kill_at = t + MR_KILL_GRACE;
        } else if (killing == 1 && t >= kill_at) {
            kill(-pid, SIGKILL);
            killing = 2;
        }
        int wait_ms = 100;
        if (!killing && timeout > 0) {
            double left = timeout - (t - t0);
            if (left * 1000 < wait_ms) wait_ms = left <= 0 ? 0 : (int)(left * 1000) + 1;
        }
        if (open_fds > 0) {
            int n = poll(fds, 2, wait_ms);
            if (n < 0 && errno != EINTR) break;
            for (int i = 0; n > 0 && i < 2; i++) {
                if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                ssize_t got = read(fds[i].fd, buf, sizeof buf);
                if (got > 0) {
                    capture_add(caps[i], buf, (size_t)got);
                } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
                    close(fds[i].fd);
                    fds[i].fd = -1;
                    open_fds--;
                }
            }
        } else {
            /* Both pipes closed but the shell lives on: wait for it in
             * short steps, still honouring the timeout. */
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (!reaped) {
            pid_t w = waitpid(pid, &status, WNOHANG);
            if (w == pid) {
                reaped = 1;
                /* The shell is gone; anything it left in its group that
                 * still holds our pipes is killed if we were killing. */
                if (killing) kill(-pid, SIGKILL);
            }
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
