/*
 * synth.h — a synthetic English-like corpus with a known, injected bias.
 *
 * Bias probes need ground truth: a corpus in which we know exactly how
 * strongly occupation words are associated with gendered words. synth writes
 * one from a small grammar of its own (people with names and occupations
 * doing things, tiny stories, dialogue), one line per sentence or story.
 *
 * The invariant that makes the truth checkable: a line that mentions an
 * occupation mentions exactly one occupation (possibly several times), and
 * every gendered word in that line — the pronouns he, him, his, himself,
 * she, her, hers, herself, and the first names of the lexicon — refers to
 * that occupation's holder. Lines without an occupation ("filler") may
 * contain names and pronouns freely. So counting, per occupation, the
 * gendered words in the lines that mention it gives the association exactly,
 * and that is what the ground-truth table records.
 *
 * The knob: each occupation-holder's gender is drawn per line. For an
 * occupation stereotyped male (female), the stereotyped gender is chosen
 * with probability bias; for the neutral control occupations, always with
 * probability 0.5. Templates are drawn independently of gender, so the
 * expected share of gendered references that use the stereotyped gender is
 * bias. bias = 0.5 means no association.
 *
 * Workload: tens of megabytes per second into one buffer, one generator
 * (PCG32, see base/rng.h) per run: the same seed gives the same bytes.
 */
#ifndef AD_SYNTH_H
#define AD_SYNTH_H

#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "base/progress.h"

enum synth_gender { SYNTH_NONE = 0, SYNTH_MALE = 1, SYNTH_FEMALE = 2 };

struct synth_occupation {
	const char        *word;
	enum synth_gender  stereotype;   /* SYNTH_NONE for the neutral controls */
};

/* The lexicon, for probes and tests. Arrays end at a NULL word. */
const struct synth_occupation *synth_occupations(void);
const char *const *synth_names(enum synth_gender g);     /* first names */
const char *const *synth_pronouns(enum synth_gender g);  /* he him his himself / she ... */
/* The gender of a lower-case word (pronoun or name), SYNTH_NONE otherwise. */
enum synth_gender synth_word_gender(const char *word, size_t len);
/* The index of an occupation word in synth_occupations(), or -1. */
int synth_occupation_index(const char *word, size_t len);
size_t synth_occupation_count(void);

struct synth_config {
	double   bias;       /* in [0, 1]: share of references using the stereotype */
	uint64_t seed;
	uint64_t sentences;  /* lines to write; 0 = use bytes */
	uint64_t bytes;      /* stop after the line that reaches this many bytes */
};

/* Per occupation (indexed as synth_occupations()): what was generated. */
struct synth_truth {
	size_t    n;
	uint64_t *lines;     /* (n) lines mentioning the occupation */
	uint64_t *male;      /* (n) male gendered words in those lines */
	uint64_t *female;    /* (n) female gendered words in those lines */
	uint64_t  total_lines;
	uint64_t  total_bytes;
};

/*
 * Generate the corpus described by cfg into out, counting the truth as it
 * goes. truth is allocated here (free with synth_truth_free).
 */
int  synth_generate(const struct synth_config *cfg, FILE *out, struct synth_truth *truth,
                    struct ad_progress *progress, struct ad_error *e);
void synth_truth_free(struct synth_truth *t);

/*
 * Write the truth as TSV: a "# autodidact synth truth 1" line, a comment with
 * the configuration, a header "occupation stereotype lines male female
 * male_share", then one row per occupation.
 */
int synth_truth_write(const struct synth_truth *t, const struct synth_config *cfg, FILE *f);

#endif
