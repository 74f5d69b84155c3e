import Foundation
import Testing
@testable import CriaNumerics

/// Which kernel paths run on this machine. The kernel tests are parameterized over
/// `KernelDispatch.available`, so a wrong CPU detection would silently shrink them to the portable
/// path; this checks the detection against what the operating system reports, and prints the
/// paths (on ARM and on x86-64 without AVX2 only the portable path exists: that is what runs).
@Suite struct KernelDispatchTests {
    @Test func availablePathsMatchTheCPU() throws {
        let available = KernelDispatch.available
        print("kernel paths on this CPU: \(available.map(\.description).joined(separator: ", ")) (best: \(KernelDispatch.best))")
        #expect(available.first == .portable)
        #expect(available.last == KernelDispatch.best)
        #expect(available.contains(KernelDispatch.current))
        #if arch(x86_64) && os(Linux)
        // The kernel's own list of CPU features (the same facts `__builtin_cpu_supports` reads).
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let line = try #require(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") })
        let flags = Set(line.split(separator: " ").map(String.init))
        let expected: KernelPath
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx2", "fma", "f16c"]) {
            expected = .avx512
        } else if flags.isSuperset(of: ["avx2", "fma", "f16c"]) {
            expected = .avx2
        } else {
            expected = .portable
        }
        #expect(KernelDispatch.best == expected, "CPU flags say \(expected), dispatch chose \(KernelDispatch.best)")
        #elseif !arch(x86_64)
        // The C kernels are x86-64 only; everywhere else the portable Swift path runs.
        #expect(KernelDispatch.best == .portable)
        #endif
    }
}
