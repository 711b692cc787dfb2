/* SPDX-License-Identifier: MIT */
/*
 * Every OpenTelemetry GenAI name sonde uses, in one table: attributes,
 * metrics, their well-known values and the histogram bucket boundaries
 * the conventions advise (semantic-conventions docs/gen-ai, 2026-04,
 * "Development" stability: gen_ai.provider.name replaced gen_ai.system,
 * gen_ai.usage.input_tokens/output_tokens replaced prompt/completion).
 * Exporters and the LLM call model take names from here only, so a
 * rename in the conventions is a change in this one file.
 */
#ifndef SONDE_GENAI_NAMES_H
#define SONDE_GENAI_NAMES_H

/* Span attributes. */
#define GENAI_OPERATION_NAME "gen_ai.operation.name"
#define GENAI_PROVIDER_NAME "gen_ai.provider.name"
#define GENAI_REQUEST_MODEL "gen_ai.request.model"
#define GENAI_REQUEST_STREAM "gen_ai.request.stream"
#define GENAI_RESPONSE_MODEL "gen_ai.response.model"
#define GENAI_RESPONSE_ID "gen_ai.response.id"
#define GENAI_RESPONSE_FINISH_REASONS "gen_ai.response.finish_reasons"
#define GENAI_RESPONSE_TIME_TO_FIRST_CHUNK "gen_ai.response.time_to_first_chunk"
#define GENAI_USAGE_INPUT_TOKENS "gen_ai.usage.input_tokens"
#define GENAI_USAGE_OUTPUT_TOKENS "gen_ai.usage.output_tokens"
#define GENAI_USAGE_CACHE_READ_INPUT_TOKENS "gen_ai.usage.cache_read.input_tokens"
#define GENAI_USAGE_CACHE_CREATION_INPUT_TOKENS "gen_ai.usage.cache_creation.input_tokens"
#define GENAI_USAGE_REASONING_OUTPUT_TOKENS "gen_ai.usage.reasoning.output_tokens"
#define GENAI_INPUT_MESSAGES "gen_ai.input.messages"
#define GENAI_OUTPUT_MESSAGES "gen_ai.output.messages"
#define GENAI_TOKEN_TYPE "gen_ai.token.type"
#define GENAI_OPENAI_API_TYPE "openai.api.type"
#define GENAI_SERVER_ADDRESS "server.address"
#define GENAI_SERVER_PORT "server.port"
#define GENAI_HTTP_STATUS_CODE "http.response.status_code"
#define GENAI_ERROR_TYPE "error.type"

/* Metrics: histograms, token counts in {token}, durations in seconds. */
#define GENAI_METRIC_TOKEN_USAGE "gen_ai.client.token.usage"
#define GENAI_METRIC_OPERATION_DURATION "gen_ai.client.operation.duration"
#define GENAI_METRIC_TIME_TO_FIRST_CHUNK "gen_ai.client.operation.time_to_first_chunk"
#define GENAI_METRIC_TIME_PER_OUTPUT_CHUNK "gen_ai.client.operation.time_per_output_chunk"

/* gen_ai.token.type values. */
#define GENAI_TOKEN_TYPE_INPUT "input"
#define GENAI_TOKEN_TYPE_OUTPUT "output"

/* gen_ai.operation.name values. */
#define GENAI_OP_CHAT "chat"
#define GENAI_OP_TEXT_COMPLETION "text_completion"
#define GENAI_OP_EMBEDDINGS "embeddings"
#define GENAI_OP_GENERATE_CONTENT "generate_content"

/* openai.api.type values. */
#define GENAI_OPENAI_API_CHAT_COMPLETIONS "chat_completions"
#define GENAI_OPENAI_API_RESPONSES "responses"

/*
 * gen_ai.provider.name values: the conventions' well-known ones, and
 * "ollama", a custom value (the conventions allow one where none applies).
 */
#define GENAI_PROVIDER_OPENAI "openai"
#define GENAI_PROVIDER_ANTHROPIC "anthropic"
#define GENAI_PROVIDER_GCP_GEMINI "gcp.gemini"
#define GENAI_PROVIDER_GCP_VERTEX_AI "gcp.vertex_ai"
#define GENAI_PROVIDER_GCP_GEN_AI "gcp.gen_ai"
#define GENAI_PROVIDER_AZURE_OPENAI "azure.ai.openai"
#define GENAI_PROVIDER_AZURE_INFERENCE "azure.ai.inference"
#define GENAI_PROVIDER_AWS_BEDROCK "aws.bedrock"
#define GENAI_PROVIDER_COHERE "cohere"
#define GENAI_PROVIDER_DEEPSEEK "deepseek"
#define GENAI_PROVIDER_GROQ "groq"
#define GENAI_PROVIDER_IBM_WATSONX "ibm.watsonx.ai"
#define GENAI_PROVIDER_MISTRAL "mistral_ai"
#define GENAI_PROVIDER_PERPLEXITY "perplexity"
#define GENAI_PROVIDER_X_AI "x_ai"
#define GENAI_PROVIDER_OLLAMA "ollama"

/* error.type's fallback when nothing more specific is known. */
#define GENAI_ERROR_OTHER "_OTHER"

/* ExplicitBucketBoundaries of gen_ai.client.token.usage ({token}). */
#define GENAI_TOKEN_BUCKETS \
	1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864
#define GENAI_TOKEN_NBUCKETS 14
/*
 * ExplicitBucketBoundaries (seconds) of operation.duration,
 * time_to_first_chunk and time_per_output_chunk: the same 14 bounds.
 */
#define GENAI_DURATION_BUCKETS \
	0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92
#define GENAI_DURATION_NBUCKETS 14

#endif /* SONDE_GENAI_NAMES_H */
