import ArgumentParser
import Foundation
import GPU
import Models

/// llama-server's offload flags (`-ngl`, `-mg`, `-ts`), shared by every command that loads a
/// model: the last `-ngl` layers run on Vulkan devices (docs/gpu.md).
struct GPUOptions: ParsableArguments {
    @Option(name: [.customLong("ngl", withSingleDash: true), .customLong("gpu-layers"), .customLong("n-gpu-layers")],
            help: "Layers to run on the Vulkan device: the last N (N ≥ the layer count also moves the LM head; 0: CPU only).")
    var gpuLayers: Int?

    @Option(name: [.customLong("mg", withSingleDash: true), .customLong("main-gpu")],
            help: "Vulkan device index (`cria info --devices`) for the offloaded layers (default: the first discrete GPU, else the first device).")
    var mainGPU: Int?

    @Option(name: [.customLong("ts", withSingleDash: true), .customLong("tensor-split")],
            help: "Shares of the offloaded layers per device, e.g. 3,1 (device 0 takes 75%); shares for devices this machine lacks are ignored.")
    var tensorSplit: String?

    @Option(name: [.customLong("dev", withSingleDash: true), .customLong("device")],
            help: "Device for offloading: none (CPU only), or one Vulkan device as VulkanN (N as in `cria info --devices`; the same as -mg N).")
    var device: String?

    @Option(name: [.customLong("ot", withSingleDash: true), .customLong("override-tensor")],
            help: "PATTERN=BUFFER_TYPE,…: keep matching tensors in that buffer. Without offload every tensor is in host memory already (accepted); with -ngl it stops: cria offloads whole layers.")
    var overrideTensor: [String] = []

    @Flag(name: [.customLong("cmoe", withSingleDash: true), .customLong("cpu-moe")],
          help: "Keep mixture-of-experts weights on the CPU: cria always does (its Vulkan backend runs no experts).")
    var cpuMoE = false

    @Option(name: [.customLong("ncmoe", withSingleDash: true), .customLong("n-cpu-moe")], parsing: .unconditional,
            help: "Keep the experts of the first N layers on the CPU: cria keeps all of them there.")
    var cpuMoELayers: Int?

    func validate() throws {
        if let gpuLayers, gpuLayers < 0 { throw ValidationError("-ngl \(gpuLayers): the number of GPU layers cannot be negative") }
        if let mainGPU, mainGPU < 0 { throw ValidationError("-mg \(mainGPU): device indexes start at 0") }
        if let cpuMoELayers, cpuMoELayers < 0 { throw ValidationError("--n-cpu-moe \(cpuMoELayers): the number of layers cannot be negative") }
        for item in overrideTensor.flatMap({ $0.split(separator: ",") }) {
            let parts = item.split(separator: "=", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ValidationError("--override-tensor expects PATTERN=BUFFER_TYPE (comma-separated), got '\(item)'")
            }
        }
        _ = try deviceIndex()
        _ = try split()
    }

    /// `--device`: nil when not given, .none for `none`, else the Vulkan device index it names.
    /// Only a single device is understood (`-ts` splits over several).
    func deviceIndex() throws -> DeviceChoice? {
        guard let device else { return nil }
        if device == "none" { return DeviceChoice.none }
        guard device.hasPrefix("Vulkan"), let index = Int(device.dropFirst("Vulkan".count)), index >= 0, index < 64 else {
            throw ValidationError("--device \(device): cria offloads to Vulkan devices only; name one as VulkanN "
                                  + "(N from `cria info --devices`), or none for the CPU")
        }
        return .vulkan(index)
    }

    enum DeviceChoice: Equatable { case none, vulkan(Int) }

    /// `-ts` as numbers: comma- (or slash-) separated, each finite and non-negative, not all zero.
    func split() throws -> [Double]? {
        guard let tensorSplit else { return nil }
        let parts = tensorSplit.split(whereSeparator: { $0 == "," || $0 == "/" }).map { $0.trimmingCharacters(in: .whitespaces) }
        let values = parts.map { Double($0) }
        guard !parts.isEmpty, parts.count <= 64, values.allSatisfy({ $0 != nil && $0!.isFinite && $0! >= 0 }),
              values.contains(where: { $0! > 0 }) else {
            throw ValidationError("-ts \(tensorSplit): expected non-negative numbers separated by commas, not all zero (e.g. 3,1)")
        }
        return values.map { $0! }
    }

    /// What to offload, nil for nothing (`-ngl` absent or 0). Where no Vulkan device can be used
    /// (no loader, no driver, no compute queue), `-ngl` is ignored and `warn` hears why, as
    /// llama.cpp built without GPU support (or with a GPU backend but no device) runs on the CPU:
    /// command lines carry `-ngl 99` from machine to machine.
    func request(warn: (String) -> Void) throws -> OffloadRequest? {
        guard let gpuLayers, gpuLayers > 0, try deviceIndex() != DeviceChoice.none else { return nil }
        if let missing = Self.missingDevice() {
            warn("no usable GPU (\(missing)): --n-gpu-layers (-ngl \(gpuLayers)) is ignored and the model runs on the CPU")
            return nil
        }
        if !overrideTensor.isEmpty {
            throw ValidationError("--override-tensor with -ngl is not supported: cria offloads whole layers (the last -ngl) and "
                                  + "cannot place single tensors; leave it out, or lower -ngl")
        }
        var main = mainGPU
        if case .vulkan(let index)? = try deviceIndex() {
            let count = (try? VulkanDevice.list().count) ?? 0
            guard index < count else {
                throw ValidationError("--device Vulkan\(index): this machine has \(count) Vulkan device(s) (`cria info --devices`)")
            }
            if let mainGPU, mainGPU != index {
                throw ValidationError("--device Vulkan\(index) and -mg \(mainGPU) name different devices: pass only one")
            }
            main = index
        }
        return OffloadRequest(gpuLayers: gpuLayers, mainDevice: main, split: try split())
    }

    /// Why this machine has no Vulkan compute device, nil when it has one.
    static func missingDevice() -> String? {
        let devices: [VulkanDeviceInfo]
        do { devices = try VulkanDevice.list() } catch { return error.message }
        guard VulkanDevice.preferredIndex(among: devices) == nil else { return nil }
        return devices.isEmpty ? "the Vulkan loader found no device" : "no Vulkan device has a compute queue"
    }

    /// One line saying where the layers went, and a warning when a device is a CPU implementation.
    static func describe(_ model: TransformerModel) -> (summary: String, warning: String?)? {
        guard model.offloadedLayers > 0 else { return nil }
        let devices = model.offloadDevices
        let summary = "offloaded \(model.offloadedLayers)/\(model.config.layerCount) layers"
            + (model.offloadsOutput ? " and the LM head" : "") + " to " + devices.map { "\($0.name) (device \($0.index))" }.joined(separator: ", ")
        let cpu = devices.filter { $0.kind == .cpu }.map(\.name)
        let warning = cpu.isEmpty ? nil
            : "\(cpu.joined(separator: ", ")) is a Vulkan device that runs on the CPU: offloaded layers run slower there than on cria's own CPU kernels"
        return (summary, warning)
    }
}
