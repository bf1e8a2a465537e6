/*
 * bpe.h — the byte-level BPE tokenizer: training, the vocabulary file,
 * encoding and decoding. Everything downstream sees only token ids.
 *
 * Pipeline of an encode: split the text on special tokens (exact byte
 * matches, leftmost, longest first); normalize each stretch between them
 * (norm.h: none, NFC or NFKC, optional case folding); cut it into pieces
 * with the pre-tokenization regex (pretok.h); encode each piece with BPE.
 *
 * Encoding rule (tiktoken's): within a piece that is not itself a token,
 * start from its single bytes and repeatedly merge the adjacent pair whose
 * concatenated bytes have the lowest rank in the vocabulary, the leftmost
 * such pair when it occurs more than once, until no adjacent pair
 * concatenates to a token. Our trained vocabularies store ranks in training
 * order (the 256 bytes, then each merge), so the same rule replays training;
 * loaded tiktoken ranks give exactly tiktoken's ids.
 *
 * A struct bpe is immutable once built or loaded and may be shared between
 * threads; encoding state that must not be shared lives in a struct
 * bpe_encoder, one per thread (it caches piece -> ids).
 *
 * Ids are 0 .. bpe_vocab_size() - 1: the ranks of the byte-level tokens,
 * then the special tokens. (A .tiktoken file may leave ranks unused; such an
 * id has no bytes and never comes out of the encoder.)
 *
 * Workload: training on tens of megabytes to gigabytes of text, streamed
 * (memory grows with the number of distinct pieces, not with the text);
 * encoding at tens of megabytes per second per thread.
 */
#ifndef AD_BPE_H
#define AD_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/progress.h"
#include "bpe/norm.h"

struct bpe;
struct bpe_encoder;

/* Load a vocabulary file written by bpe_save (format in the man page). */
int  bpe_load(struct bpe **out, const char *path, struct ad_error *e);
/* The same from memory (e.g. embedded in a model file); name is for messages. */
int  bpe_parse(struct bpe **out, const void *data, size_t len, const char *name,
               struct ad_error *e);
int  bpe_save(const struct bpe *b, const char *path, struct ad_error *e);
/* The vocabulary file's bytes in a new buffer (ad_free it), for embedding. */
int  bpe_serialize(const struct bpe *b, char **buf, size_t *len, struct ad_error *e);
void bpe_free(struct bpe *b);

uint32_t bpe_vocab_size(const struct bpe *b);
/*
 * A 64-bit identity of everything that decides the ids: the tokens and their
 * ranks, the pattern, the normalization and the specials (XXH64 of the
 * serialized form). Models store it and refuse a different tokenizer.
 */
uint64_t bpe_identity(const struct bpe *b);
/* The bytes of token id (for a special token, its text). */
const uint8_t *bpe_token_bytes(const struct bpe *b, uint32_t id, size_t *len);

int  bpe_encoder_new(const struct bpe *b, struct bpe_encoder **out, struct ad_error *e);
void bpe_encoder_free(struct bpe_encoder *enc);
/*
 * Encode text (len bytes, any bytes) and append the ids to *ids (capacity
 * *cap, grown with ad_realloc; *n is the count so far).
 */
int  bpe_encode(struct bpe_encoder *enc, const uint8_t *text, size_t len, uint32_t **ids,
                size_t *n, size_t *cap, struct ad_error *e);

/* ---- more of the vocabulary ------------------------------------------- */

/*
 * Load a tiktoken rank file (lines "BASE64TOKEN RANK"), with the
 * pre-tokenization pattern given by name (gpt2/r50k, gpt4/cl100k, o200k) or
 * as a regex, and optional special tokens, each "TOKEN" or "TOKEN=ID".
 *
 * The rank files tiktoken publishes (r50k_base, cl100k_base, o200k_base)
 * are recognised by their content: for them the pattern may be NULL (then
 * tiktoken's), a special without =ID that is one of tiktoken's gets
 * tiktoken's id, and with no specials given they get tiktoken's whole set
 * (cl100k_base: <|endoftext|> 100257, <|fim_prefix|> 100258, <|fim_middle|>
 * 100259, <|fim_suffix|> 100260, <|endofprompt|> 100276; o200k_base:
 * <|endoftext|> 199999, <|endofprompt|> 200018; r50k_base: <|endoftext|>
 * 50256), which makes the ids those of tiktoken's encode(text,
 * allowed_special="all"). Any other special takes the id after the previous
 * special's (after the highest rank for the first); ids between specials
 * are holes, and a special's id must lie above the highest rank.
 */
int  bpe_load_tiktoken(struct bpe **out, const char *path, const char *pattern,
                       const char *const *specials, size_t nspecials, struct ad_error *e);
int  bpe_parse_tiktoken(struct bpe **out, const void *data, size_t len, const char *name,
                        const char *pattern, const char *const *specials, size_t nspecials,
                        struct ad_error *e);

/*
 * A special token argument "TOKEN" or "TOKEN=ID" (ID decimal, after the last
 * '='): 1 with *id set, 0 when there is no id, -1 when the id is too large;
 * *len is the length of TOKEN.
 */
int  bpe_special_split(const char *arg, size_t *len, uint32_t *id);
/* The tiktoken rank file a vocabulary was recognised as ("cl100k_base"), or NULL. */
const char *bpe_tiktoken_name(const struct bpe *b);

/* What a vocabulary was made with. */
const char    *bpe_pattern(const struct bpe *b);
/* "gpt2", "gpt4", "o200k", or NULL for a user pattern. */
const char    *bpe_pattern_name(const struct bpe *b);
enum norm_mode bpe_normalization(const struct bpe *b);
int            bpe_casefold(const struct bpe *b);
/* Regular tokens (ranks in use) and special tokens. */
uint32_t       bpe_num_tokens(const struct bpe *b);
uint32_t       bpe_num_specials(const struct bpe *b);
/* The id of special token i (0 .. bpe_num_specials() - 1). */
uint32_t       bpe_special_id(const struct bpe *b, uint32_t i);
int            bpe_is_special(const struct bpe *b, uint32_t id);

/* ---- encoding and decoding -------------------------------------------- */

/*
 * The reference encoder: the rule above written plainly (byte strings, a
 * scan for the lowest rank after each merge, no cache, no pair table). It
 * is the oracle of the fast encoder in the tests; same arguments.
 */
int  bpe_encode_ref(struct bpe_encoder *enc, const uint8_t *text, size_t len, uint32_t **ids,
                    size_t *n, size_t *cap, struct ad_error *e);

/*
 * Encode a large text with up to threads threads (0: OpenMP's default),
 * giving exactly the ids of bpe_encode on the whole text. The text is cut
 * after a newline followed by an ASCII letter or digit, which is a piece
 * boundary of every built-in pattern; with a user pattern, or a special
 * token containing a newline, it runs on one thread.
 */
int  bpe_encode_parallel(const struct bpe *b, int threads, const uint8_t *text, size_t len,
                         uint32_t **ids, size_t *n, size_t *cap, struct ad_error *e);

/*
 * Where a long line may be cut so that encoding the parts one after the
 * other (each with bpe_encode) gives exactly the ids of the whole: the last
 * k in [1, len) where s[k] is a space and s[k - 1] an ASCII letter, or 0
 * when there is none, or when the pattern is not a built-in one, or a
 * special token contains a space. (Every built-in pattern ends a piece at a
 * letter followed by a space and starts the next piece at the space, with no
 * look-behind; normalization and case folding never join a letter and a
 * space.) Lets a line of hundreds of megabytes be encoded in bounded memory.
 */
size_t bpe_cut_point(const struct bpe *b, const uint8_t *s, size_t len);

/*
 * Append the bytes of ids[0..n) to *out (length *len, capacity *cap, grown
 * with ad_realloc). An id out of range, or an unused rank, fails with
 * AD_EINVAL naming its position.
 */
int  bpe_decode(const struct bpe *b, const uint32_t *ids, size_t n, uint8_t **out, size_t *len,
                size_t *cap, struct ad_error *e);

/* ---- training --------------------------------------------------------- */

struct bpe_train_config {
	uint32_t           vocab_size;    /* all ids: 256 bytes + merges + specials */
	const char        *pattern;       /* a built-in name or a regex; NULL = "gpt4" */
	enum norm_mode     norm;
	int                casefold;
	const char *const *specials;      /* nspecials distinct non-empty strings */
	size_t             nspecials;
	uint64_t           min_frequency; /* no merge of a pair seen fewer times (>= 1) */
	int                threads;       /* counting pass; 0 = OpenMP's default */
	size_t             chunk;         /* bytes read at a time; 0 = 4 MiB */
};

struct bpe_train_stats {
	uint64_t bytes;          /* input bytes read */
	uint64_t pieces;         /* pre-token occurrences counted */
	uint64_t unique;         /* distinct pre-tokens */
	uint32_t merges;         /* merges learned */
	uint32_t wanted;         /* merges asked for */
	uint64_t last_count;     /* the count of the last merge */
	double   count_seconds;  /* the counting pass */
	double   merge_seconds;  /* the merges */
};

/*
 * Learn a byte-level BPE vocabulary from the files paths[0..npaths) ("-" is
 * standard input), streamed: pre-tokens are counted (deduplicated, with
 * OpenMP over blocks of each chunk, per-thread tables summed), then merges
 * are learned with incremental pair counts and a priority queue.
 *
 * Tie-break: among pairs of equal count, the one with the smaller left id,
 * then the smaller right id (ids are byte values and merge order), so the
 * result is the same for any thread count.
 *
 * When no pair reaches min_frequency before vocab_size, training stops early
 * and *out is a valid, smaller vocabulary (stats tell how many merges).
 * An input with no text at all fails with AD_EDATA.
 *
 * Progress (both may be NULL): count_prog receives bytes read and is
 * finished (printed and freed: bpe_train takes ownership of it) when the
 * counting pass ends, whether it succeeds or not; merge_prog (borrowed)
 * receives merges done.
 */
int  bpe_train(struct bpe **out, const struct bpe_train_config *cfg, const char *const *paths,
               size_t npaths, struct ad_progress *count_prog, struct ad_progress *merge_prog,
               struct bpe_train_stats *stats, struct ad_error *e);

#endif
