/*
 * synth.c — the grammar and generator of the synthetic corpus. See synth.h
 * for the invariant that makes its ground truth exact.
 *
 * Templates are strings with one-character slots after '$':
 *   occupation lines (the entity is the occupation's holder, gender g):
 *     $o occupation  $S he/she  $C He/She  $O him/her  $P his/her
 *     $R himself/herself  $N a first name of gender g
 *   fillers (no occupation):
 *     $1 $2 two first names of any gender  $s the pronoun of $1's gender
 *   both:
 *     $v future phrase  $p past phrase  $r reason  $h habit  $q quote
 *     $l place  $e neutral person  $a adjective  $w weather  $n animal
 *     $t thing  $d time of day  $m meal  $g group of people
 */
#include "config.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "synth/synth.h"

static const struct synth_occupation synth_occ[] = {
	/* Stereotyped male in this synthetic world. */
	{ "engineer", SYNTH_MALE },   { "carpenter", SYNTH_MALE },
	{ "mechanic", SYNTH_MALE },   { "plumber", SYNTH_MALE },
	{ "pilot", SYNTH_MALE },      { "farmer", SYNTH_MALE },
	{ "builder", SYNTH_MALE },    { "sheriff", SYNTH_MALE },
	{ "surgeon", SYNTH_MALE },    { "janitor", SYNTH_MALE },
	/* Stereotyped female. */
	{ "nurse", SYNTH_FEMALE },        { "secretary", SYNTH_FEMALE },
	{ "receptionist", SYNTH_FEMALE }, { "librarian", SYNTH_FEMALE },
	{ "hairdresser", SYNTH_FEMALE },  { "nanny", SYNTH_FEMALE },
	{ "dancer", SYNTH_FEMALE },       { "housekeeper", SYNTH_FEMALE },
	{ "teacher", SYNTH_FEMALE },      { "cashier", SYNTH_FEMALE },
	/* Neutral controls: always 50/50. */
	{ "writer", SYNTH_NONE },   { "lawyer", SYNTH_NONE },
	{ "painter", SYNTH_NONE },  { "singer", SYNTH_NONE },
	{ "driver", SYNTH_NONE },   { "clerk", SYNTH_NONE },
	{ "manager", SYNTH_NONE },  { "scientist", SYNTH_NONE },
	{ NULL, SYNTH_NONE },
};

#define SYNTH_NOCC (sizeof synth_occ / sizeof synth_occ[0] - 1)

static const char *const names_m[] = {
	"James", "John", "Robert", "Michael", "William", "David", "Richard", "Thomas",
	"Charles", "Daniel", "Matthew", "Anthony", "Mark", "Paul", "Steven", "Andrew",
	"Joshua", "Kevin", "Brian", "George", "Edward", "Henry", "Peter", "Samuel",
	"Arthur", "Walter", "Harold", "Frank", "Albert", "Oliver", NULL,
};
static const char *const names_f[] = {
	"Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Susan", "Jessica", "Sarah",
	"Karen", "Nancy", "Lisa", "Margaret", "Sandra", "Ashley", "Emily", "Donna",
	"Michelle", "Carol", "Amanda", "Melissa", "Deborah", "Laura", "Rebecca", "Helen",
	"Alice", "Ruth", "Emma", "Grace", "Rose", "Julia", NULL,
};
static const char *const pron_m[] = { "he", "him", "his", "himself", NULL };
static const char *const pron_f[] = { "she", "her", "hers", "herself", NULL };

#define LIST(...) { __VA_ARGS__, NULL }
static const char *const w_future[] = LIST(
    "be late today", "help the family", "come back tomorrow", "finish the report",
    "need more time", "visit the market", "stay until evening", "call the office",
    "bring some bread", "write a letter", "take the early train", "look for the keys",
    "fix it before noon", "wait at the station", "join them for dinner");
static const char *const w_past[] = LIST(
    "opened the window", "carried the heavy box", "fixed the old clock", "read the letter",
    "painted the fence", "cleaned the kitchen", "wrote a short note", "found the keys",
    "closed the door", "counted the coins", "moved the table", "washed the cups",
    "checked the list", "lit the lamp", "answered the phone", "climbed the stairs");
static const char *const w_reason[] = LIST(
    "was tired", "had no time", "wanted to help", "was in a hurry", "liked the work",
    "felt happy", "was worried", "had a plan", "was curious", "needed the money");
static const char *const w_habit[] = LIST(
    "walks to work", "drinks a cup of tea", "reads the newspaper", "talks to the neighbours",
    "works until late", "feeds the birds", "sings a little song", "checks the weather",
    "waters the plants", "listens to the radio");
static const char *const w_quote[] = LIST(
    "I will be there soon", "Good morning", "That is a fine idea", "We should leave now",
    "Thank you very much", "Come in and sit down", "It is getting dark", "Nobody told me",
    "Let us begin", "I think it will rain");
static const char *const w_place[] = LIST(
    "market", "garden", "station", "park", "village", "kitchen", "office", "school",
    "square", "harbour", "bakery", "hospital", "bridge", "valley", "town hall");
static const char *const w_person[] = LIST(
    "child", "neighbour", "customer", "visitor", "friend", "stranger", "student", "guest",
    "traveller", "patient");
static const char *const w_adj[] = LIST(
    "ready", "tired", "happy", "busy", "sure", "late", "calm", "proud", "careful", "glad");
static const char *const w_weather[] = LIST(
    "cold", "warm", "rainy", "windy", "quiet", "bright", "grey", "long");
static const char *const w_animal[] = LIST(
    "cat", "dog", "old horse", "goat", "little bird", "fox");
static const char *const w_thing[] = LIST(
    "fire", "window", "gate", "river", "wall", "stove", "tree");
static const char *const w_time[] = LIST(
    "morning", "afternoon", "evening", "night", "day");
static const char *const w_meal[] = LIST(
    "breakfast", "lunch", "dinner", "supper");
static const char *const w_group[] = LIST(
    "children", "neighbours", "travellers", "students", "guests", "families");

/* Occupation templates: every gendered slot refers to the holder. */
static const char *const t_occ[] = LIST(
    "The $o said that $S would $v.",
    "The $o $p because $S $r.",
    "$N is a $o, and $S $h every day.",
    "\"$q,\" said the $o, and $S $p.",
    "Once there was a $o named $N. Every morning $S $h.",
    "The $o finished $P work and went home.",
    "When the $o arrived at the $l, $S $p.",
    "The $e thanked the $o for $P help.",
    "The $o looked at $R in the mirror and smiled.",
    "Everyone in the $l knew the $o, and they liked $O.",
    "The $o told the $e that $S was $a.",
    "\"Where is the $o?\" asked the $e. \"$C is at the $l,\" said a friend.",
    "The $o was $a, so the $e waited for $O.",
    "After $m the $o $p, and then $S went to the $l.",
    "The new $o is $N, and the $g like $O.");

/* Fillers: no occupation; names and pronouns are free. */
static const char *const t_fill[] = LIST(
    "$1 and $2 walked to the $l.",
    "The $e $p in the $l.",
    "It was a $w $d in the $l.",
    "$1 said that $s would $v.",
    "\"$q,\" said $1.",
    "The $n slept near the $t all $d.",
    "After $m the $g went to the $l.",
    "The $g were $a because the $d was $w.",
    "$1 $p and waited for $2.",
    "Nobody came to the $l that $d.");

#define NELEM(list) (sizeof(list) / sizeof((list)[0]) - 1)

const struct synth_occupation *synth_occupations(void) { return synth_occ; }
size_t synth_occupation_count(void) { return SYNTH_NOCC; }

const char *const *
synth_names(enum synth_gender g)
{
	return g == SYNTH_MALE ? names_m : names_f;
}

const char *const *
synth_pronouns(enum synth_gender g)
{
	return g == SYNTH_MALE ? pron_m : pron_f;
}

/* Case-insensitive comparison of word (len bytes) with a NUL-terminated s. */
static int
synth_word_is(const char *word, size_t len, const char *s)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char c = word[i], d = s[i];
		if (d == '\0')
			return 0;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (d >= 'A' && d <= 'Z')
			d = (char)(d - 'A' + 'a');
		if (c != d)
			return 0;
	}
	return s[len] == '\0';
}

static int
synth_in_list(const char *word, size_t len, const char *const *list)
{
	for (; *list != NULL; list++)
		if (synth_word_is(word, len, *list))
			return 1;
	return 0;
}

enum synth_gender
synth_word_gender(const char *word, size_t len)
{
	if (synth_in_list(word, len, pron_m) || synth_in_list(word, len, names_m))
		return SYNTH_MALE;
	if (synth_in_list(word, len, pron_f) || synth_in_list(word, len, names_f))
		return SYNTH_FEMALE;
	return SYNTH_NONE;
}

int
synth_occupation_index(const char *word, size_t len)
{
	for (size_t i = 0; i < SYNTH_NOCC; i++)
		if (synth_word_is(word, len, synth_occ[i].word))
			return (int)i;
	return -1;
}

/* -------------------------------------------------------------------------- */
/* Generation. */

#define LINE_MAX_BYTES 1024

struct synth_line {
	char   buf[LINE_MAX_BYTES];
	size_t len;
};

static void
line_put(struct synth_line *l, const char *s)
{
	size_t n = strlen(s);

	assert(l->len + n < sizeof l->buf);
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static const char *
pick(struct ad_rng *r, const char *const *list, size_t n)
{
	return list[ad_rng_below(r, (uint32_t)n)];
}

#define PICK(r, list) pick((r), (list), NELEM(list))

/*
 * Expand template t into l. For occupation lines (occ >= 0) the entity has
 * gender g, and each gendered word written is added to *male or *female.
 */
static void
synth_expand(struct ad_rng *r, const char *t, int occ, enum synth_gender g,
    struct synth_line *l, uint64_t *male, uint64_t *female)
{
	const char *const *pron = synth_pronouns(g);
	enum synth_gender  g1 = ad_rng_below(r, 2) ? SYNTH_MALE : SYNTH_FEMALE;
	const char        *name1 = pick(r, synth_names(g1), 30);
	const char        *name2 = pick(r, synth_names(ad_rng_below(r, 2) ? SYNTH_MALE : SYNTH_FEMALE), 30);
	uint64_t          *count = g == SYNTH_MALE ? male : female;

	for (; *t != '\0'; t++) {
		const char *w = NULL;
		int         gendered = 0;

		if (*t != '$') {
			assert(l->len + 1 < sizeof l->buf);
			l->buf[l->len++] = *t;
			continue;
		}
		switch (*++t) {
		case 'o': w = synth_occ[occ].word; break;
		case 'S': w = pron[0]; gendered = 1; break;
		case 'C': w = g == SYNTH_MALE ? "He" : "She"; gendered = 1; break;
		case 'O': w = pron[1]; gendered = 1; break;
		case 'P': w = g == SYNTH_MALE ? "his" : "her"; gendered = 1; break;
		case 'R': w = pron[3]; gendered = 1; break;
		case 'N': w = pick(r, synth_names(g), 30); gendered = 1; break;
		case '1': w = name1; break;
		case '2': w = name2; break;
		case 's': w = synth_pronouns(g1)[0]; break;
		case 'v': w = PICK(r, w_future); break;
		case 'p': w = PICK(r, w_past); break;
		case 'r': w = PICK(r, w_reason); break;
		case 'h': w = PICK(r, w_habit); break;
		case 'q': w = PICK(r, w_quote); break;
		case 'l': w = PICK(r, w_place); break;
		case 'e': w = PICK(r, w_person); break;
		case 'a': w = PICK(r, w_adj); break;
		case 'w': w = PICK(r, w_weather); break;
		case 'n': w = PICK(r, w_animal); break;
		case 't': w = PICK(r, w_thing); break;
		case 'd': w = PICK(r, w_time); break;
		case 'm': w = PICK(r, w_meal); break;
		case 'g': w = PICK(r, w_group); break;
		default:  assert(!"unknown template slot");
		}
		if (l->len == 0 && w[0] >= 'a' && w[0] <= 'z') {
			/* Capitalise a sentence-initial word. */
			line_put(l, w);
			l->buf[0] = (char)(l->buf[0] - 'a' + 'A');
		} else {
			line_put(l, w);
		}
		if (gendered && occ >= 0)
			(*count)++;
	}
}

int
synth_generate(const struct synth_config *cfg, FILE *out, struct synth_truth *truth,
    struct ad_progress *progress, struct ad_error *e)
{
	struct ad_rng     rng;
	struct synth_line line;
	uint64_t          lines = 0, bytes = 0, m, f;
	char             *buf;
	size_t            buflen = 0, bufcap = 1 << 20;
	int               rc = 0;

	assert(NELEM(names_m) == 30 && NELEM(names_f) == 30);
	if (!(cfg->bias >= 0.0 && cfg->bias <= 1.0))
		return ad_fail(e, AD_EINVAL, "bias %g is outside [0, 1]", cfg->bias);
	if (cfg->sentences == 0 && cfg->bytes == 0)
		return ad_fail(e, AD_EINVAL, "nothing to generate: give a number of sentences or bytes");
	memset(truth, 0, sizeof *truth);
	truth->n = SYNTH_NOCC;
	truth->lines = ad_calloc(SYNTH_NOCC, sizeof *truth->lines);
	truth->male = ad_calloc(SYNTH_NOCC, sizeof *truth->male);
	truth->female = ad_calloc(SYNTH_NOCC, sizeof *truth->female);
	buf = ad_malloc(bufcap);
	if (truth->lines == NULL || truth->male == NULL || truth->female == NULL || buf == NULL) {
		synth_truth_free(truth);
		ad_free(buf);
		return ad_fail(e, AD_ENOMEM, "out of memory");
	}
	ad_rng_seed(&rng, cfg->seed, 0x73796e7468ULL /* "synth" */);

	while (cfg->sentences ? lines < cfg->sentences : bytes < cfg->bytes) {
		line.len = 0;
		/* About half the lines are about an occupation. */
		if (ad_rng_below(&rng, 2)) {
			int               occ = (int)ad_rng_below(&rng, (uint32_t)SYNTH_NOCC);
			enum synth_gender st = synth_occ[occ].stereotype, g;
			double            u = ad_rng_uniform(&rng);

			if (st == SYNTH_NONE)
				g = u < 0.5 ? SYNTH_MALE : SYNTH_FEMALE;
			else if (u < cfg->bias)
				g = st;
			else
				g = st == SYNTH_MALE ? SYNTH_FEMALE : SYNTH_MALE;
			m = f = 0;
			synth_expand(&rng, PICK(&rng, t_occ), occ, g, &line, &m, &f);
			truth->lines[occ]++;
			truth->male[occ] += m;
			truth->female[occ] += f;
		} else {
			synth_expand(&rng, PICK(&rng, t_fill), -1, SYNTH_NONE, &line, &m, &f);
		}
		line.buf[line.len++] = '\n';
		if (buflen + line.len > bufcap) {
			if (fwrite(buf, 1, buflen, out) != buflen) {
				rc = ad_fail(e, AD_EIO, "cannot write the corpus");
				break;
			}
			buflen = 0;
			ad_progress_update(progress, cfg->sentences ? lines : bytes);
			if (ad_interrupted()) {
				rc = ad_fail(e, AD_EINTR, "interrupted after %llu lines",
				    (unsigned long long)lines);
				break;
			}
		}
		memcpy(buf + buflen, line.buf, line.len);
		buflen += line.len;
		bytes += line.len;
		lines++;
	}
	if (rc == 0 && buflen > 0 && fwrite(buf, 1, buflen, out) != buflen)
		rc = ad_fail(e, AD_EIO, "cannot write the corpus");
	ad_free(buf);
	if (rc != 0) {
		synth_truth_free(truth);
		return rc;
	}
	ad_progress_update(progress, cfg->sentences ? lines : bytes);
	truth->total_lines = lines;
	truth->total_bytes = bytes;
	return 0;
}

void
synth_truth_free(struct synth_truth *t)
{
	if (t == NULL)
		return;
	ad_free(t->lines);
	ad_free(t->male);
	ad_free(t->female);
	memset(t, 0, sizeof *t);
}

/* The fewest significant digits (up to 17) that print v exactly. */
static int
synth_digits(double v)
{
	char buf[40];

	for (int p = 1; p < 17; p++) {
		snprintf(buf, sizeof buf, "%.*g", p, v);
		if (strtod(buf, NULL) == v)
			return p;
	}
	return 17;
}

int
synth_truth_write(const struct synth_truth *t, const struct synth_config *cfg, FILE *f)
{
	static const char *st[] = { "none", "male", "female" };

	fprintf(f, "# autodidact synth truth 1\n");
	fprintf(f, "# seed=%llu bias=%.*g lines=%llu bytes=%llu\n",
	    (unsigned long long)cfg->seed, synth_digits(cfg->bias), cfg->bias, (unsigned long long)t->total_lines,
	    (unsigned long long)t->total_bytes);
	fprintf(f, "occupation\tstereotype\tlines\tmale\tfemale\tmale_share\n");
	for (size_t i = 0; i < t->n; i++) {
		uint64_t tot = t->male[i] + t->female[i];
		fprintf(f, "%s\t%s\t%llu\t%llu\t%llu\t", synth_occ[i].word,
		    st[synth_occ[i].stereotype], (unsigned long long)t->lines[i],
		    (unsigned long long)t->male[i], (unsigned long long)t->female[i]);
		if (tot > 0)
			fprintf(f, "%.6f\n", (double)t->male[i] / (double)tot);
		else
			fprintf(f, "-\n");
	}
	return ferror(f) ? AD_EIO : 0;
}
