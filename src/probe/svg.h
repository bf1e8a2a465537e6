/*
 * svg.h — small charts as inline SVG, for self-contained HTML reports.
 *
 * Kept apart from probe.h because more than the bias report draws with it
 * (the comparison report does too): it depends on nothing but stdio. Three
 * charts cover what the reports show — horizontal bars with error bars,
 * a labelled scatter with error bars and an optional y = x diagonal, and a
 * line chart of several series — each written as one <svg> element with a
 * viewBox, so it scales with the page, and a <title> on every mark so a
 * reader can hover for the exact number. No scripts, fonts or external
 * files: the output renders the same offline.
 *
 * Non-finite values are skipped (a bar or point with a NAN value is drawn
 * as a label only; a NAN interval end draws no whisker). Text is XML-escaped.
 */
#ifndef AD_PROBE_SVG_H
#define AD_PROBE_SVG_H

#include <stddef.h>
#include <stdio.h>

struct probe_svg_chart {
	const char *title;
	const char *xlabel;   /* horizontal axis (the value axis of a bar chart) */
	const char *ylabel;   /* vertical axis (scatter and lines) */
	double      ref;      /* a reference line (bars: where bars start), NAN: none */
	int         width;    /* pixels of the viewBox; 0: 720 */
};

struct probe_svg_bar {
	const char *label;
	double      value, lo, hi;   /* lo/hi NAN: no error bar */
	int         color;           /* palette index */
	int         strong;          /* 1: drawn solid (e.g. significant), 0: pale */
};

struct probe_svg_point {
	const char *label;
	double      x, y;
	double      xlo, xhi, ylo, yhi;  /* NAN: no error bar on that axis */
	int         color;
};

struct probe_svg_series {
	const char   *name;
	const double *x, *y;   /* (n) */
	size_t        n;
	int           color;
};

void probe_svg_bars(FILE *f, const struct probe_svg_chart *c, const struct probe_svg_bar *b,
                    size_t n);
void probe_svg_scatter(FILE *f, const struct probe_svg_chart *c, const struct probe_svg_point *p,
                       size_t n, int diagonal);
void probe_svg_lines(FILE *f, const struct probe_svg_chart *c, const struct probe_svg_series *s,
                     size_t n);
/*
 * A general x-y plot for the comparison report: each series is drawn as a
 * line, as labelled points, or as a horizontal reference line at y[0]
 * across the whole plot (a baseline); the x axis may be logarithmic
 * (non-positive x values are then skipped). The legend lists the series.
 */
enum probe_svg_style { PROBE_SVG_LINE, PROBE_SVG_POINTS, PROBE_SVG_HLINE };

struct probe_svg_plot_series {
	const char          *name;
	const double        *x, *y;   /* (n); an HLINE uses y[0] only */
	size_t               n;
	int                  color;
	enum probe_svg_style style;
};

void probe_svg_plot(FILE *f, const struct probe_svg_chart *c,
                    const struct probe_svg_plot_series *s, size_t n, int logx);

/* The palette colour of index i (cycled), as "#rrggbb". */
const char *probe_svg_color(int i);
/* Write s with &, <, >, " escaped (for text and attribute values). */
void probe_xml_escape(FILE *f, const char *s);

#endif
