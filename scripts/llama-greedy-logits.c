// Records llama.cpp's logits and greedy continuation for token-id prompts, as JSON on stdout.
//
// Used by scripts/record-architecture-fixtures.py (which compiles it against a llama.cpp build);
// the committed fixtures are its output. Not part of Cria and not needed by its tests.
//
// Usage: llama-greedy-logits MODEL N_CTX N_PREDICT TOP_K PROMPT...
//   each PROMPT is a comma-separated list of token ids; one written as "shift:A:B:IDS" runs IDS,
//   then removes the cached positions A..<B and moves the later ones down by B − A (llama-server's
//   context shift) before the greedy steps continue at the new end.
// Each prompt runs in a fresh context as llama-server runs it: the whole prompt as one batch
// (flash attention on, f16 KV cache, one sequence), then one token per step, always taking the
// highest logit (first one on ties). Printed per prompt: the prompt, the generated tokens, the
// full logits after the prompt, and the TOP_K highest (id, logit) pairs of every step.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"

static void quiet(enum ggml_log_level level, const char *text, void *user) {
    (void)user;
    if (level >= GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

// The k largest entries (ties: lower id first), printed as [[id, logit], ...].
static void print_top(const float *x, int n, int k) {
    int *taken = calloc((size_t)n, sizeof(int));
    printf("[");
    for (int j = 0; j < k && j < n; j++) {
        int best = -1;
        for (int i = 0; i < n; i++)
            if (!taken[i] && (best < 0 || x[i] > x[best])) best = i;
        taken[best] = 1;
        printf("%s[%d, %.9g]", j ? ", " : "", best, x[best]);
    }
    printf("]");
    free(taken);
}

static int parse_tokens(const char *text, llama_token *out, int cap) {
    int n = 0;
    const char *p = text;
    while (*p && n < cap) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p) return -1;
        out[n++] = (llama_token)v;
        p = *end == ',' ? end + 1 : end;
    }
    return n;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s MODEL N_CTX N_PREDICT TOP_K PROMPT...\n", argv[0]);
        return 2;
    }
    const int n_ctx = atoi(argv[2]), n_predict = atoi(argv[3]), top_k = atoi(argv[4]);
    llama_log_set(quiet, NULL);
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    struct llama_model *model = llama_model_load_from_file(argv[1], mp);
    if (!model) {
        fprintf(stderr, "cannot load %s\n", argv[1]);
        return 1;
    }
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    printf("{\"n_ctx\": %d, \"prompts\": [", n_ctx);
    for (int a = 5; a < argc; a++) {
        llama_token prompt[4096];
        int shift_from = -1, shift_to = -1, consumed = 0;
        const char *ids = argv[a];
        if (sscanf(ids, "shift:%d:%d:%n", &shift_from, &shift_to, &consumed) == 2 && consumed > 0) ids += consumed;
        const int n_prompt = parse_tokens(ids, prompt, 4096);
        if (n_prompt <= 0) {
            fprintf(stderr, "bad prompt '%s'\n", argv[a]);
            return 2;
        }
        struct llama_context_params cp = llama_context_default_params();
        cp.n_ctx = (uint32_t)n_ctx;
        cp.n_batch = cp.n_ubatch = 512;
        cp.n_seq_max = 1;
        cp.n_threads = cp.n_threads_batch = 2;
        cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_ENABLED;
        struct llama_context *ctx = llama_init_from_model(model, cp);
        if (!ctx) {
            fprintf(stderr, "cannot make a context\n");
            return 1;
        }
        printf("%s{\"prompt\": [", a > 5 ? ", " : "");
        for (int i = 0; i < n_prompt; i++) printf("%s%d", i ? ", " : "", prompt[i]);
        printf("], ");
        if (llama_decode(ctx, llama_batch_get_one(prompt, n_prompt)) != 0) {
            fprintf(stderr, "decode failed\n");
            return 1;
        }
        int next_pos = n_prompt;
        if (shift_from >= 0) {
            llama_memory_t mem = llama_get_memory(ctx);
            llama_memory_seq_rm(mem, 0, shift_from, shift_to);
            llama_memory_seq_add(mem, 0, shift_to, -1, shift_from - shift_to);
            next_pos -= shift_to - shift_from;
            printf("\"shift\": [%d, %d], ", shift_from, shift_to);
        }
        const float *logits = llama_get_logits_ith(ctx, -1);
        printf("\"prompt_logits\": [");
        for (int i = 0; i < n_vocab; i++) printf("%s%.9g", i ? ", " : "", logits[i]);
        printf("], \"top\": [");
        llama_token generated[4096];
        for (int step = 0; step < n_predict; step++) {
            if (step > 0) {
                struct llama_batch one = llama_batch_init(1, 0, 1);
                one.n_tokens = 1;
                one.token[0] = generated[step - 1];
                one.pos[0] = next_pos++;
                one.n_seq_id[0] = 1;
                one.seq_id[0][0] = 0;
                one.logits[0] = 1;
                const int failed = llama_decode(ctx, one) != 0;
                llama_batch_free(one);
                if (failed) {
                    fprintf(stderr, "decode failed\n");
                    return 1;
                }
                logits = llama_get_logits_ith(ctx, -1);
            }
            if (step > 0) printf(", ");
            print_top(logits, n_vocab, top_k);
            generated[step] = argmax(logits, n_vocab);
        }
        printf("], \"generated\": [");
        for (int i = 0; i < n_predict; i++) printf("%s%d", i ? ", " : "", generated[i]);
        printf("]}");
        llama_free(ctx);
    }
    printf("]}\n");
    llama_model_free(model);
    return 0;
}
