/*
 * template.h — GNU parallel's command templates for mpipool-run: checking a
 * template, shell-quoting an argument, and filling a template with one input
 * line.  Pure code (no MPI, no I/O), unit-tested in tests/unit/test_template.c.
 */
#ifndef MPIPOOL_RUN_TEMPLATE_H
#define MPIPOOL_RUN_TEMPLATE_H

#include <stddef.h>

/* Check `tmpl` (NULL: launcher style, always fine).  Returns 0 if it is
 * well formed, setting *has_placeholder (may be NULL) to whether it uses
 * any placeholder; -1 if not, with a message in err[0..errlen). */
int mr_template_check(const char *tmpl, int *has_placeholder, char *err, size_t errlen);

/* The shell-quoted form of `s` (`len` bytes), quoted exactly as GNU
 * parallel quotes replacement strings: left alone when made only of
 * [-_.+a-zA-Z0-9/], '' when empty, else in single quotes with each ' as
 * '"'"' and no empty '' at either end.  malloc'd; NULL when out of memory. */
char *mr_shell_quote(const char *s, size_t len);

/* The command for input line `arg` (`len` bytes, no newline) with sequence
 * number `seq` (1-based): with tmpl == NULL the line itself (launcher
 * style); else tmpl with each placeholder replaced by the quoted value, and
 * " {}" appended when tmpl has no placeholder, as parallel does.  `tmpl`
 * must have passed mr_template_check().  malloc'd; NULL when out of memory. */
char *mr_template_expand(const char *tmpl, const char *arg, size_t len, unsigned long long seq);

#endif
