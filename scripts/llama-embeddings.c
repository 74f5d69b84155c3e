// Records llama.cpp's tokens and pooled embeddings for texts, as JSON on stdout.
//
// Used by scripts/make-encoder-fixtures.py (which compiles it against a llama.cpp build); the
// committed fixtures are its output. Not part of Cria and not needed by its tests.
//
// Usage: llama-embeddings MODEL POOLING TEXT...
//   POOLING: -1 for the model's own (`<arch>.pooling_type`), else 1 mean or 2 cls.
// Each text is tokenized as llama-server tokenizes an embedding input (special tokens added and
// parsed) and run alone, as one batch of one sequence with every row an output, in a fresh
// context with embeddings on. Printed per text: the tokens and the pooled vector, not normalized.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"

static void quiet(enum ggml_log_level level, const char *text, void *user) {
    (void)user;
    if (level >= GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL POOLING TEXT...\n", argv[0]);
        return 2;
    }
    const int pooling = atoi(argv[2]);
    llama_log_set(quiet, NULL);
    llama_backend_init();
    struct llama_model *model = llama_model_load_from_file(argv[1], llama_model_default_params());
    if (!model) {
        fprintf(stderr, "cannot load %s\n", argv[1]);
        return 1;
    }
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    const int n_embd = llama_model_n_embd(model);
    printf("{\"texts\": [");
    for (int a = 3; a < argc; a++) {
        llama_token tokens[512];
        const int n = llama_tokenize(vocab, argv[a], (int32_t)strlen(argv[a]), tokens, 512, true, true);
        if (n <= 0) {
            fprintf(stderr, "cannot tokenize '%s'\n", argv[a]);
            return 1;
        }
        struct llama_context_params cp = llama_context_default_params();
        cp.n_ctx = 512;
        cp.n_batch = 512;
        cp.n_ubatch = 512;
        cp.n_seq_max = 1;
        cp.embeddings = true;
        cp.pooling_type = pooling < 0 ? LLAMA_POOLING_TYPE_UNSPECIFIED : (enum llama_pooling_type)pooling;
        cp.n_threads = cp.n_threads_batch = 2;
        struct llama_context *ctx = llama_init_from_model(model, cp);
        if (!ctx) {
            fprintf(stderr, "cannot create a context\n");
            return 1;
        }
        struct llama_batch batch = llama_batch_init(n, 0, 1);
        for (int i = 0; i < n; i++) {
            batch.token[i] = tokens[i];
            batch.pos[i] = i;
            batch.n_seq_id[i] = 1;
            batch.seq_id[i][0] = 0;
            batch.logits[i] = 1;
        }
        batch.n_tokens = n;
        if (llama_decode(ctx, batch) != 0) {
            fprintf(stderr, "llama_decode failed\n");
            return 1;
        }
        const float *e = llama_get_embeddings_seq(ctx, 0);
        if (!e) {
            fprintf(stderr, "no pooled embedding\n");
            return 1;
        }
        printf("%s{\"tokens\": [", a > 3 ? ", " : "");
        for (int i = 0; i < n; i++) printf("%s%d", i ? ", " : "", tokens[i]);
        printf("], \"embedding\": [");
        for (int j = 0; j < n_embd; j++) printf("%s%.9g", j ? ", " : "", e[j]);
        printf("]}");
        llama_batch_free(batch);
        llama_free(ctx);
    }
    printf("]}\n");
    llama_model_free(model);
    return 0;
}
