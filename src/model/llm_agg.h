/* SPDX-License-Identifier: MIT */
/*
 * LLM calls summed per provider and model, for the end-of-run table:
 * calls, errors (by error.type), tokens in/out/cached, and histograms of
 * duration and time to first chunk (model/hist.h: percentiles within a
 * few percent). Bounded: past LLM_AGG_MAX_ROWS models, calls of new ones
 * go to one "(other models)" row of their provider.
 */
#ifndef SONDE_MODEL_LLM_AGG_H
#define SONDE_MODEL_LLM_AGG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model/llm.h"

#define LLM_AGG_MAX_ROWS 256
#define LLM_AGG_MAX_ERRORS 4 /* error types named per row; more are summed as "_OTHER" */
#define LLM_AGG_OTHER_MODELS "(other models)"

struct hist;

struct llm_agg_error {
	char type[LLM_TYPE_MAX];
	uint64_t count;
};

struct llm_agg_row {
	enum llm_provider provider;
	char model[LLM_NAME_MAX]; /* the request's model, else the response's, else "" */
	uint64_t calls, errors;
	uint64_t incomplete; /* calls cut short (a gap, a close, a limit) */
	uint64_t streamed;
	uint64_t input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens;
	uint64_t calls_without_usage; /* the provider said nothing about tokens */
	struct hist *duration;	      /* ns, every call with a response */
	struct hist *ttfc;	      /* ns, streamed calls with a first chunk */
	struct llm_agg_error errs[LLM_AGG_MAX_ERRORS];
	unsigned int nerrs;
};

struct llm_agg;

struct llm_agg *llm_agg__new(void);
void llm_agg__free(struct llm_agg *a);
/* Count one call. 0 or -ENOMEM. */
int llm_agg__add(struct llm_agg *a, const struct llm_call *c);
/* Rows, most calls first (ties: provider, then model). */
size_t llm_agg__rows(struct llm_agg *a, const struct llm_agg_row ***out);
/* Every call summed into one row (model "", provider unknown). */
const struct llm_agg_row *llm_agg__total(const struct llm_agg *a);

/*
 * The end-of-run table of sonde llm, one row per provider and model:
 *
 *   PROVIDER  MODEL        CALLS ERRORS  IN TOKENS OUT TOKENS CACHED  P50 DUR  P99 DUR  P50 TTFC
 *   openai    gpt-4o-mini     12      1       4821        963      0  1.004 s  1.102 s  201.1 ms
 *
 * then the errors by type per row ("openai gpt-4o-mini: 429 x1"), and a
 * total line when there is more than one row. TTFC (time to first chunk)
 * is over streamed calls; "-" where nothing was measured.
 */
/* Returns 0 or -EIO. */
int llm_agg__write_table(struct llm_agg *a, FILE *f);

#endif /* SONDE_MODEL_LLM_AGG_H */
