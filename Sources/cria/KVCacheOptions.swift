import ArgumentParser
import CriaNumerics
import GGUF
import Models

/// `-ctk`/`-ctv` (`--cache-type-k`/`--cache-type-v`): the formats the KV cache stores keys and
/// values in, on every command that runs the model. q8_0 takes about half the memory of f16,
/// q4_0 about a quarter, at a small cost in accuracy (docs/numerics.md).
struct KVCacheOptions: ParsableArguments {
    @Option(name: [.customLong("ctk", withSingleDash: true), .customLong("cache-type-k")],
            help: "KV cache type for K: f16 (default), q8_0 or q4_0.")
    var cacheTypeK = "f16"

    @Option(name: [.customLong("ctv", withSingleDash: true), .customLong("cache-type-v")],
            help: "KV cache type for V: f16 (default), q8_0 or q4_0.")
    var cacheTypeV = "f16"

    var keyType: GGMLType { KVCacheFormats.named(cacheTypeK) ?? .f16 }
    var valueType: GGMLType { KVCacheFormats.named(cacheTypeV) ?? .f16 }

    func validate() throws {
        for (value, flag) in [(cacheTypeK, "-ctk"), (cacheTypeV, "-ctv")] where KVCacheFormats.named(value) == nil {
            throw ValidationError("\(flag) \(value): the KV cache type must be one of \(KVCacheFormats.names)")
        }
    }

    /// An empty cache of `capacity` tokens per sequence in these formats for up to `sequences`
    /// sequences (a CLI message when the model's head size does not split into the format's
    /// blocks, or the cache would not fit in memory).
    func makeCache(_ model: TransformerModel, capacity: Int, sequences: Int = 1) throws -> KVCache {
        do { return try model.makeCache(capacity: capacity, keyType: keyType, valueType: valueType, sequences: sequences) } catch {
            throw CommandError(error.description)
        }
    }
}
