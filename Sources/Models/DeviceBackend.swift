import GGUF
import GPU
import CriaNumerics

/// One Vulkan device running some of a model's layers (`OffloadPlan`), and perhaps its output
/// norm and LM head: the weights of those layers copied into device buffers in their GGUF block
/// formats, the activation buffers of a forward pass, and the device memory of those layers' KV
/// cache. The forward steps that use it are in TransformerModel+Offload.swift.
final class DeviceBackend: @unchecked Sendable {
    let kernels: VulkanKernels
    var device: VulkanDevice { kernels.device }
    /// Index in `VulkanDevice.list()`.
    let index: Int
    private(set) var layers: [Int: DeviceLayerWeights] = [:]
    private(set) var output: (norm: VulkanBuffer, matrix: DeviceMatrix)?
    private(set) var scratch: DeviceScratch?
    /// The CPU's GELU results by f16 input (VectorMath.geluF16Bits), for the device's GEGLU.
    let geluTable: VulkanBuffer

    init(index: Int) throws(ModelError) {
        self.index = index
        let bits = VectorMath.geluF16Bits
        do {
            kernels = try VulkanKernels(device: VulkanDevice(index: index))
            geluTable = try kernels.device.makeBuffer(bytes: bits.count * 2)
        } catch {
            throw .offload("Vulkan device \(index): \(error.message)")
        }
        bits.withUnsafeBytes { geluTable.contents.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    /// Copies layer `layer`'s weights to the device; `release` is told which mapped bytes the
    /// host no longer needs.
    func upload(layer: Int, _ w: LayerWeights, config c: ModelConfiguration,
                release: (UnsafeRawPointer, Int) -> Void) throws(ModelError) {
        let p = "blk.\(layer)."
        guard let gate = w.gate, let up = w.up, let down = w.down, let attentionNorm = w.attentionNorm,
              let ffnNorm = w.ffnNorm else {
            throw .offload("layer \(layer) has no \(w.experts != nil ? "dense " : "")gated feed-forward block with input norms "
                + "(the Vulkan backend runs dense decoders: llama, qwen2/3, gemma2/3, phi3, granite and smollm3 shapes)")
        }
        let matrices: [(WeightMatrix, String)] = [(w.query, "attn_q"), (w.key, "attn_k"), (w.value, "attn_v"),
                                                  (w.output, "attn_output"), (gate, "ffn_gate"), (up, "ffn_up"), (down, "ffn_down")]
        var uploaded: [DeviceMatrix] = []
        for (m, name) in matrices {
            uploaded.append(try DeviceMatrix(m, name: p + name + ".weight", device: device, splits: false))
            release(m.data, m.rows * m.rowBytes)
        }
        layers[layer] = DeviceLayerWeights(
            attentionNorm: try vector(attentionNorm), query: uploaded[0], key: uploaded[1], value: uploaded[2],
            output: uploaded[3], gate: uploaded[4], up: uploaded[5], down: uploaded[6],
            queryBias: try w.queryBias.map(vector), keyBias: try w.keyBias.map(vector), valueBias: try w.valueBias.map(vector),
            outputBias: try w.outputBias.map(vector), queryNorm: try w.queryNorm.map(vector), keyNorm: try w.keyNorm.map(vector),
            postAttentionNorm: try w.postAttentionNorm.map(vector), ffnNorm: try vector(ffnNorm),
            gateBias: try w.gateBias.map(vector), upBias: try w.upBias.map(vector), downBias: try w.downBias.map(vector),
            postFFNNorm: try w.postFFNNorm.map(vector))
    }

    /// Copies the output norm and LM head; the head is split into several buffers when it is
    /// larger than one storage buffer may be.
    func uploadOutput(norm: [Float], matrix: WeightMatrix) throws(ModelError) {
        output = (try vector(norm), try DeviceMatrix(matrix, name: "output.weight", device: device, splits: true))
    }

    /// A device buffer holding `values`.
    func vector(_ values: [Float]) throws(ModelError) -> VulkanBuffer {
        let buffer = try makeBuffer(bytes: values.count * 4, "a weight vector")
        do { try buffer.write(values) } catch { throw .offload(error.message) }
        return buffer
    }

    func makeBuffer(bytes: Int, _ what: String) throws(ModelError) -> VulkanBuffer {
        do { return try device.makeBuffer(bytes: max(4, bytes)) } catch {
            throw .offload("\(what) (\(bytes) bytes) on \(device.info.name): \(error.message)")
        }
    }

    /// The activation buffers for batches of up to `rows` rows, grown when a batch is larger.
    func scratch(rows: Int, config c: ModelConfiguration) throws(ModelError) -> DeviceScratch {
        if let scratch, scratch.rows >= rows { return scratch }
        let made = try DeviceScratch(rows: rows, config: c, backend: self)
        scratch = made
        return made
    }
}

/// A weight matrix in a device buffer (or, for a large LM head, in several, by rows), in its
/// GGUF block layout.
struct DeviceMatrix {
    let type: GGMLType
    let rows: Int, columns: Int
    let parts: [(buffer: VulkanBuffer, firstRow: Int, rows: Int)]

    init(_ w: WeightMatrix, name: String, device: VulkanDevice, splits: Bool) throws(ModelError) {
        guard VulkanKernels.matvecShader(for: w.type) != nil else {
            throw .offload("tensor '\(name)' is \(w.type.name.lowercased()), which the Vulkan backend has no shader for "
                + "(it multiplies f32, f16, q4_0, q5_0, q8_0, q4_K, q5_K and q6_K)")
        }
        type = w.type
        rows = w.rows
        columns = w.columns
        let limit = device.info.maxStorageBufferBytes
        let rowsPerPart = splits ? max(1, (limit - 3) / max(1, w.rowBytes)) : w.rows
        var parts: [(buffer: VulkanBuffer, firstRow: Int, rows: Int)] = []
        var first = 0
        while first < w.rows {
            let count = min(rowsPerPart, w.rows - first)
            guard let bytes = VulkanKernels.weightBufferBytes(w.type, rows: count, columns: w.columns), bytes <= limit else {
                throw .offload("tensor '\(name)' (\(w.rows) × \(w.columns) \(w.type.name.lowercased())) is larger than "
                    + "\(device.info.name)'s largest storage buffer (\(limit) bytes)")
            }
            let buffer: VulkanBuffer
            do { buffer = try device.makeBuffer(bytes: bytes) } catch {
                throw .offload("tensor '\(name)' (\(bytes) bytes) on \(device.info.name): \(error.message)")
            }
            buffer.contents.copyMemory(from: w.data + first * w.rowBytes, byteCount: count * w.rowBytes)
            parts.append((buffer, first, count))
            first += count
        }
        self.parts = parts
    }

    /// The whole matrix when it is one buffer.
    var buffer: VulkanBuffer { parts[0].buffer }
}

/// One offloaded layer's weights on its device (the dense decoder block of `LayerWeights`).
struct DeviceLayerWeights {
    let attentionNorm: VulkanBuffer
    let query, key, value, output, gate, up, down: DeviceMatrix
    let queryBias, keyBias, valueBias, outputBias: VulkanBuffer?
    let queryNorm, keyNorm, postAttentionNorm: VulkanBuffer?
    let ffnNorm: VulkanBuffer
    let gateBias, upBias, downBias: VulkanBuffer?
    let postFFNNorm: VulkanBuffer?
}

/// The activation buffers of a forward pass on one device, for up to `rows` rows: the same
/// roles as `ForwardScratch`, plus RoPE angles, the rows' positions, per-sequence cell positions
/// and attention scores.
final class DeviceScratch {
    let rows: Int
    let x, h, q, k, v, attn, o, gate, up, angles, queryPositions: VulkanBuffer
    /// A quantized product's input as 8-bit activation blocks (`VulkanKernels.roundActivations`;
    /// sized as floats for the widest input, more than the blocks take).
    let rounded: VulkanBuffer
    /// Cell positions of the batch's sequences, one buffer per distinct sequence in a batch.
    var cellPositions: [VulkanBuffer] = []
    var scores: VulkanBuffer?
    var logits: VulkanBuffer?

    init(rows n: Int, config c: ModelConfiguration, backend b: DeviceBackend) throws(ModelError) {
        rows = n
        func make(_ width: Int, _ what: String) throws(ModelError) -> VulkanBuffer {
            let (bytes, overflow) = n.multipliedReportingOverflow(by: width * 4)
            guard !overflow else { throw .offload("\(what) for \(n) rows is too large") }
            return try b.makeBuffer(bytes: bytes, what)
        }
        x = try make(c.embeddingLength, "the residual stream")
        h = try make(c.embeddingLength, "the normed input")
        q = try make(c.queryDimension, "the queries")
        k = try make(c.kvDimension, "the keys")
        v = try make(c.kvDimension, "the values")
        attn = try make(c.queryDimension, "the attention output")
        o = try make(c.embeddingLength, "the block output")
        gate = try make(c.feedForwardLength, "the feed-forward gate")
        up = try make(c.feedForwardLength, "the feed-forward up projection")
        angles = try make(max(2, c.ropeDimensions), "the RoPE angles")
        queryPositions = try make(1, "the row positions")
        rounded = try make(max(c.embeddingLength, c.queryDimension, c.feedForwardLength), "the rounded activations")
    }
}

/// The KV memory of offloaded layers: each allocation is a buffer on the layer's device, so
/// attention there reads the cache where it is, and the host edits it (removal, shifts, slot
/// files) through the buffer's mapping.
final class DeviceKVMemory: KVLayerMemory, @unchecked Sendable {
    private let backends: [Int: DeviceBackend]

    init(layerBackends: [Int: DeviceBackend]) { backends = layerBackends }

    func holds(layer: Int) -> Bool { backends[layer] != nil }

    func allocate(layer: Int, bytes: Int) -> Result<(owner: AnyObject, address: UnsafeMutableRawPointer), ModelError> {
        guard let backend = backends[layer] else { return .failure(.offload("layer \(layer) is not offloaded")) }
        // (whole 32-bit words: the shaders read and write f16 pairs)
        let rounded = bytes <= Int.max - 3 ? (bytes + 3) / 4 * 4 : bytes
        guard rounded <= backend.device.info.maxStorageBufferBytes else {
            return .failure(.offload("one layer's KV cache of a sequence (\(bytes) bytes) is larger than "
                + "\(backend.device.info.name)'s largest storage buffer; use a smaller -c or more -np slots"))
        }
        do {
            let buffer = try backend.makeBuffer(bytes: rounded, "the KV cache of layer \(layer)")
            buffer.contents.initializeMemory(as: UInt8.self, repeating: 0, count: rounded)
            return .success((buffer, buffer.contents))
        } catch {
            return .failure(error)
        }
    }
}
