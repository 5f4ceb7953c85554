/*
 * options.c — mpipool-run's command line, GNU parallel's where the meaning
 * is the same:
 *
 *     mpipool-run [options] [command template] [::: args | :::: files]...
 *
 * Invariant: nothing on the command line is ever silently taken as text.
 * An option we do not offer — one of GNU parallel's or any other — is
 * refused naming it (exit 255) before anything runs, and so is a
 * replacement string we do not offer (template.c).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mpipool.h>

#include "farm.h"
#include "input.h"
#include "progress.h"
#include "template.h"

static void usage(FILE *f) {
    fprintf(f,
        "Usage: mpirun -n N mpipool-run [options] [command template] [::: ARGS | :::: FILES]...\n"
        "Run a command for every input line (or every combination of arguments) across the\n"
        "ranks of an MPI job (rank 0 hands out the jobs, the other ranks run them).\n"
        "\n"
        "Without a template each input line is a whole shell command.  In a template\n"
        "{} is the argument(s), {.} without extension, {/} basename, {//} dirname, {/.}\n"
        "basename without extension, {#} the job number, {n} {n.} {n/} {n//} {n/.} the\n"
        "n-th argument; values are shell-quoted; with no replacement string, \" {}\" is\n"
        "appended (GNU parallel).  Input sources: standard input, -a FILE, ::: ARGS,\n"
        ":::: FILES; several give all combinations, :::+ and ::::+ link to the previous.\n"
        "\n"
        "Options:\n"
        "  -a, --arg-file FILE  an input source (repeatable; - for standard input)\n"
        "  -0, --null           items end with NUL, not newline\n"
        "  -d, --delimiter C    items end with C (one byte; \\n \\t \\0 \\\\ understood)\n"
        "  -C, --colsep STR     split each item into arguments {1} {2} ... at STR (literal)\n"
        "  -k, --keep-order     print output in input order (default: as jobs finish)\n"
        "      --tag            prefix each output line with the arguments and a tab\n"
        "  -v                   print each job's command before its output\n"
        "  -t, --verbose        print each job's command on stderr when it is started\n"
        "      --dry-run        print the commands, run nothing\n"
        "      --results DIR    write DIR/1/<arg>/{stdout,stderr,seq,exitval,signal,cmd}\n"
        "                       instead of printing the output\n"
        "      --joblog FILE    log each finished job in GNU parallel's joblog format\n"
        "                       (+FILE: append; -: standard output); locked while we run\n"
        "      --resume         skip jobs the joblog lists; refuse a joblog whose\n"
        "                       commands do not match the input and template\n"
        "      --resume-failed  the same, but run again the jobs that failed\n"
        "      --timeout T      kill a job's process group after T (seconds, or with\n"
        "                       units: 1h30m, 2d, 90s)\n"
        "      --retries N      run a failing job up to N times in all (0: until it\n"
        "                       succeeds), on another rank where there is one\n"
        "      --halt WHEN      never (default), now|soon,fail|success|done=N or N%%\n"
        "      --progress, --eta, --bar\n"
        "                       show progress on stderr when it is a terminal\n"
        "      --summary        print the summary line even when stderr is not a terminal\n"
        "  -h, --help           show this help and exit\n"
        "  -V, --version        show the version and exit\n"
        "\n"
        "Other GNU parallel options (-j, -N, --pipe, ...) are refused by name: see\n"
        "mpipool-run(1) for the list and the differences.\n"
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

/* parallel's durations: a number of seconds, or a sum of NUMBER[smhd]. */
static int parse_duration(const char *s, double *secs) {
    double total = 0;
    if (*s == '\0') return -1;
    while (*s) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (end == s || errno || !(v >= 0)) return -1;
        double unit = 1;
        switch (*end) {
        case 's': unit = 1; end++; break;
        case 'm': unit = 60; end++; break;
        case 'h': unit = 3600; end++; break;
        case 'd': unit = 86400; end++; break;
        case '\0': break;
        default: return -1;
        }
        total += v * unit;
        s = end;
    }
    *secs = total;
    return isfinite(total) ? 0 : -1;
}

/* parallel's --halt: 0 1 2 -1 -2, N%, or when,on=N or when,on=N%. */
static int parse_halt(const char *arg, options *o) {
    static const char *const legacy[][2] = {{"0", "never"}, {"1", "soon,fail=1"},
                                            {"2", "now,fail=1"}, {"-1", "soon,success=1"},
                                            {"-2", "now,success=1"}};
    char buf[128];
    const char *s = arg;
    for (size_t i = 0; i < sizeof legacy / sizeof *legacy; i++)
        if (strcmp(s, legacy[i][0]) == 0) s = legacy[i][1];
    if (s[0] >= '0' && s[0] <= '9' && strchr(s, '%') && !strchr(s, ',')) {
        snprintf(buf, sizeof buf, "soon,fail=%s", s);
        s = buf;
    }
    if (strcmp(s, "never") == 0) {
        o->halt_when = HALT_NEVER;
        return 0;
    }
    const char *rest;
    if (strncmp(s, "now,", 4) == 0) o->halt_when = HALT_NOW, rest = s + 4;
    else if (strncmp(s, "soon,", 5) == 0) o->halt_when = HALT_SOON, rest = s + 5;
    else return -1;
    if (strncmp(rest, "fail=", 5) == 0) o->halt_on = HALT_ON_FAIL, rest += 5;
    else if (strncmp(rest, "success=", 8) == 0) o->halt_on = HALT_ON_SUCCESS, rest += 8;
    else if (strncmp(rest, "done=", 5) == 0) o->halt_on = HALT_ON_DONE, rest += 5;
    else return -1;
    unsigned long long n;
    size_t len = strlen(rest);
    if (len > 1 && rest[len - 1] == '%') {
        char num[32];
        if (len > sizeof num) return -1;
        memcpy(num, rest, len - 1);
        num[len - 1] = '\0';
        if (parse_ull(num, &n) != 0 || n == 0 || n > 100) return -1;
        o->halt_pct = (double)n / 100.0;
        return 0;
    }
    if (parse_ull(rest, &n) != 0 || n == 0) return -1;
    o->halt_count = n;
    return 0;
}

/* -d's argument: one byte, with parallel's backslash escapes. */
static int parse_delim(const char *s) {
    if (s[0] && !s[1]) return (unsigned char)s[0];
    if (s[0] != '\\' || !s[1] || s[2]) return -1;
    switch (s[1]) {
    case 'n': return '\n';
    case 't': return '\t';
    case '0': return '\0';
    case 'r': return '\r';
    case '\\': return '\\';
    default: return -1;
    }
}

/* GNU parallel's options that we do not offer, for a message naming them
 * as such; anything else unknown is refused as unknown. */
static const char *const gnu_only[] = {
    "jobs", "j", "P", "max-procs", "ungroup", "u", "line-buffer", "lb", "group", "g", "pipe",
    "block", "block-size", "pipe-part", "N", "n", "m", "X", "L", "l", "xargs", "max-args",
    "max-replace-args", "max-lines", "tagstring", "tag-string", "header", "retry-failed",
    "delay", "memfree", "memsuspend", "load", "nice", "noswap", "sshlogin", "S", "sshloginfile",
    "slf", "onall", "nonall", "transferfile", "return", "cleanup", "trc", "basefile", "workdir",
    "wd", "env", "q", "quote", "I", "i", "E", "e", "eof", "r", "no-run-if-empty", "s",
    "max-chars", "x", "exit", "shuf", "link", "xapply", "csv", "plus", "parens", "rpl", "tmux",
    "semaphore", "sem", "fg", "bg", "wait", "silent", "line-buffered", "linebuffer", "latest-line",
    "ll", "term-seq", "termseq", "tmpdir", "compress", "sql", "sqlmaster", "sqlworker", "shebang",
    "shebang-wrap", "fifo", "cat", "files", "filter", "filter-hosts", "p", "interactive",
    "o", "open-tty", "tty", "U", "er", "bnr", "dnr", "bner", "seqreplace", "slotreplace",
    "process-slot-var", "arg-sep", "arg-file-sep", "template", "total-jobs", "ctag", "color",
    "colour", "cf", "color-failed", "joblog-append", "keep-order-off", "no-keep-order", "nice",
    "profile", "J", "will-cite", "citation", "bibtex", "number-of-cpus", "number-of-cores",
    "number-of-threads", "number-of-sockets", "show-limits", "max-line-length-allowed",
    "embed", "ssh", "ssh-delay", "controlmaster", "M", "recend", "recstart", "regexp",
    "remove-rec-sep", "round-robin", "roundrobin", "skip-first-line", "W", "T", "H", "B",
    "timeout-percent", "record-env", "recordenv", "limit", "fast", "use-cpus-instead-of-cores",
    "use-cores-instead-of-threads", "use-sockets-instead-of-threads", "results-dir", NULL};

static void refuse_option(const char *arg) {
    char name[64];
    const char *p = arg;
    while (*p == '-') p++;
    size_t n = strcspn(p, "=");
    if (n >= sizeof name) n = sizeof name - 1;
    memcpy(name, p, n);
    name[n] = '\0';
    if (arg[1] != '-' && arg[0] == '-') { /* a short option: its letter */
        name[1] = '\0';
    }
    for (int i = 0; gnu_only[i]; i++)
        if (strcmp(gnu_only[i], name) == 0) {
            mr_diag("option '%s%s' (GNU parallel's) is not offered by mpipool-run; refused "
                    "(see mpipool-run(1))", arg[1] == '-' ? "--" : "-", name);
            return;
        }
    mr_diag("unknown option '%s' (see --help)", arg);
}

/* Long options without a short form. */
enum { O_TAG = 256, O_RESULTS, O_JOBLOG, O_RESUME, O_RESUME_FAILED, O_TIMEOUT, O_RETRIES,
       O_HALT, O_PROGRESS, O_ETA, O_BAR, O_DRY, O_SUMMARY };

static int is_sep(const char *s) {
    return strcmp(s, ":::") == 0 || strcmp(s, ":::+") == 0 || strcmp(s, "::::") == 0 ||
           strcmp(s, "::::+") == 0;
}

/* The command template (argv[i..] up to the first separator, words joined
 * with spaces) and the input sources after it. */
static int parse_rest(int argc, char **argv, int i, options *o, mr_input *in) {
    int end = i;
    while (end < argc && !is_sep(argv[end])) end++;
    if (end > i) {
        size_t len = 0;
        for (int k = i; k < end; k++) len += strlen(argv[k]) + 1;
        if ((o->tmpl = malloc(len)) == NULL) return -1;
        o->tmpl[0] = '\0';
        for (int k = i; k < end; k++) {
            if (k > i) strcat(o->tmpl, " ");
            strcat(o->tmpl, argv[k]);
        }
    }
    for (i = end; i < argc;) {
        const char *sep = argv[i++];
        int files = strncmp(sep, "::::", 4) == 0, linked = sep[strlen(sep) - 1] == '+';
        int start = i;
        while (i < argc && !is_sep(argv[i])) i++;
        if (!files && mr_input_add_values(in, argv + start, (size_t)(i - start), linked) != 0)
            return -1;
        for (int k = start; files && k < i; k++)
            if (mr_input_add_file(in, argv[k], linked && k == start) != 0) return -1;
    }
    return 0;
}

static int check_options(options *o, mr_input *in) {
    if ((o->resume || o->resume_failed) && o->joblog == NULL) {
        mr_diag("--resume and --resume-failed need --joblog FILE");
        return -1;
    }
    if ((o->resume || o->resume_failed) && strcmp(o->joblog, "-") == 0) {
        mr_diag("--resume and --resume-failed cannot read a joblog on standard output (--joblog -)");
        return -1;
    }
    if (o->resume && o->resume_failed) {
        mr_diag("--resume and --resume-failed exclude each other");
        return -1;
    }
    if (in->colsep && in->nsrc > 1) {
        mr_diag("--colsep with several input sources is not offered; refused");
        return -1;
    }
    char err[512];
    size_t nargs = in->colsep ? 0 : in->nsrc ? in->nsrc : 1;
    if (mr_template_check(o->tmpl, nargs, NULL, err, sizeof err) != 0) {
        mr_diag("%s", err);
        return -1;
    }
    return 0;
}

/* One option of ours (c from getopt_long); 1 to stop (help, version), -1 a
 * usage error, 0 to go on. */
static int take_option(int c, const char *arg, options *o, mr_input *in);

int mr_parse_options(int argc, char **argv, options *o, void *inp) {
    static const struct option longs[] = {
        {"arg-file", required_argument, NULL, 'a'}, {"argfile", required_argument, NULL, 'a'},
        {"keep-order", no_argument, NULL, 'k'}, {"jl", required_argument, NULL, O_JOBLOG},
        {"dryrun", no_argument, NULL, O_DRY}, {"halt-on-error", required_argument, NULL, O_HALT},
        {"null", no_argument, NULL, '0'}, {"delimiter", required_argument, NULL, 'd'},
        {"colsep", required_argument, NULL, 'C'}, {"col-sep", required_argument, NULL, 'C'},
        {"tag", no_argument, NULL, O_TAG}, {"results", required_argument, NULL, O_RESULTS},
        {"joblog", required_argument, NULL, O_JOBLOG}, {"resume", no_argument, NULL, O_RESUME},
        {"resume-failed", no_argument, NULL, O_RESUME_FAILED},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"retries", required_argument, NULL, O_RETRIES}, {"halt", required_argument, NULL, O_HALT},
        {"progress", no_argument, NULL, O_PROGRESS}, {"eta", no_argument, NULL, O_ETA},
        {"bar", no_argument, NULL, O_BAR}, {"dry-run", no_argument, NULL, O_DRY},
        {"verbose", no_argument, NULL, 't'}, {"summary", no_argument, NULL, O_SUMMARY},
        {"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
    mr_input *in = inp;
    memset(o, 0, sizeof *o);
    o->retries = 1;
    o->input = in;
    in->delim = '\n';
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "+:a:kvt0d:C:hV", longs, NULL)) != -1) {
        if (c == ':') {
            mr_diag("option '%s' needs an argument (see --help)", argv[optind - 1]);
            return -1;
        }
        if (c == '?') {
            if (optopt) {
                char s[3] = {'-', (char)optopt, '\0'};
                refuse_option(s);
            } else {
                refuse_option(argv[optind - 1]);
            }
            return -1;
        }
        int r = take_option(c, optarg, o, in);
        if (r != 0) return r;
    }
    if (parse_rest(argc, argv, optind, o, in) != 0) {
        mr_diag("out of memory reading the command line");
        return -1;
    }
    return check_options(o, in);
}

static int take_option(int c, const char *arg, options *o, mr_input *in) {
    unsigned long long n;
    switch (c) {
    case 'a': return mr_input_add_file(in, arg, 0) == 0 ? 0 : -1;
    case 'k': o->keep_order = 1; return 0;
    case 'v': o->verbose = 1; return 0;
    case 't': o->trace = 1; return 0;
    case '0': in->delim = '\0'; return 0;
    case 'd':
        if ((in->delim = parse_delim(arg)) < 0) {
            mr_diag("-d/--delimiter wants one byte (or \\n \\t \\0 \\r \\\\), not '%s'", arg);
            return -1;
        }
        return 0;
    case 'C':
        if (arg[0] == '\0' || strpbrk(arg, "\\[]()*+?{}|^$.") != NULL) {
            if (strcmp(arg, "\\t") == 0) {
                in->colsep = "\t";
                return 0;
            }
            mr_diag("--colsep '%s': only a literal separator (or \\t) is offered, not a regular "
                    "expression; refused", arg);
            return -1;
        }
        in->colsep = arg;
        return 0;
    case O_TAG: o->tag = 1; return 0;
    case O_RESULTS: o->results = arg; return 0;
    case O_JOBLOG:
        o->joblog_append = arg[0] == '+' && arg[1] != '\0';
        o->joblog = o->joblog_append ? arg + 1 : arg;
        return 0;
    case O_RESUME: o->resume = 1; return 0;
    case O_RESUME_FAILED: o->resume_failed = 1; return 0;
    case O_TIMEOUT:
        if (strchr(arg, '%')) {
            mr_diag("'--timeout %s': a percentage of the median run time is not offered; refused", arg);
            return -1;
        }
        if (parse_duration(arg, &o->timeout) != 0 || !(o->timeout > 0) || o->timeout > 1e9) {
            mr_diag("--timeout wants a duration > 0 (seconds, or 1h30m, 2d, 90s), not '%s'", arg);
            return -1;
        }
        return 0;
    case O_RETRIES:
        if (parse_ull(arg, &n) != 0 || n > 1000000) {
            mr_diag("--retries wants a whole number from 0 to 1000000, not '%s'", arg);
            return -1;
        }
        o->retries = (unsigned)n;
        return 0;
    case O_HALT:
        if (parse_halt(arg, o) != 0) {
            mr_diag("--halt wants never, or now|soon,fail|success|done=N or N%%, not '%s'", arg);
            return -1;
        }
        return 0;
    case O_PROGRESS: o->progress |= MR_PROGRESS_COUNTS; return 0;
    case O_ETA: o->progress |= MR_PROGRESS_ETA; return 0;
    case O_BAR: o->progress |= MR_PROGRESS_BAR; return 0;
    case O_DRY: o->dry_run = 1; return 0;
    case O_SUMMARY: o->summary = 1; return 0;
    case 'h': usage(stdout); return 1;
    case 'V': printf("mpipool-run (mpipool) %s\n", mpipool_version_string()); return 1;
    default: return -1;
    }
}
