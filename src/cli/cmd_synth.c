/*
 * cmd_synth.c — "autodidact synth": write the synthetic corpus and its truth.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "base/io.h"
#include "cli/cli.h"
#include "synth/synth.h"

static const char synth_help[] =
"usage: autodidact synth [--bias B] [--seed S] [--sentences N | --bytes N]\n"
"                        [--truth FILE] [--quiet] -o FILE\n"
"\n"
"Write an English-like corpus, one sentence or short story per line, in which\n"
"occupation words co-occur with gendered words at a chosen rate, and a TSV\n"
"table of exactly what was generated (the ground truth for bias probes).\n"
"\n"
"Options:\n"
"  -o, --output FILE    the corpus to write ('-' for stdout)\n"
"  --truth FILE         where to write the ground truth (default: FILE.truth.tsv;\n"
"                       required with -o -)\n"
"  --bias B             share of gendered references to a stereotyped occupation\n"
"                       that use the stereotyped gender, in [0, 1] (default 0.8;\n"
"                       0.5 = no association)\n"
"  --seed S             random seed (default 1); the same seed gives the same bytes\n"
"  --sentences N        number of lines to write (default 100000)\n"
"  --bytes N            write lines until the corpus has at least N bytes\n"
"  -q, --quiet          no progress on stderr\n"
"  -h, --help           show this help\n";

int
cmd_synth(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output",    required_argument, NULL, 'o' },
		{ "truth",     required_argument, NULL, 't' },
		{ "bias",      required_argument, NULL, 'b' },
		{ "seed",      required_argument, NULL, 's' },
		{ "sentences", required_argument, NULL, 'n' },
		{ "bytes",     required_argument, NULL, 'B' },
		{ "quiet",     no_argument,       NULL, 'q' },
		{ "help",      no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct synth_config cfg = { .bias = 0.8, .seed = 1, .sentences = 0, .bytes = 0 };
	struct cli_common   common = { 0 };
	struct synth_truth  truth;
	struct ad_atomic    out, tout;
	struct ad_error     err = { 0 };
	struct ad_progress *prog;
	const char         *output = NULL, *truth_path = NULL;
	char               *truth_buf = NULL;
	int                 c, rc;

	while ((c = cli_getopt(argc, argv, "o:qh", longopts, "synth")) != -1) {
		switch (c) {
		case 'o': output = optarg; break;
		case 't': truth_path = optarg; break;
		case 'b':
			if ((rc = cli_double("synth", "--bias", optarg, 0, 1, &cfg.bias)) != 0)
				return rc;
			break;
		case 's':
			if ((rc = cli_u64("synth", "--seed", optarg, 0, UINT64_MAX, &cfg.seed)) != 0)
				return rc;
			break;
		case 'n':
			if ((rc = cli_u64("synth", "--sentences", optarg, 1, UINT64_MAX / 2,
			    &cfg.sentences)) != 0)
				return rc;
			break;
		case 'B':
			if ((rc = cli_u64("synth", "--bytes", optarg, 1, UINT64_MAX / 2,
			    &cfg.bytes)) != 0)
				return rc;
			break;
		case 'q': common.quiet = 1; break;
		case 'h': return cli_help(synth_help);
		default:  return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage("synth", "unexpected argument '%s'", argv[optind]);
	if (output == NULL)
		return cli_usage("synth", "no output file: give -o FILE");
	if (cfg.sentences != 0 && cfg.bytes != 0)
		return cli_usage("synth", "give --sentences or --bytes, not both");
	if (cfg.sentences == 0 && cfg.bytes == 0)
		cfg.sentences = 100000;
	if (truth_path == NULL) {
		if (strcmp(output, "-") == 0)
			return cli_usage("synth", "writing to stdout: give --truth FILE as well");
		if ((truth_buf = ad_malloc(strlen(output) + 16)) == NULL)
			return cli_failf("out of memory");
		strcpy(truth_buf, output);
		strcat(truth_buf, ".truth.tsv");
		truth_path = truth_buf;
	}

	if ((rc = ad_atomic_open(&out, output, &err)) != 0) {
		ad_free(truth_buf);
		return cli_fail(&err);
	}
	prog = cli_progress(&common, "synth", cfg.sentences ? cfg.sentences : cfg.bytes,
	    cfg.sentences ? "lines" : "B");
	rc = synth_generate(&cfg, out.f, &truth, prog, &err);
	if (rc != 0) {
		ad_progress_free(prog);
		if (ferror(out.f))
			ad_atomic_fail(&out, &err);
		else
			ad_atomic_abort(&out);
		ad_free(truth_buf);
		return cli_fail(&err);
	}
	ad_progress_finish(prog);
	/* The truth is written first and the corpus committed last, so that a
	 * corpus on disk always has its truth beside it. */
	if ((rc = ad_atomic_open(&tout, truth_path, &err)) != 0 ||
	    (rc = synth_truth_write(&truth, &cfg, tout.f)) != 0 ||
	    (rc = ad_atomic_commit(&tout, &err)) != 0) {
		if (tout.f != NULL && ferror(tout.f))
			ad_atomic_fail(&tout, &err);
		else if (tout.f != NULL)
			ad_atomic_abort(&tout);
		ad_atomic_abort(&out);
		synth_truth_free(&truth);
		ad_free(truth_buf);
		return cli_fail(&err);
	}
	synth_truth_free(&truth);
	if ((rc = ad_atomic_commit(&out, &err)) != 0) {
		ad_free(truth_buf);
		return cli_fail(&err);
	}
	ad_free(truth_buf);
	return CLI_EXIT_OK;
}
