/*
 * models.c — the model-family registry: a model file is opened by reading
 * its kind from its content (an 8-byte magic, or the "\data\" header of an
 * ARPA file), never from its name.
 *
 * This is the only file that knows every family, so it sits above them: lm/
 * is the interface the families implement (and knows none of them), ngram/
 * and nn/ implement it, and this table joins them. lm_open and
 * lm_open_buffer keep the lm_ prefix because they are the interface's entry
 * points, declared in lm/lm.h; a new family adds one line to the table.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "base/io.h"
#include "knn/knn.h"
#include "lm/lm.h"
#include "nn/import.h"
#include "nn/nn.h"
#include "ngram/ngram.h"

/*
 * The families. A binary model file starts with its 8-byte magic; an ARPA
 * file is recognised by "\data\" after optional blank space. Each family
 * adds its line here. (Imported checkpoints are tried first, by their own
 * probes: see lm_open_import.)
 */
struct lm_family {
	const char *magic;    /* 8 bytes, or NULL for a text format tested by probe */
	int       (*probe)(const uint8_t *data, size_t size);
	lm_opener   open;
	const char *name;
};

static const struct lm_family lm_families[] = {
	{ NGRAM_MAGIC, NULL, ngram_lm_open, "ngram" },
	{ NULL, ngram_arpa_probe, ngram_arpa_open, "arpa" },
	{ NN_MAGIC, NULL, nn_lm_open, "transformer" },
	{ KNN_MAGIC, NULL, knn_lm_open, "knn" },
	{ NULL, NULL, NULL, NULL },
};

/*
 * Checkpoints written by other tools (nn/import.h): GPT-2 in the Hugging
 * Face layout (safetensors) or llm.c's, which take a tokenizer from
 * outside (tok, or beside the model). dir: the directory the safetensors
 * file was found in, when the user named the directory.
 */
static int
lm_open_import(struct lm **out, const char *path, const char *dir, const char *tok,
    struct ad_map *m, struct ad_error *e)
{
	int rc = 1;

	if (nn_st_probe(m->data, m->size))
		rc = nn_gpt2_open_safetensors(out, path, dir, tok, m, e);
	else if (nn_llmc_probe(m->data, m->size))
		rc = nn_gpt2_open_llmc(out, path, tok, m, e);
	if (rc < 0)
		ad_map_release(m);
	return rc;
}

/* Dispatch a mapped file to its family; the map passes on, or is released. */
static int
lm_open_map(struct lm **out, const char *path, const char *dir, const char *tok,
    struct ad_map *m, struct ad_error *e)
{
	int rc, empty;

	if ((rc = lm_open_import(out, path, dir, tok, m, e)) <= 0)
		return rc;

	for (const struct lm_family *f = lm_families; f->open != NULL; f++) {
		int match = f->magic != NULL ? m->size >= 8 && memcmp(m->data, f->magic, 8) == 0
		                             : f->probe(m->data, m->size);
		if (!match)
			continue;
		rc = f->open(out, path, m, e);
		if (rc != 0) {
			ad_map_release(m);
			return rc;
		}
		/* A family that does not say is left to right (lm.h). */
		if ((*out)->objective == NULL) {
			(*out)->objective = "causal";
			(*out)->mask = LM_NONE;
		}
		return 0;
	}
	empty = m->size == 0;
	ad_map_release(m);
	if (empty)
		return ad_fail(e, AD_EFORMAT, "%s: empty file, not a model", path);
	return ad_fail(e, AD_EFORMAT,
	    "%s: not a model file (neither an autodidact model, an ARPA file nor a GPT-2 "
	    "checkpoint); models are written by 'autodidact train'", path);
}

int
lm_open_with(struct lm **out, const char *path, const char *tokenizer, struct ad_error *e)
{
	struct ad_map m;
	char         *file = NULL;
	int           rc;

	/* A directory is a Hugging Face checkpoint: its model.safetensors. */
	if (ad_path_is_dir(path)) {
		size_t n = strlen(path) + sizeof "/model.safetensors";
		if ((file = ad_malloc(n)) == NULL)
			return ad_fail(e, AD_ENOMEM, "out of memory");
		snprintf(file, n, "%s/model.safetensors", path);
		if ((rc = ad_map_file(file, &m, e)) != 0) {
			ad_error_prefix(e, "%s: a directory, and a model directory holds "
			    "model.safetensors (with config.json)", path);
			ad_free(file);
			return rc;
		}
		rc = lm_open_map(out, file, path, tokenizer, &m, e);
		ad_free(file);
		return rc;
	}
	if ((rc = ad_map_file(path, &m, e)) != 0)
		return rc;
	return lm_open_map(out, path, NULL, tokenizer, &m, e);
}

int
lm_open(struct lm **out, const char *path, struct ad_error *e)
{
	return lm_open_with(out, path, NULL, e);
}

int
lm_open_buffer(struct lm **out, const char *name, const void *data, size_t len,
    struct ad_error *e)
{
	struct ad_map m;
	uint8_t      *copy = ad_malloc(len);

	if (copy == NULL)
		return ad_fail(e, AD_ENOMEM, "%s: out of memory for %zu bytes", name, len);
	memcpy(copy, data, len);
	m.data = copy;
	m.size = len;
	m.mapped = 0;
	return lm_open_map(out, name, NULL, NULL, &m, e);
}
