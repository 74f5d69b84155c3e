import Foundation
import Testing
import GGUF
import GPU
import CriaNumerics
@testable import Models

/// Where layers go for `-ngl`, `-mg` and `-ts` (no device needed).
@Suite struct OffloadPlanTests {
    @Test func lastLayersGoToTheMainDevice() throws {
        let half = try OffloadPlan(layers: 18, gpuLayers: 9, deviceCount: 1, mainDevice: 0)
        #expect(half.layerDevices == Array(repeating: nil, count: 9) + Array(repeating: 0, count: 9))
        #expect(half.outputDevice == nil && half.offloadedLayers == 9 && half.devices == [0])
        let almost = try OffloadPlan(layers: 18, gpuLayers: 17, deviceCount: 1, mainDevice: 0)
        #expect(almost.outputDevice == nil && almost.layerDevices.first! == nil)
        for n in [18, 99] {
            let all = try OffloadPlan(layers: 18, gpuLayers: n, deviceCount: 2, mainDevice: 1)
            #expect(all.layerDevices == Array(repeating: 1, count: 18) && all.outputDevice == 1)
        }
        let none = try OffloadPlan(layers: 18, gpuLayers: 0, deviceCount: 1, mainDevice: 0)
        #expect(none.devices.isEmpty && none.outputDevice == nil)
    }

    @Test func aSplitGivesContiguousRunsInProportion() throws {
        let plan = try OffloadPlan(layers: 10, gpuLayers: 8, deviceCount: 3, mainDevice: 0, split: [3, 0, 1])
        #expect(plan.layerDevices == [nil, nil, 0, 0, 0, 0, 0, 0, 2, 2])
        #expect(plan.outputDevice == nil && plan.devices == [0, 2])
        let all = try OffloadPlan(layers: 4, gpuLayers: 99, deviceCount: 2, mainDevice: 0, split: [1, 1])
        #expect(all.layerDevices == [0, 0, 1, 1] && all.outputDevice == 1)
        #expect(OffloadPlan.distribute(5, shares: [1, 1, 1]) == [0, 0, 1, 2, 2])
        let ignored = try OffloadPlan(layers: 4, gpuLayers: 99, deviceCount: 1, mainDevice: 0, split: [3, 2])
        #expect(ignored.layerDevices == [0, 0, 0, 0] && ignored.outputDevice == 0)  // bounds round(5/3) = 2, round(10/3) = 3
    }

    @Test func impossiblePlansSayWhy() {
        func message(_ body: () throws(ModelError) -> OffloadPlan) -> String {
            do { _ = try body(); return "" } catch { return error.description }
        }
        #expect(message { () throws(ModelError) in try OffloadPlan(layers: 4, gpuLayers: 2, deviceCount: 1, mainDevice: 1) }
            .contains("-mg 1"))
        // (shares for devices the machine lacks are ignored, as llama.cpp does; the rest must not all be zero)
        #expect(message { () throws(ModelError) in try OffloadPlan(layers: 4, gpuLayers: 2, deviceCount: 1, mainDevice: 0, split: [0, 1]) }
            .contains("not all zero for the 1 device"))
        #expect(message { () throws(ModelError) in try OffloadPlan(layers: 4, gpuLayers: 2, deviceCount: 2, mainDevice: 0, split: [0, 0]) }
            .contains("not all zero"))
        #expect(message { () throws(ModelError) in try OffloadPlan(layers: 4, gpuLayers: -1, deviceCount: 1, mainDevice: 0) }
            .contains("negative"))
        #expect(message { () throws(ModelError) in try OffloadPlan(layers: 4, gpuLayers: 2, deviceCount: 0, mainDevice: 0) }
            .contains("no Vulkan device"))
    }
}

/// Whether a Vulkan device can be opened here (lavapipe on CI); the device suites are skipped,
/// with this one printed line, where none can.
enum OffloadDevice {
    static let available: Bool = {
        do {
            guard try !VulkanDevice.list().isEmpty else {
                print("offload tests skipped: the Vulkan loader lists no device; scripts/install-vulkan installs lavapipe")
                return false
            }
            return true
        } catch {
            print("offload tests skipped: \(error); scripts/install-vulkan installs lavapipe")
            return false
        }
    }()

    /// Whether the device offloaded layers go to runs the CPU engine's numerics bit for bit: a
    /// Vulkan device on the CPU (one invocation per matrix row) with 64-bit floats (the `_f64`
    /// builds), as lavapipe is.
    static let runsCPUNumerics: Bool = {
        guard available, let info = try? VulkanDevice().info else { return false }
        return info.kind == .cpu && info.supportsFloat64
    }()
}

/// The forward pass with layers on the Vulkan device (`-ngl`) against the same independent
/// float64 reference the CPU engine is tested with (SyntheticModelTests), with its tolerances
/// (Synthetic.tolerance), and against the CPU engine itself, for the whole model on the device
/// and for one of its two layers. The device rounds where the CPU rounds (8-bit activation
/// blocks, f16 queries and attention accumulator); its quantized products follow the CPU's
/// order, so on a device with the CPU's numerics (lavapipe) the Q8_0 model's logits are the CPU
/// engine's bits (checked), while F32/F16 products still add in another order than the CPU's
/// (`VectorMath.dot`'s lanes): measured on lavapipe, max |Δlogit| vs the CPU 1.1e-3 to 1.3e-3
/// there (F32 LM head, whose 10⁻¹-scale logits sum differently ordered); bound 5e-3.
@Suite(.enabled(if: OffloadDevice.available, "no Vulkan device (see the printed line)"))
struct OffloadSyntheticTests {
    static func model(_ name: String, gpuLayers: Int) throws -> TransformerModel {
        try TransformerModel(path: Synthetic.path(name), threads: 2, offload: OffloadRequest(gpuLayers: gpuLayers))
    }

    static let cpuTolerance: Float = 5e-3

    @Test(arguments: Synthetic.models, [1, 99])
    func forwardMatchesReference(_ name: String, gpuLayers: Int) throws {
        let e = try Synthetic.Expected(name)
        let tol = Synthetic.tolerance(name)
        let model = try Self.model(name, gpuLayers: gpuLayers)
        #expect(model.offloadedLayers == min(gpuLayers, 2) && model.offloadsOutput == (gpuLayers >= 2))
        let whole = try Synthetic.run(model, model.makeCache(capacity: 64), e.tokensA, start: 0)
        let diff = Synthetic.maxAbsDiff(whole, e.logitsA)
        print("\(name) -ngl \(gpuLayers): whole-sequence max |Δlogit| vs numpy = \(diff)")
        #expect(diff <= tol, "\(name) -ngl \(gpuLayers): max |Δ| \(diff) > \(tol)")
        // Against the CPU engine on the same model.
        let cpuModel = try TransformerModel(path: Synthetic.path(name), threads: 2)
        let cpu = try Synthetic.run(cpuModel, cpuModel.makeCache(capacity: 64), e.tokensA, start: 0)
        let cpuDiff = Synthetic.maxAbsDiff(whole, cpu)
        print("\(name) -ngl \(gpuLayers): whole-sequence max |Δlogit| vs the CPU engine = \(cpuDiff)")
        #expect(cpuDiff <= Self.cpuTolerance, "\(name) -ngl \(gpuLayers): max |Δ| vs the CPU engine \(cpuDiff)")
        if OffloadDevice.runsCPUNumerics && name.hasSuffix("q8_0") {
            #expect(zip(whole, cpu).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(name) -ngl \(gpuLayers): not the CPU's bits")
        }

        // Token by token over the device cache, and two sequences interleaved in one batch:
        // each row's result is the same bits as alone.
        let cache = model.makeCache(capacity: 64)
        var stepwise: [Float] = []
        for (i, t) in e.tokensA.enumerated() { stepwise += try model.forward(Batch(tokens: [t], startPosition: i), cache: cache) }
        let stepDiff = Synthetic.maxAbsDiff(stepwise, e.logitsA)
        #expect(stepDiff <= tol, "\(name) -ngl \(gpuLayers): token by token, max |Δ| \(stepDiff) > \(tol)")
        let wholeB = try Synthetic.run(model, model.makeCache(capacity: 64), e.tokensB, start: 0)
        let (mixedA, mixedB) = try Synthetic.interleaved(model, e.tokensA, e.tokensB)
        #expect(mixedA == whole && mixedB == wholeB, "\(name) -ngl \(gpuLayers): a shared batch changed a row's logits")
        #expect(Synthetic.maxAbsDiff(wholeB, e.logitsB) <= tol)
    }

    /// `tensorObserver` sees the offloaded layers' tensors too (read through the buffers' host
    /// mapping), under the CPU's names, within 1e-4 of the CPU engine's (relative to each
    /// tensor's largest magnitude; measured: a few ulp).
    @Test func observerSeesDeviceLayers() throws {
        final class Seen: @unchecked Sendable { var tensors: [String: [Float]] = [:] }
        let name = "llama-q8_0", e = try Synthetic.Expected(name)
        let cpu = try TransformerModel(path: Synthetic.path(name), threads: 2)
        let device = try Self.model(name, gpuLayers: 99)
        let a = Seen(), b = Seen()
        cpu.tensorObserver = { n, _, x in a.tensors[n] = Array(x) }
        device.tensorObserver = { n, _, x in b.tensors[n] = Array(x) }
        _ = try Synthetic.run(cpu, cpu.makeCache(capacity: 64), e.tokensA, start: 0)
        _ = try Synthetic.run(device, device.makeCache(capacity: 64), e.tokensA, start: 0)
        for layer in 0..<2 {
            for tensor in ["Qcur", "Kcur", "Vcur", "kqv_out", "ffn_geglu", "ffn_out", "l_out"] {
                let key = "\(tensor)-\(layer)"
                let x = try #require(a.tensors[key]), y = try #require(b.tensors[key], "\(key) not observed on the device")
                let scale = x.map(abs).max() ?? 0
                #expect(x.count == y.count && zip(x, y).allSatisfy { abs($0 - $1) <= 1e-4 * scale }, "\(key)")
            }
        }
    }

    /// Cache edits reach the device's copy of the offloaded layers: a removed middle range and
    /// a context shift (keys re-rotated through the mapping) match the reference.
    @Test(arguments: Synthetic.models)
    func cacheEditsReachTheDevice(_ name: String) throws {
        let e = try Synthetic.Expected(name)
        let tol = Synthetic.tolerance(name)
        let model = try Self.model(name, gpuLayers: 1)
        let gap = model.makeCache(capacity: 64)
        _ = try Synthetic.run(model, gap, e.tokensA, start: 0)
        gap.remove(0, positions: 3..<6)
        let afterGap = try Synthetic.run(model, gap, e.cont, start: 12)
        let gapDiff = Synthetic.maxAbsDiff(afterGap, e.removeLogits)
        #expect(gapDiff <= tol, "\(name): after removing 3..<6, max |Δ| \(gapDiff) > \(tol)")

        let shifted = model.makeCache(capacity: 64)
        _ = try Synthetic.run(model, shifted, e.tokensA, start: 0)
        shifted.remove(0, positions: 3..<6)
        model.shift(shifted, sequence: 0, positions: 6..<12, by: -3)
        let afterShift = try Synthetic.run(model, shifted, e.cont, start: 9)
        let shiftDiff = Synthetic.maxAbsDiff(afterShift, e.shiftLogits)
        print("\(name) -ngl 1: after removal \(gapDiff), after context shift \(shiftDiff) max |Δlogit| vs numpy")
        #expect(shiftDiff <= tol, "\(name): after the context shift, max |Δ| \(shiftDiff) > \(tol)")
    }

    /// A saved slot restored into another sequence continues exactly as the original, and a
    /// copied prefix as a recompute: the device rows travel through the host mapping.
    @Test func slotFilesAndPrefixCopiesCarryDeviceRows() throws {
        let e = try Synthetic.Expected("llama-f32")
        let model = try Self.model("llama-f32", gpuLayers: 99)
        let cache = model.makeCache(capacity: 64)
        _ = try Synthetic.run(model, cache, e.tokensA, start: 0)
        let saved = cache.encodedSequence(0)
        try cache.loadSequence(3, from: saved)
        let original = try Synthetic.run(model, cache, e.cont, start: 12, sequence: 0)
        let restored = try Synthetic.run(model, cache, e.cont, start: 12, sequence: 3)
        #expect(original == restored)
        try cache.copyPrefix(from: 0, to: 5, end: 7)
        let continued = try Synthetic.run(model, cache, e.cont, start: 7, sequence: 5)
        let fresh = try Synthetic.run(model, model.makeCache(capacity: 64), Array(e.tokensA[0..<7]) + e.cont, start: 0)
        #expect(continued == Synthetic.rows(fresh, 7..<11, vocab: model.config.vocabularySize))
    }

    @Test func whatTheDeviceCannotRunIsRefused() throws {
        let model = try Self.model("llama-f32", gpuLayers: 1)
        #expect(throws: ModelError.self) { try model.makeCache(capacity: 64, keyType: .q8_0, valueType: .f16) }
        let moe = ArchitectureFixture.folder + "/qwen3moe.gguf"
        do {
            _ = try TransformerModel(path: moe, threads: 1, offload: OffloadRequest(gpuLayers: 99))
            Issue.record("an expert model was offloaded")
        } catch let error as ModelError {
            #expect(error.description.contains("experts"), "\(error)")
        }
        let cpuCache = try TransformerModel(path: Synthetic.path("llama-f32"), threads: 1).makeCache(capacity: 8)
        #expect(throws: ModelError.self) { try model.forward(Batch(tokens: [1], startPosition: 0), cache: cpuCache) }
    }
}

/// Every dense architecture fixture with all layers and the LM head on the device, against
/// llama.cpp's recorded logits (ArchitectureFixture): the prompt logits' RMS difference relative
/// to their RMS, and how often the device's greedy token is llama.cpp's with llama.cpp's token
/// fed back (120 steps over three prompts) — and against the CPU engine on the same steps. On a
/// device that runs the CPU's numerics (lavapipe: the CPU's activation blocks, integer dots and
/// float steps in its order, its fused multiply-adds, expf and f64 norm sums) every logit must
/// be the CPU engine's bits, except gemma2's, whose soft caps take the device's tanh (measured:
/// 0 of 31857 logits differ on the other seven, 8547 on gemma2; relative difference vs llama.cpp
/// 0 on six, 0.005 on mistral — as the CPU engine's —, greedy 120 of 120 everywhere). Bounds for
/// any device: 0.03 and 95% (a real mistake is far outside: leaving out the RoPE frequency
/// factors gave llama3 0.73 and 68 of 120, phi3 0.24 and 40 of 120).
@Suite(.enabled(if: OffloadDevice.available, "no Vulkan device (see the printed line)"))
struct OffloadArchitectureTests {
    @Test(arguments: ["llama3", "mistral", "qwen3", "gemma2", "phi3", "granite", "smollm3", "qwen3-yarn"])
    func denseArchitecturesAgreeWithLlamaCpp(_ name: String) throws {
        let r = try ArchitectureFixture.Recording(name)
        let model = try TransformerModel(path: ArchitectureFixture.folder + "/\(name).gguf", threads: 2,
                                         offload: OffloadRequest(gpuLayers: 99))
        #expect(model.offloadedLayers == model.config.layerCount && model.offloadsOutput)
        var worst: Float = 0, squaredError = 0.0, squaredLogits = 0.0
        var steps = 0, sameArgmax = 0
        func compare(_ logits: [Float], _ expected: [Float]) {
            for (a, b) in zip(logits, expected) {
                worst = max(worst, abs(a - b))
                squaredError += Double(a - b) * Double(a - b)
                squaredLogits += Double(b) * Double(b)
            }
        }
        // The CPU engine on the same steps: the device's logits should be its bits.
        let cpuModel = try TransformerModel(path: ArchitectureFixture.folder + "/\(name).gguf", threads: 2)
        var differingFromCPU = 0, comparedWithCPU = 0
        for p in r.prompts where p.shift == nil && p.prompt.count <= 63 {
            let cache = model.makeCache(capacity: r.contextSize), cpuCache = cpuModel.makeCache(capacity: r.contextSize)
            var logits = try model.forward(Batch(tokens: p.prompt, startPosition: 0), cache: cache)
            var cpuLogits = try cpuModel.forward(Batch(tokens: p.prompt, startPosition: 0), cache: cpuCache)
            compare(logits, p.promptLogits)
            for (step, expected) in p.generated.enumerated() {
                differingFromCPU += zip(logits, cpuLogits).filter { $0.bitPattern != $1.bitPattern }.count
                comparedWithCPU += logits.count
                let token = Int32(logits.indices.max { logits[$0] < logits[$1] || (logits[$0] == logits[$1] && $0 > $1) }!)
                steps += 1
                if token == expected { sameArgmax += 1 }
                // (llama.cpp's token is fed back, so every step compares the same context)
                let next = Batch(tokens: [expected], startPosition: p.prompt.count + step)
                logits = try model.forward(next, cache: cache)
                cpuLogits = try cpuModel.forward(next, cache: cpuCache)
            }
            differingFromCPU += zip(logits, cpuLogits).filter { $0.bitPattern != $1.bitPattern }.count
            comparedWithCPU += logits.count
        }
        let relative = (squaredError / squaredLogits).squareRoot()
        let agreement = Double(sameArgmax) / Double(steps)
        print("\(name) -ngl 99: prompt logits max |Δ| vs llama.cpp = \(worst), relative RMS difference \(relative), "
              + "greedy token equal at \(sameArgmax) of \(steps) steps; \(differingFromCPU) of \(comparedWithCPU) logits differ from the CPU engine's bits")
        // (gemma2's soft caps take the device's tanh, not glibc's tanhf)
        if OffloadDevice.runsCPUNumerics && name != "gemma2" {
            #expect(comparedWithCPU > steps * model.config.vocabularySize && steps > 0)
            #expect(differingFromCPU == 0, "\(name): \(differingFromCPU) logits differ from the CPU engine's")
        }
        #expect(relative <= OffloadArchitectureTests.relativeTolerance, "\(name): \(relative)")
        #expect(agreement >= OffloadArchitectureTests.greedyAgreement, "\(name): \(sameArgmax) of \(steps)")
    }

    static let relativeTolerance = 0.03
    static let greedyAgreement = 0.95
}
