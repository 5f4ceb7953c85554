/*
 * template.h — GNU parallel's command templates for mpipool-run: checking a
 * template, shell-quoting an argument, and filling a template with one
 * job's arguments.  Pure code (no MPI, no I/O), unit-tested in
 * tests/unit/test_template.c.
 */
#ifndef MPIPOOL_RUN_TEMPLATE_H
#define MPIPOOL_RUN_TEMPLATE_H

#include <stddef.h>

/* Check `tmpl` (NULL: launcher style, always fine) for a job of `nargs`
 * arguments (0: not known before the input is read, as with --colsep; a
 * {n} past them expands to nothing, as in parallel, so it is not refused).
 * Returns 0 if it is well formed, setting *has_placeholder (may be NULL) to
 * whether it uses any replacement string; -1 if not, with a message naming
 * the offending replacement string in err[0..errlen). */
int mr_template_check(const char *tmpl, size_t nargs, int *has_placeholder, char *err,
                      size_t errlen);

/* The shell-quoted form of `s` (`len` bytes), quoted exactly as GNU
 * parallel quotes replacement strings: left alone when made only of
 * [-_.+a-zA-Z0-9/], '' when empty, else in single quotes with each ' as
 * '"'"' and no empty '' at either end.  malloc'd; NULL when out of memory. */
char *mr_shell_quote(const char *s, size_t len);

/* The command for the job with arguments args[0..nargs) (NUL-terminated
 * strings) and job number `seq` (1-based): with tmpl == NULL the arguments
 * joined with spaces, unquoted (launcher style); else tmpl with each
 * replacement string replaced by the quoted value(s) — {} is every
 * argument, each quoted, joined with spaces; {n} the n-th only (nothing at
 * all when there is no n-th) — and " {}" appended when tmpl has none, as parallel
 * does.  `tmpl` must have passed mr_template_check().  malloc'd; NULL when
 * out of memory. */
char *mr_template_expand(const char *tmpl, char *const *args, size_t nargs, unsigned long long seq);

#endif
