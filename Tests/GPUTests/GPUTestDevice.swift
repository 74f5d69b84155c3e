import CriaNumerics
import GGUF
import GPU
import TestSupport

/// The Vulkan device the GPU tests share (the preferred compute device: lavapipe on CI), or nil
/// where none can be opened; then the device suites are skipped and the reason is printed once.
enum GPUTestDevice {
    static let kernels: VulkanKernels? = {
        do {
            return try VulkanKernels(device: VulkanDevice())
        } catch {
            print("GPU tests skipped: no Vulkan device (\(error)); scripts/install-vulkan installs lavapipe")
            return nil
        }
    }()

    static var available: Bool { kernels != nil }

    /// The same device with each matrix-product layout (the device's own choice is one of them).
    static let bothLayouts: [VulkanKernels] = {
        guard let kernels else { return [] }
        let layouts: [VulkanKernels.MatvecLayout] = [.workgroupPerRow, .invocationPerRow]
        return layouts.compactMap { try? VulkanKernels(device: kernels.device, matvecLayout: $0) }
    }()

    /// The one-invocation-per-row layout with the device's own fma instead of the exact `_f64`
    /// builds (what a Vulkan device on the CPU without shaderFloat64 would run).
    static let rowwiseWithoutFloat64: VulkanKernels? = {
        guard let kernels else { return nil }
        return try? VulkanKernels(device: kernels.device, matvecLayout: .invocationPerRow, float64: false)
    }()
}

/// Uniform floats in -1..<1 from a seed, so a failure reproduces.
func randomFloats(_ count: Int, seed: UInt64) -> [Float] {
    var generator = SplitMix(seed: seed)
    return (0..<count).map { _ in Float(generator.unit() * 2 - 1) }
}

/// y = W·x for `batch` rows of x through Matmul.multiply, the CPU engine's product (one thread).
func cpuProduct(type: GGMLType, weights: UnsafeRawPointer, rows: Int, columns: Int, x: [Float], batch: Int = 1) -> [Float] {
    var y = [Float](repeating: 0, count: batch * rows)
    Matmul.multiply(WeightMatrix(type: type, rows: rows, columns: columns, data: weights), x, batch: batch,
                    into: &y, pool: ComputePool(threads: 1))
    return y
}
