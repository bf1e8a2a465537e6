/*
 * progress.c — terminal bar and plain progress lines. See progress.h.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "base/progress.h"

#define PROGRESS_BAR_HZ   10.0   /* redraws per second on a terminal */
#define PROGRESS_PLAIN_S  5.0    /* seconds between plain lines */

struct ad_progress {
	FILE     *out;
	int       bar;          /* 1: redraw one line; 0: plain lines */
	int       width;        /* columns when the terminal does not say; 0: 80 */
	char      label[64];
	char      unit[16];
	char      note[128];
	uint64_t  total, done;
	uint64_t  base;         /* done before this run (a resumed job) */
	double    start, last_draw;
	int       drawn;        /* something is on the current terminal line */
};

double
ad_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

const char *
ad_format_count(char *buf, size_t n, double v, const char *unit)
{
	int bytes = strcmp(unit, "B") == 0;
	const char *sfx[] = { "", "k", "M", "G", "T" };
	double base = bytes ? 1024.0 : 1000.0;
	int    i = 0;

	while (fabs(v) >= base && i < 4) {
		v /= base;
		i++;
	}
	if (bytes)
		snprintf(buf, n, i == 0 ? "%.0f %sB" : "%.1f %siB", v, sfx[i]);
	else if (i == 0)
		snprintf(buf, n, "%.0f%s%s", v, *unit ? " " : "", unit);
	else
		snprintf(buf, n, "%.1f%s%s%s", v, sfx[i], *unit ? " " : "", unit);
	return buf;
}

struct ad_progress *
ad_progress_new(FILE *out, enum ad_progress_mode mode, int width, const char *label,
    uint64_t total, const char *unit)
{
	struct ad_progress *p;

	if (mode == AD_PROGRESS_QUIET || out == NULL)
		return NULL;
	if ((p = ad_calloc(1, sizeof *p)) == NULL)
		return NULL;
	p->out = out;
	p->width = width > 20 ? width : 0;
	if (mode == AD_PROGRESS_AUTO)
		p->bar = isatty(fileno(out));
	else
		p->bar = mode == AD_PROGRESS_BAR;
	snprintf(p->label, sizeof p->label, "%s", label);
	snprintf(p->unit, sizeof p->unit, "%s", unit);
	p->total = total;
	p->start = p->last_draw = ad_now();
	return p;
}

static int
progress_width(const struct ad_progress *p)
{
	struct winsize ws;

	if (ioctl(fileno(p->out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		return ws.ws_col;
	return p->width > 0 ? p->width : 80;
}

/* Write "h:mm:ss" or "m:ss" for a duration. */
static void
progress_clock(char *buf, size_t n, double s)
{
	long t = s < 0 || !isfinite(s) ? 0 : (long)(s + 0.5);

	if (t >= 3600)
		snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

static void
progress_draw(struct ad_progress *p, double now, int final)
{
	char   done[32], rate[40], eta[32], el[32], tail[256], bar[128];
	uint64_t here = p->done > p->base ? p->done - p->base : 0;   /* done by this run */
	double   elapsed = now - p->start, r = elapsed > 0 ? (double)here / elapsed : 0;
	int      width, barw, fill;

	/* The summary counts what this run did; the running line, how far the
	 * whole job is. */
	ad_format_count(done, sizeof done, (double)(final ? here : p->done), p->unit);
	ad_format_count(rate, sizeof rate, r, p->unit);
	strcat(rate, "/s");
	progress_clock(el, sizeof el, elapsed);
	if (p->total > 0 && r > 0 && !final)
		progress_clock(eta, sizeof eta, (double)(p->total - (p->done < p->total ? p->done : p->total)) / r);
	else
		snprintf(eta, sizeof eta, "-");
	if (final)
		snprintf(tail, sizeof tail, "%s in %s, %s%s%s", done, el, rate,
		    p->note[0] ? ", " : "", p->note);
	else if (p->total > 0)
		snprintf(tail, sizeof tail, "%3.0f%% %s, %s, ETA %s%s%s",
		    100.0 * (double)p->done / (double)p->total, done, rate, eta,
		    p->note[0] ? ", " : "", p->note);
	else
		snprintf(tail, sizeof tail, "%s, %s, %s%s%s", done, rate, el,
		    p->note[0] ? ", " : "", p->note);

	if (!p->bar) {
		fprintf(p->out, "%s: %s\n", p->label, tail);
		fflush(p->out);
		return;
	}
	width = progress_width(p);
	barw = width - (int)strlen(p->label) - (int)strlen(tail) - 6;
	if (barw > 40)
		barw = 40;
	bar[0] = '\0';
	if (p->total > 0 && barw >= 10 && !final) {
		fill = (int)((double)barw * (double)(p->done < p->total ? p->done : p->total) /
		    (double)p->total);
		bar[0] = '[';
		for (int i = 0; i < barw; i++)
			bar[1 + i] = i < fill ? '#' : '.';
		bar[1 + barw] = ']';
		bar[2 + barw] = ' ';
		bar[3 + barw] = '\0';
	}
	fprintf(p->out, "\r%s: %s%.*s\x1b[K%s", p->label, bar, width > 0 ? width : 80, tail,
	    final ? "\n" : "");
	fflush(p->out);
	p->drawn = !final;
}

void
ad_progress_update(struct ad_progress *p, uint64_t done)
{
	double now;

	if (p == NULL)
		return;
	p->done = done;
	now = ad_now();
	if (now - p->last_draw >= (p->bar ? 1.0 / PROGRESS_BAR_HZ : PROGRESS_PLAIN_S)) {
		p->last_draw = now;
		progress_draw(p, now, 0);
	}
}

void
ad_progress_resume(struct ad_progress *p, uint64_t done)
{
	if (p == NULL)
		return;
	p->base = p->done = done;
	p->start = ad_now();
}

void
ad_progress_set_total(struct ad_progress *p, uint64_t total)
{
	if (p != NULL)
		p->total = total;
}

void
ad_progress_note(struct ad_progress *p, const char *fmt, ...)
{
	va_list ap;

	if (p == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(p->note, sizeof p->note, fmt, ap);
	va_end(ap);
}

void
ad_progress_finish(struct ad_progress *p)
{
	if (p == NULL)
		return;
	progress_draw(p, ad_now(), 1);
	ad_free(p);
}

void
ad_progress_free(struct ad_progress *p)
{
	if (p == NULL)
		return;
	if (p->bar && p->drawn) {
		fputs("\r\x1b[K", p->out);
		fflush(p->out);
	}
	ad_free(p);
}
