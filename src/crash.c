/*
 * crash.c — one line on stderr when a task crashes (SIGSEGV, SIGBUS,
 * SIGFPE, SIGILL, SIGABRT), naming the task, the item, the rank and the
 * host, before the process dies as it would have:
 *
 *   mpipool: task 'square' crashed on item 17 at rank 3 (host node02): SIGSEGV
 *
 * Invariants:
 *  - the handler uses async-signal-safe calls only (write, sigaction,
 *    raise) and reads only what exec.c stored before the task ran;
 *  - with a watchdog (watchdog.c), it also hands the item and the signal
 *    to it through a pipe and waits (at most a few seconds) until the
 *    watchdog has told the master, so the master knows exactly which item
 *    killed the worker;
 *  - it reports only while a task runs (exec.c says which), then puts back
 *    the handler the program had (or the default) and raises the signal
 *    again, so the process ends (or the program's handler runs) as before.
 * No MPI.
 */
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include "crash.h"

static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define NSIGS (sizeof sigs / sizeof sigs[0])
static struct sigaction old[NSIGS];
static int installed;
static char host[64];
static volatile sig_atomic_t running;        /* a task runs (this process)  */
static const char *volatile task_name;
static const size_t *volatile task_item; /* the task struct's index field */
static volatile int task_rank;
static volatile int notify_fd = -1, ack_fd = -1; /* the watchdog's pipes */

static size_t put(char *buf, size_t at, size_t cap, const char *s) {
    while (*s && at + 1 < cap) buf[at++] = *s++;
    return at;
}

static size_t put_num(char *buf, size_t at, size_t cap, unsigned long long v) {
    char d[24];
    int n = 0;
    do d[n++] = (char)('0' + v % 10); while ((v /= 10) != 0);
    while (n > 0 && at + 1 < cap) buf[at++] = d[--n];
    return at;
}

static const char *name_of(int sig) {
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    default: return "SIGABRT";
    }
}

static void on_crash(int sig) {
    size_t k = 0;
    for (; k < NSIGS && sigs[k] != sig; k++) {}
    if (running) {
        char line[512];
        size_t n = put(line, 0, sizeof line, "mpipool: task '");
        n = put(line, n, sizeof line, task_name ? task_name : "?");
        n = put(line, n, sizeof line, "' crashed on item ");
        n = put_num(line, n, sizeof line, task_item ? *task_item : 0);
        n = put(line, n, sizeof line, " at rank ");
        n = put_num(line, n, sizeof line, (unsigned long long)task_rank);
        n = put(line, n, sizeof line, " (host ");
        n = put(line, n, sizeof line, host);
        n = put(line, n, sizeof line, "): ");
        n = put(line, n, sizeof line, name_of(sig));
        n = put(line, n, sizeof line, "\n");
        ssize_t w = write(STDERR_FILENO, line, n);
        (void)w;
        running = 0;
        if (notify_fd >= 0) {
            mpipool__crash_rec rec = {task_item ? (uint64_t)*task_item : 0, sig, 0};
            struct pollfd p = {ack_fd, POLLIN, 0};
            if (write(notify_fd, &rec, sizeof rec) == (ssize_t)sizeof rec) (void)poll(&p, 1, 5000);
        }
    }
    /* As before: the program's own handler, or the default action. */
    if (k < NSIGS) sigaction(sig, &old[k], NULL);
    raise(sig);
}

void mpipool__crash_install(void) {
    if (installed) return;
    installed = 1;
    if (gethostname(host, sizeof host - 1) != 0) strcpy(host, "?");
    for (size_t k = 0; k < NSIGS; k++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_crash;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_NODEFER;
        sigaction(sigs[k], &sa, &old[k]);
    }
}

void mpipool__crash_task(const char *name, int rank, const size_t *item) {
    task_name = name;
    task_item = item;
    task_rank = rank;
    running = 1;
}

void mpipool__crash_done(void) { running = 0; }

void mpipool__crash_notify(int wfd, int rfd) {
    ack_fd = rfd;
    notify_fd = wfd;
}

int mpipool__crash_where(uint64_t *item) {
    /* Read from another thread: a word-sized load of a field the task's
     * thread stores once per item; a stale value only delays a timeout. */
    const size_t *volatile at = task_item;
    if (!running || at == NULL) return 0;
    *item = (uint64_t)*(const volatile size_t *)at;
    return 1;
}
