/*
 * svg.h — small charts as inline SVG, for self-contained HTML reports.
 *
 * In the base layer because more than one report draws with it (the bias
 * report and the comparison report); it depends on nothing but stdio. Four
 * charts cover what the reports show — horizontal bars with error bars, a
 * labelled scatter with error bars and an optional y = x diagonal, a line
 * chart of several series, and a general x-y plot (lines, points and
 * baselines over a linear or logarithmic x), and a reliability diagram for
 * the comparison report's calibration — each written as one <svg>
 * element with a viewBox, so it scales with the page, and a <title> on every
 * mark so a reader can hover for the exact number. No scripts, fonts or
 * external files: the output renders the same offline.
 *
 * Non-finite values are skipped (a bar or point with a NAN value is drawn
 * as a label only; a NAN interval end draws no whisker). Text is XML-escaped.
 */
#ifndef AD_SVG_H
#define AD_SVG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct ad_svg_chart {
	const char *title;
	const char *xlabel;   /* horizontal axis (the value axis of a bar chart) */
	const char *ylabel;   /* vertical axis (scatter and lines) */
	double      ref;      /* a reference line (bars: where bars start), NAN: none */
	int         width;    /* pixels of the viewBox; 0: 720 */
};

struct ad_svg_bar {
	const char *label;
	double      value, lo, hi;   /* lo/hi NAN: no error bar */
	int         color;           /* palette index */
	int         strong;          /* 1: drawn solid (e.g. significant), 0: pale */
};

struct ad_svg_point {
	const char *label;
	double      x, y;
	double      xlo, xhi, ylo, yhi;  /* NAN: no error bar on that axis */
	int         color;
};

struct ad_svg_series {
	const char   *name;
	const double *x, *y;   /* (n) */
	size_t        n;
	int           color;
};

void ad_svg_bars(FILE *f, const struct ad_svg_chart *c, const struct ad_svg_bar *b, size_t n);
void ad_svg_scatter(FILE *f, const struct ad_svg_chart *c, const struct ad_svg_point *p,
                    size_t n, int diagonal);
void ad_svg_lines(FILE *f, const struct ad_svg_chart *c, const struct ad_svg_series *s,
                  size_t n);
/*
 * A general x-y plot for the comparison report: each series is drawn as a
 * line, as labelled points, as a horizontal reference line at y[0]
 * across the whole plot (a baseline), or as a vertical one at x[0] (a
 * marked position, such as the sweep's interpolation threshold); the x axis
 * may be logarithmic (non-positive x values are then skipped). The legend
 * lists the series.
 */
enum ad_svg_style { AD_SVG_LINE, AD_SVG_POINTS, AD_SVG_HLINE, AD_SVG_VLINE };

struct ad_svg_plot_series {
	const char          *name;
	const double        *x, *y;   /* (n); an HLINE uses y[0] only */
	size_t               n;
	int                  color;
	enum ad_svg_style    style;
};

/* axes: 0, or AD_SVG_LOGX and/or AD_SVG_LOGY (decades; a point with a
 * non-positive value on a logarithmic axis is skipped). */
enum { AD_SVG_LOGX = 1, AD_SVG_LOGY = 2 };
void ad_svg_plot(FILE *f, const struct ad_svg_chart *c, const struct ad_svg_plot_series *s,
                 size_t n, int axes);

/*
 * A reliability diagram (Guo et al. 2017, figure 1): nbins equal-width
 * confidence bins over [0, 1]; for each non-empty bin a bar up to its
 * accuracy, a tick at its mean confidence and its count above, and the
 * diagonal accuracy = confidence. Both axes run from 0 to 1.
 */
void ad_svg_reliability(FILE *f, const struct ad_svg_chart *c, const double *conf,
                        const double *acc, const uint64_t *count, size_t nbins);

/* The palette colour of index i (cycled), as "#rrggbb". */
const char *ad_svg_color(int i);
/* Write s with &, <, >, " escaped (for text and attribute values). */
void ad_xml_escape(FILE *f, const char *s);

#endif
