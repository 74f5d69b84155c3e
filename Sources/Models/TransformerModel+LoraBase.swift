import GGUF
import CriaNumerics

/// `--lora-base`: the model the adapters were trained on, in a precision the `-m` model may have
/// lost (llama-server's option for serving a quantized model with adapters). Cria never merges
/// adapters, so the base's matrices simply replace the `-m` model's for the matrices an adapter
/// changes: those layers then compute W_base·x + s·B·A·x.
extension TransformerModel {
    /// Takes from `base` every attention or feed-forward matrix some loaded adapter changes
    /// (`base` must have the model's architecture and those tensors in the model's shapes) and
    /// keeps `base` open for them. Returns how many matrices were replaced.
    @discardableResult
    public func useLoraBase(_ base: GGUFFile, path: String) throws(LoraError) -> Int {
        let arch = base.metadata.string("general.architecture") ?? "none"
        guard arch == config.architecture else {
            throw .unreadable(path: path, reason: "as --lora-base it must be a '\(config.architecture)' model like -m, "
                + "but its general.architecture is '\(arch)'")
        }
        var replaced = 0
        for layer in 0..<config.layerCount {
            for target in LoraTarget.allCases where adapters.contains(where: { $0.pairs[layer][target.rawValue] != nil }) {
                let name = "blk.\(layer).\(target.tensorSuffix)"
                guard let info = base.tensor(named: name) else {
                    throw .badTensor(path: path, tensor: name, reason: "is missing from the --lora-base model")
                }
                guard let own = file.tensor(named: name), own.shape == info.shape else {
                    throw .badTensor(path: path, tensor: name, reason: "has shape \(info.shape) in the --lora-base model, "
                        + "not the model's \(file.tensor(named: name)?.shape ?? [])")
                }
                let matrix: WeightMatrix
                do { matrix = try WeightMatrix(info, in: base) } catch {
                    throw .badTensor(path: path, tensor: name, reason: "has a type Cria cannot compute with (\(info.type.name))")
                }
                switch target {
                case .query: weights.layers[layer].query = matrix
                case .key: weights.layers[layer].key = matrix
                case .value: weights.layers[layer].value = matrix
                case .output: weights.layers[layer].output = matrix
                case .gate: weights.layers[layer].gate = matrix
                case .up: weights.layers[layer].up = matrix
                case .down: weights.layers[layer].down = matrix
                }
                replaced += 1
            }
        }
        loraBaseFile = base
        return replaced
    }
}
