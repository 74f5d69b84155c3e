import ArgumentParser
import Foundation

/// `--lora`, `--lora-scaled`, `--lora-init-without-apply` and `--lora-base`: the LoRA adapters
/// `cria serve` loads at startup and applies at run time (ids in command-line order).
struct LoraOptions: ParsableArguments {
    @Option(name: .customLong("lora"), help: "LoRA adapter file to apply with scale 1 (repeatable; comma-separated list allowed).")
    var lora: [String] = []
    @Option(name: .customLong("lora-scaled"), parsing: .upToNextOption,
            help: "LoRA adapter with a scale: FILE:SCALE (comma-separated list allowed) or FILE SCALE (repeatable).")
    var loraScaled: [String] = []
    @Flag(name: .customLong("lora-init-without-apply"),
          help: "Load the adapters with scale 0 (set scales later with POST /lora-adapters or a request's \"lora\").")
    var initWithoutApply = false
    @Option(name: .customLong("lora-base"),
            help: "Model the adapters were trained on (e.g. the F16 original of a quantized -m): its matrices replace the ones the adapters change.")
    var loraBase: String?

    /// One adapter to load: its file and its scale before `--lora-init-without-apply`.
    struct Adapter: Equatable, Sendable {
        var path: String
        var scale: Float
    }

    func validate() throws {
        if let loraBase {
            guard !(try adapters()).isEmpty else { throw ValidationError("--lora-base \(loraBase): give the adapters with --lora") }
            guard FileManager.default.isReadableFile(atPath: loraBase) else {
                throw ValidationError("--lora-base \(loraBase): no such readable file")
            }
        }
        // A missing file stops the server before the model loads (the loader checks the contents).
        for adapter in try adapters() where !FileManager.default.isReadableFile(atPath: adapter.path) {
            throw ValidationError("LoRA adapter \(adapter.path): no such readable file")
        }
    }

    /// The adapters in command-line order: every `--lora` file, then every `--lora-scaled` one.
    func adapters() throws -> [Adapter] {
        var list = lora.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }.map { part in
            Adapter(path: String(part), scale: 1)
        }
        var words = loraScaled[...]
        while let word = words.popFirst() {
            for item in word.split(separator: ",", omittingEmptySubsequences: false) {
                if let colon = item.lastIndex(of: ":") {
                    list.append(Adapter(path: String(item[..<colon]), scale: try Self.scale(String(item[item.index(after: colon)...]))))
                } else if let next = words.popFirst() {
                    list.append(Adapter(path: String(item), scale: try Self.scale(next)))
                } else {
                    throw ValidationError("--lora-scaled \(item): give a scale, as FILE:SCALE or FILE SCALE")
                }
            }
        }
        if let empty = list.first(where: { $0.path.isEmpty }) {
            throw ValidationError("--lora/--lora-scaled: an empty file name (scale \(empty.scale))")
        }
        return list
    }

    private static func scale(_ text: String) throws -> Float {
        guard let value = Float(text), value.isFinite else {
            throw ValidationError("--lora-scaled: scale '\(text)' is not a finite number")
        }
        return value
    }
}
