/*
 * svg.c — inline SVG charts. See svg.h.
 *
 * Axis ticks follow Heckbert's "nice numbers" (Graphics Gems, 1990): a step
 * of 1, 2 or 5 times a power of ten giving about five ticks.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "base/svg.h"

static const char *const palette[] = {
	"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f",
};

const char *
ad_svg_color(int i)
{
	int n = (int)(sizeof palette / sizeof palette[0]);

	return palette[((i % n) + n) % n];
}

void
ad_xml_escape(FILE *f, const char *s)
{
	for (; s != NULL && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default:  putc(*s, f);
		}
	}
}

/* A nice step for a range spanning about `ticks` steps. */
static double
nice_step(double range, int ticks)
{
	double raw = range / ticks, mag, r;

	if (!(raw > 0))
		return 1;
	mag = pow(10, floor(log10(raw)));
	r = raw / mag;
	return (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag;
}

/* Widen [*lo, *hi] to whole steps; never empty. */
static double
nice_range(double *lo, double *hi)
{
	double step;

	if (!(*hi > *lo)) {
		double m = isfinite(*lo) ? *lo : 0;
		*lo = m - 1;
		*hi = m + 1;
	}
	step = nice_step(*hi - *lo, 5);
	*lo = floor(*lo / step + 1e-9) * step;
	*hi = ceil(*hi / step - 1e-9) * step;
	return step;
}

static void
extend(double *lo, double *hi, double v)
{
	if (!isfinite(v))
		return;
	if (v < *lo) *lo = v;
	if (v > *hi) *hi = v;
}

static void
num(FILE *f, double v)
{
	char buf[32];

	snprintf(buf, sizeof buf, "%.6g", fabs(v) < 1e-12 ? 0 : v);
	fputs(buf, f);
}

static void
svg_open(FILE *f, int W, int H, const char *title)
{
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
	    "width=\"%d\" height=\"%d\" role=\"img\" font-family=\"sans-serif\" font-size=\"12\">\n",
	    W, H, W, H);
	if (title != NULL) {
		fputs("<title>", f);
		ad_xml_escape(f, title);
		fputs("</title>\n", f);
		fprintf(f, "<text x=\"%d\" y=\"18\" text-anchor=\"middle\" font-weight=\"bold\">", W / 2);
		ad_xml_escape(f, title);
		fputs("</text>\n", f);
	}
}

/* A horizontal value axis at y from x0 to x1 for [lo, hi] with ticks. */
static void
haxis(FILE *f, double lo, double hi, double step, double x0, double x1, double ytop, double y,
    const char *label)
{
	fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>\n", x0, y,
	    x1, y);
	for (double t = lo; t <= hi + step * 1e-6; t += step) {
		double x = x0 + (t - lo) / (hi - lo) * (x1 - x0);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
		    x, ytop, x, y);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x, y + 14);
		num(f, t);
		fputs("</text>\n", f);
	}
	if (label != NULL) {
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", (x0 + x1) / 2, y + 30);
		ad_xml_escape(f, label);
		fputs("</text>\n", f);
	}
}

static void
vaxis(FILE *f, double lo, double hi, double step, double y0, double y1, double x, double xright,
    const char *label)
{
	fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>\n", x, y0,
	    x, y1);
	for (double t = lo; t <= hi + step * 1e-6; t += step) {
		double y = y0 - (t - lo) / (hi - lo) * (y0 - y1);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
		    x, y, xright, y);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", x - 4, y + 4);
		num(f, t);
		fputs("</text>\n", f);
	}
	if (label != NULL) {
		fprintf(f, "<text transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\">",
		    x - 42, (y0 + y1) / 2);
		ad_xml_escape(f, label);
		fputs("</text>\n", f);
	}
}

void
ad_svg_bars(FILE *f, const struct ad_svg_chart *c, const struct ad_svg_bar *b, size_t n)
{
	int    W = c->width > 0 ? c->width : 720, row = 22;
	double x0, x1 = W - 20, top = 32, H, lo, hi, step, base;
	size_t longest = 0;

	/* The label column fits the longest label (about 6.5 px per character). */
	for (size_t i = 0; i < n; i++)
		if (b[i].label != NULL && strlen(b[i].label) > longest)
			longest = strlen(b[i].label);
	x0 = 16 + 6.5 * (double)longest;
	if (x0 > W * 0.55)
		x0 = W * 0.55;
	if (x0 < 80)
		x0 = 80;
	base = isfinite(c->ref) ? c->ref : 0;
	lo = hi = base;
	for (size_t i = 0; i < n; i++) {
		extend(&lo, &hi, b[i].value);
		extend(&lo, &hi, b[i].lo);
		extend(&lo, &hi, b[i].hi);
	}
	step = nice_range(&lo, &hi);
	H = top + (double)n * row + 44;
	svg_open(f, W, (int)H, c->title);
	haxis(f, lo, hi, step, x0, x1, top, top + (double)n * row, c->xlabel);
#define X(v) (x0 + ((v) - lo) / (hi - lo) * (x1 - x0))
	for (size_t i = 0; i < n; i++) {
		double y = top + (double)i * row, xb = X(base), xv;
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", x0 - 6, y + row * 0.65);
		ad_xml_escape(f, b[i].label);
		fputs("</text>\n", f);
		if (!isfinite(b[i].value))
			continue;
		xv = X(b[i].value);
		fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
		    "fill-opacity=\"%s\"><title>", xv < xb ? xv : xb, y + 4, fabs(xv - xb) + 0.5,
		    row - 8.0, ad_svg_color(b[i].color), b[i].strong ? "0.85" : "0.35");
		ad_xml_escape(f, b[i].label);
		fputs(": ", f);
		num(f, b[i].value);
		if (isfinite(b[i].lo) && isfinite(b[i].hi)) {
			fputs(" [", f);
			num(f, b[i].lo);
			fputs(", ", f);
			num(f, b[i].hi);
			fputs("]", f);
		}
		fputs("</title></rect>\n", f);
		if (isfinite(b[i].lo) && isfinite(b[i].hi)) {
			double ym = y + row / 2.0;
			fprintf(f, "<path d=\"M%.1f %.1fH%.1fM%.1f %.1fV%.1fM%.1f %.1fV%.1f\" "
			    "stroke=\"#222\" fill=\"none\"/>\n", X(b[i].lo), ym, X(b[i].hi), X(b[i].lo),
			    ym - 5, ym + 5, X(b[i].hi), ym - 5, ym + 5);
		}
	}
	if (isfinite(c->ref))
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\" "
		    "stroke-dasharray=\"4 3\"/>\n", X(c->ref), top - 4, X(c->ref),
		    top + (double)n * row);
#undef X
	fputs("</svg>\n", f);
}

void
ad_svg_scatter(FILE *f, const struct ad_svg_chart *c, const struct ad_svg_point *p,
    size_t n, int diagonal)
{
	int    W = c->width > 0 ? c->width : 520, H = W;
	double x0 = 70, x1 = W - 20, y0 = H - 50, y1 = 34;
	double xlo = 0, xhi = 0, ylo = 0, yhi = 0, xs, ys;

	for (size_t i = 0; i < n; i++) {
		extend(&xlo, &xhi, p[i].x);
		extend(&xlo, &xhi, p[i].xlo);
		extend(&xlo, &xhi, p[i].xhi);
		extend(&ylo, &yhi, p[i].y);
		extend(&ylo, &yhi, p[i].ylo);
		extend(&ylo, &yhi, p[i].yhi);
	}
	if (diagonal) {
		/* One scale on both axes so that y = x is the diagonal. */
		xlo = ylo = xlo < ylo ? xlo : ylo;
		xhi = yhi = xhi > yhi ? xhi : yhi;
	}
	xs = nice_range(&xlo, &xhi);
	ys = nice_range(&ylo, &yhi);
	svg_open(f, W, H, c->title);
	haxis(f, xlo, xhi, xs, x0, x1, y1, y0, c->xlabel);
	vaxis(f, ylo, yhi, ys, y0, y1, x0, x1, c->ylabel);
#define X(v) (x0 + ((v) - xlo) / (xhi - xlo) * (x1 - x0))
#define Y(v) (y0 - ((v) - ylo) / (yhi - ylo) * (y0 - y1))
	if (diagonal)
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\" "
		    "stroke-dasharray=\"5 4\"><title>y = x: the model mirrors the corpus</title></line>\n",
		    X(xlo), Y(xlo), X(xhi), Y(xhi));
	if (xlo < 0 && xhi > 0)
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#bbb\"/>\n",
		    X(0), y0, X(0), y1);
	if (ylo < 0 && yhi > 0)
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#bbb\"/>\n",
		    x0, Y(0), x1, Y(0));
	for (size_t i = 0; i < n; i++) {
		const char *col = ad_svg_color(p[i].color);
		if (!isfinite(p[i].x) || !isfinite(p[i].y))
			continue;
		if (isfinite(p[i].xlo) && isfinite(p[i].xhi))
			fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
			    "stroke-opacity=\"0.5\"/>\n", X(p[i].xlo), Y(p[i].y), X(p[i].xhi), Y(p[i].y), col);
		if (isfinite(p[i].ylo) && isfinite(p[i].yhi))
			fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
			    "stroke-opacity=\"0.5\"/>\n", X(p[i].x), Y(p[i].ylo), X(p[i].x), Y(p[i].yhi), col);
		fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"><title>", X(p[i].x),
		    Y(p[i].y), col);
		ad_xml_escape(f, p[i].label);
		fputs(": ", f);
		num(f, p[i].x);
		fputs(", ", f);
		num(f, p[i].y);
		fputs("</title></circle>\n", f);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"#333\">", X(p[i].x) + 6,
		    Y(p[i].y) - 4);
		ad_xml_escape(f, p[i].label);
		fputs("</text>\n", f);
	}
#undef X
#undef Y
	fputs("</svg>\n", f);
}

void
ad_svg_lines(FILE *f, const struct ad_svg_chart *c, const struct ad_svg_series *s,
    size_t n)
{
	int    W = c->width > 0 ? c->width : 720, H = W * 5 / 9;
	double x0 = 70, x1 = W - 150, y0 = H - 50, y1 = 34;
	double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY, xs, ys;

	for (size_t k = 0; k < n; k++)
		for (size_t i = 0; i < s[k].n; i++) {
			extend(&xlo, &xhi, s[k].x[i]);
			extend(&ylo, &yhi, s[k].y[i]);
		}
	if (!isfinite(xlo)) {
		xlo = ylo = 0;
		xhi = yhi = 1;
	}
	xs = nice_range(&xlo, &xhi);
	ys = nice_range(&ylo, &yhi);
	svg_open(f, W, H, c->title);
	haxis(f, xlo, xhi, xs, x0, x1, y1, y0, c->xlabel);
	vaxis(f, ylo, yhi, ys, y0, y1, x0, x1, c->ylabel);
	for (size_t k = 0; k < n; k++) {
		int pen = 0;
		fprintf(f, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" d=\"",
		    ad_svg_color(s[k].color));
		for (size_t i = 0; i < s[k].n; i++) {
			if (!isfinite(s[k].x[i]) || !isfinite(s[k].y[i])) {
				pen = 0;
				continue;
			}
			fprintf(f, "%c%.1f %.1f", pen ? 'L' : 'M',
			    x0 + (s[k].x[i] - xlo) / (xhi - xlo) * (x1 - x0),
			    y0 - (s[k].y[i] - ylo) / (yhi - ylo) * (y0 - y1));
			pen = 1;
		}
		fputs("\"><title>", f);
		ad_xml_escape(f, s[k].name);
		fputs("</title></path>\n", f);
		fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"3\" fill=\"%s\"/>"
		    "<text x=\"%.1f\" y=\"%.1f\">", x1 + 12, y1 + 16.0 * (double)k + 4,
		    ad_svg_color(s[k].color), x1 + 28, y1 + 16.0 * (double)k + 9);
		ad_xml_escape(f, s[k].name);
		fputs("</text>\n", f);
	}
	fputs("</svg>\n", f);
}

/* Logarithmic x ticks: every power of ten in [lo, hi] (both > 0). */
static void
haxis_log(FILE *f, double lo, double hi, double x0, double x1, double ytop, double y,
    const char *label)
{
	double llo = log10(lo), lhi = log10(hi);

	fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>\n", x0, y,
	    x1, y);
	for (double e = ceil(llo - 1e-9); e <= lhi + 1e-9; e += 1) {
		double x = x0 + (e - llo) / (lhi - llo) * (x1 - x0);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
		    x, ytop, x, y);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x, y + 14);
		num(f, pow(10, e));
		fputs("</text>\n", f);
	}
	if (label != NULL) {
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", (x0 + x1) / 2, y + 30);
		ad_xml_escape(f, label);
		fputs("</text>\n", f);
	}
}

/* The vertical axis in decades, for a logarithmic y. */
static void
vaxis_log(FILE *f, double lo, double hi, double y0, double y1, double x, double xright,
    const char *label)
{
	double llo = log10(lo), lhi = log10(hi);

	fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>\n", x, y0,
	    x, y1);
	for (double e = ceil(llo - 1e-9); e <= lhi + 1e-9; e += 1) {
		double y = y0 - (e - llo) / (lhi - llo) * (y0 - y1);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
		    x, y, xright, y);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", x - 4, y + 4);
		num(f, pow(10, e));
		fputs("</text>\n", f);
	}
	if (label != NULL) {
		fprintf(f, "<text transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\">",
		    x - 42, (y0 + y1) / 2);
		ad_xml_escape(f, label);
		fputs("</text>\n", f);
	}
}

void
ad_svg_plot(FILE *f, const struct ad_svg_chart *c, const struct ad_svg_plot_series *s,
    size_t n, int axes)
{
	int    logx = (axes & AD_SVG_LOGX) != 0, logy = (axes & AD_SVG_LOGY) != 0;
	int    W = c->width > 0 ? c->width : 720, H = W * 5 / 9;
	double x0 = 70, x1 = W - 190, y0 = H - 50, y1 = 34;
	double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY, xs = 1, ys;

	for (size_t k = 0; k < n; k++)
		for (size_t i = 0; i < s[k].n; i++) {
			if (s[k].style != AD_SVG_HLINE && !(logx && !(s[k].x[i] > 0)))
				extend(&xlo, &xhi, s[k].x[i]);
			if (s[k].style != AD_SVG_VLINE && !(logy && !(s[k].y[i] > 0)))
				extend(&ylo, &yhi, s[k].y[i]);
			if (s[k].style == AD_SVG_HLINE || s[k].style == AD_SVG_VLINE)
				break;
		}
	if (!isfinite(xlo)) {
		xlo = logx ? 1 : 0;
		xhi = logx ? 10 : 1;
	}
	if (!isfinite(ylo)) {
		ylo = 0;
		yhi = 1;
	}
	if (logx) {
		/* Whole decades around the data. */
		xlo = pow(10, floor(log10(xlo) + 1e-9));
		xhi = pow(10, ceil(log10(xhi) - 1e-9));
		if (xhi <= xlo)
			xhi = xlo * 10;
	} else {
		if (xlo > 0)
			xlo = 0;
		xs = nice_range(&xlo, &xhi);
	}
	if (logy) {
		if (!(ylo > 0)) {
			ylo = 1;
			yhi = 10;
		}
		ylo = pow(10, floor(log10(ylo) + 1e-9));
		yhi = pow(10, ceil(log10(yhi) - 1e-9));
		if (yhi <= ylo)
			yhi = ylo * 10;
		ys = 1;
	} else {
		ys = nice_range(&ylo, &yhi);
	}
	svg_open(f, W, H, c->title);
	if (logx)
		haxis_log(f, xlo, xhi, x0, x1, y1, y0, c->xlabel);
	else
		haxis(f, xlo, xhi, xs, x0, x1, y1, y0, c->xlabel);
	if (logy)
		vaxis_log(f, ylo, yhi, y0, y1, x0, x1, c->ylabel);
	else
		vaxis(f, ylo, yhi, ys, y0, y1, x0, x1, c->ylabel);
#define PX(v) (logx ? x0 + (log10(v) - log10(xlo)) / (log10(xhi) - log10(xlo)) * (x1 - x0) \
                    : x0 + ((v) - xlo) / (xhi - xlo) * (x1 - x0))
#define PY(v) (logy ? y0 - (log10(v) - log10(ylo)) / (log10(yhi) - log10(ylo)) * (y0 - y1) \
                    : y0 - ((v) - ylo) / (yhi - ylo) * (y0 - y1))
	/* A point off a logarithmic axis (x or y not positive) is not drawn. */
#define OFF(xv, yv) ((logx && !((xv) > 0)) || (logy && !((yv) > 0)))
	for (size_t k = 0; k < n; k++) {
		const char *col = ad_svg_color(s[k].color);
		int         pen = 0;

		if (s[k].n == 0)
			continue;
		switch (s[k].style) {
		case AD_SVG_HLINE:
			if (!isfinite(s[k].y[0]) || (logy && !(s[k].y[0] > 0)))
				break;
			fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
			    "stroke-dasharray=\"6 4\"><title>", x0, PY(s[k].y[0]), x1, PY(s[k].y[0]), col);
			ad_xml_escape(f, s[k].name);
			fputs(": ", f);
			num(f, s[k].y[0]);
			fputs("</title></line>\n", f);
			break;
		case AD_SVG_VLINE:
			if (!isfinite(s[k].x[0]) || (logx && !(s[k].x[0] > 0)))
				break;
			fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
			    "stroke-dasharray=\"3 3\"><title>", PX(s[k].x[0]), y0, PX(s[k].x[0]), y1, col);
			ad_xml_escape(f, s[k].name);
			fputs(": ", f);
			num(f, s[k].x[0]);
			fputs("</title></line>\n", f);
			break;
		case AD_SVG_LINE:
			fprintf(f, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\" d=\"", col);
			for (size_t i = 0; i < s[k].n; i++) {
				if (!isfinite(s[k].x[i]) || !isfinite(s[k].y[i]) || OFF(s[k].x[i], s[k].y[i])) {
					pen = 0;
					continue;
				}
				fprintf(f, "%c%.1f %.1f", pen ? 'L' : 'M', PX(s[k].x[i]), PY(s[k].y[i]));
				pen = 1;
			}
			fputs("\"><title>", f);
			ad_xml_escape(f, s[k].name);
			fputs("</title></path>\n", f);
			/* Small markers, so that a curve of one point still shows. */
			for (size_t i = 0; i < s[k].n; i++)
				if (isfinite(s[k].x[i]) && isfinite(s[k].y[i]) && !OFF(s[k].x[i], s[k].y[i]))
					fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n",
					    PX(s[k].x[i]), PY(s[k].y[i]), col);
			break;
		case AD_SVG_POINTS:
			for (size_t i = 0; i < s[k].n; i++) {
				if (!isfinite(s[k].x[i]) || !isfinite(s[k].y[i]) || OFF(s[k].x[i], s[k].y[i]))
					continue;
				fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"><title>",
				    PX(s[k].x[i]), PY(s[k].y[i]), col);
				ad_xml_escape(f, s[k].name);
				fputs(": ", f);
				num(f, s[k].x[i]);
				fputs(", ", f);
				num(f, s[k].y[i]);
				fputs("</title></circle>\n", f);
			}
			break;
		}
	}
	/* The legend, right of the plot. */
	for (size_t k = 0; k < n; k++) {
		double      ly = y1 + 8 + 18.0 * (double)k;
		const char *col = ad_svg_color(s[k].color);

		if (s[k].style == AD_SVG_POINTS)
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"/>\n", x1 + 22, ly, col);
		else
			fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
			    "stroke-width=\"2\"%s/>\n", x1 + 12, ly, x1 + 32, ly, col,
			    s[k].style == AD_SVG_HLINE ? " stroke-dasharray=\"6 4\"" :
			    s[k].style == AD_SVG_VLINE ? " stroke-dasharray=\"3 3\"" : "");
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", x1 + 38, ly + 4);
		ad_xml_escape(f, s[k].name);
		fputs("</text>\n", f);
	}
#undef PX
#undef PY
#undef OFF
	fputs("</svg>\n", f);
}

void
ad_svg_reliability(FILE *f, const struct ad_svg_chart *c, const double *conf, const double *acc,
    const uint64_t *count, size_t nbins)
{
	int    W = c->width > 0 ? c->width : 420, H = W;
	double x0 = 70, x1 = W - 20, y0 = H - 50, y1 = 34, w = (x1 - x0) / (double)nbins;

	svg_open(f, W, H, c->title);
	haxis(f, 0, 1, 0.2, x0, x1, y1, y0, c->xlabel);
	vaxis(f, 0, 1, 0.2, y0, y1, x0, x1, c->ylabel);
#define X(v) (x0 + (v) * (x1 - x0))
#define Y(v) (y0 - (v) * (y0 - y1))
	fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\" "
	    "stroke-dasharray=\"5 4\"><title>accuracy = confidence: perfectly calibrated</title>"
	    "</line>\n", X(0), Y(0), X(1), Y(1));
	for (size_t b = 0; b < nbins; b++) {
		double xb = x0 + (double)b * w;
		if (count[b] == 0 || !isfinite(acc[b]) || !isfinite(conf[b]))
			continue;
		/* The bar is the bin's accuracy; the tick, its mean confidence. */
		fprintf(f, "<rect class=\"rel\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
		    "fill=\"%s\" fill-opacity=\"0.7\"><title>confidence (", xb + 1, Y(acc[b]), w - 2,
		    Y(0) - Y(acc[b]), ad_svg_color(0));
		num(f, (double)b / (double)nbins);
		fputs(", ", f);
		num(f, (double)(b + 1) / (double)nbins);
		fprintf(f, "]: %llu tokens, mean confidence ", (unsigned long long)count[b]);
		num(f, conf[b]);
		fputs(", accuracy ", f);
		num(f, acc[b]);
		fputs("</title></rect>\n", f);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
		    "stroke-width=\"2\"/>\n", xb, Y(conf[b]), xb + w, Y(conf[b]), ad_svg_color(1));
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"9\" "
		    "fill=\"#333\">%llu</text>\n", xb + w / 2,
		    (acc[b] > conf[b] ? Y(acc[b]) : Y(conf[b])) - 3, (unsigned long long)count[b]);
	}
#undef X
#undef Y
	fputs("</svg>\n", f);
}
