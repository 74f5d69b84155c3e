// Writes every contiguous f32 tensor llama.cpp computes for one batch to a folder, one file per
// tensor: two int64 (row width, row count) and the floats. For finding where Cria's numbers part
// from llama.cpp's (scripts/record-lora-products.py uses it). Not part of Cria.
//
// Usage: llama-dump-tensors MODEL OUT_DIR SPLIT TOKENS [LORA]
//   TOKENS: comma-separated token ids. The first SPLIT tokens run as one batch first (0: none),
//   the rest as a second batch, whose tensors are written as OUT_DIR/NNNN_NAME_OP.bin in the
//   order computed. n_ctx 1024, batch 512, 2 threads, flash attention on; LORA at scale 1.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml-backend.h"
#include "ggml.h"
#include "llama.h"

static const char *out_dir;
static int dumping = 0, written = 0;

static void quiet(enum ggml_log_level level, const char *text, void *user) {
    (void)user;
    if (level >= GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

static bool on_tensor(struct ggml_tensor *t, bool ask, void *user) {
    (void)user;
    if (ask) return dumping;
    if (t->type != GGML_TYPE_F32 || !ggml_is_contiguous(t)) return true;
    char name[256], path[1024];
    snprintf(name, sizeof name, "%04d_%s_%s", written++, t->name, ggml_op_name(t->op));
    for (char *p = name; *p; p++)
        if (*p == ' ' || *p == '(' || *p == ')' || *p == '/') *p = '_';
    snprintf(path, sizeof path, "%s/%s.bin", out_dir, name);
    const size_t bytes = ggml_nbytes(t);
    void *data = malloc(bytes);
    ggml_backend_tensor_get(t, data, 0, bytes);
    const long long shape[2] = {t->ne[0], ggml_nrows(t)};
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); exit(1); }
    fwrite(shape, sizeof shape, 1, f);
    fwrite(data, 1, bytes, f);
    fclose(f);
    free(data);
    return true;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s MODEL OUT_DIR SPLIT TOKENS [LORA]\n", argv[0]);
        return 2;
    }
    out_dir = argv[2];
    const int split = atoi(argv[3]);
    llama_token tokens[4096];
    int n = 0;
    for (const char *p = argv[4]; *p && n < 4096;) {
        tokens[n++] = (llama_token)strtol(p, (char **)&p, 10);
        if (*p == ',') p++;
    }
    if (split < 0 || split >= n) { fprintf(stderr, "SPLIT must be in 0..<%d\n", n); return 2; }
    llama_log_set(quiet, NULL);
    llama_backend_init();
    struct llama_model *model = llama_model_load_from_file(argv[1], llama_model_default_params());
    if (!model) { fprintf(stderr, "cannot load %s\n", argv[1]); return 1; }
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 1024;
    cp.n_batch = cp.n_ubatch = 512;
    cp.n_seq_max = 1;
    cp.n_threads = cp.n_threads_batch = 2;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_ENABLED;
    cp.cb_eval = on_tensor;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "cannot make a context\n"); return 1; }
    if (argc > 5) {
        struct llama_adapter_lora *adapter = llama_adapter_lora_init(model, argv[5]);
        if (!adapter) { fprintf(stderr, "cannot load %s\n", argv[5]); return 1; }
        float scale = 1.0f;
        llama_set_adapters_lora(ctx, &adapter, 1, &scale);
    }
    if (split > 0 && llama_decode(ctx, llama_batch_get_one(tokens, split)) != 0) return 1;
    dumping = 1;
    if (llama_decode(ctx, llama_batch_get_one(tokens + split, n - split)) != 0) return 1;
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
