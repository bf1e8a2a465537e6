/*
 * progress.h — progress reports for long work.
 *
 * The command line creates a reporter for a stream (stderr) and hands it to
 * library code, which only says how far it got (ad_progress_update) and,
 * optionally, a short note ("loss 3.21"). On a terminal the reporter redraws
 * one line — label, bar, percentage, rate, ETA, note — at most ten times a
 * second; on anything else it prints a plain line every few seconds, so logs
 * stay readable; in quiet mode it prints nothing. Every function accepts
 * NULL and then does nothing, so library code never checks.
 *
 * Calls come from one thread (outside parallel regions), typically once per
 * batch, chunk or step; each costs one clock read when nothing is drawn.
 */
#ifndef AD_PROGRESS_H
#define AD_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

#include "base/err.h"

enum ad_progress_mode {
	AD_PROGRESS_AUTO,   /* bar on a terminal, plain lines otherwise */
	AD_PROGRESS_BAR,
	AD_PROGRESS_PLAIN,
	AD_PROGRESS_QUIET,
};

struct ad_progress;

/*
 * A reporter on out for work measured in unit ("B" prints sizes, anything
 * else counts: "tokens", "steps"). total 0 means unknown (no bar, no ETA).
 * width is the bar line's width in columns when out is a terminal that does
 * not report its own (the command line passes COLUMNS); 20 or less: 80.
 * Returns NULL in quiet mode or when out of memory: both are silent.
 */
struct ad_progress *ad_progress_new(FILE *out, enum ad_progress_mode mode, int width,
                                    const char *label, uint64_t total, const char *unit);
void ad_progress_update(struct ad_progress *p, uint64_t done);
void ad_progress_set_total(struct ad_progress *p, uint64_t total);
/* A job resumed with done units already behind it: the rate and the ETA
 * count only what this run does, and the summary says how much that was. */
void ad_progress_resume(struct ad_progress *p, uint64_t done);
void ad_progress_note(struct ad_progress *p, const char *fmt, ...) AD_PRINTF(2, 3);
/* Print the final state on its own line and free the reporter. */
void ad_progress_finish(struct ad_progress *p);
/* Free without a final line (on error). */
void ad_progress_free(struct ad_progress *p);

/* Seconds on a monotonic clock, for timing work. */
double ad_now(void);

/* Format a count with a k/M/G suffix, or a byte size, into buf. */
const char *ad_format_count(char *buf, size_t n, double v, const char *unit);

#endif
