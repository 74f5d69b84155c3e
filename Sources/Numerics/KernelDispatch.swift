import CNumerics
import Foundation

/// Which implementation of the hot kernels runs: the portable Swift reference or a C variant
/// for an instruction set (chosen at run time, so one binary runs on any x86-64 or ARM CPU).
///
/// Every result that must be bit-identical to another (a sequence alone vs in a batch) has to
/// come from the same path; a model picks its path once at init.
public enum KernelPath: Int32, Sendable, CaseIterable, CustomStringConvertible {
    /// `QuantizedDot` and friends in Swift: correct everywhere, slow.
    case portable = 0
    /// C with AVX2, FMA and F16C (maddubs integer dots).
    case avx2 = 1
    /// C with AVX-512 F/BW/VL and VNNI (dpbusd integer dots on 256-bit vectors).
    case avx512 = 2

    public var description: String {
        switch self {
        case .portable: return "portable"
        case .avx2: return "avx2"
        case .avx512: return "avx512"
        }
    }
}

/// Runtime CPU dispatch for the kernels.
public enum KernelDispatch {
    /// The fastest path this CPU supports.
    public static let best = KernelPath(rawValue: cn_best_path()) ?? .portable

    /// Every path this CPU can run (the portable one always).
    public static let available: [KernelPath] = KernelPath.allCases.filter { $0.rawValue <= best.rawValue }

    /// The default path: `best`, unless the environment variable `CRIA_KERNELS` names another
    /// (`portable`, `avx2`, `avx512`) that this CPU supports.
    public static let current: KernelPath = {
        guard let name = ProcessInfo.processInfo.environment["CRIA_KERNELS"],
              let path = available.first(where: { $0.description == name }) else { return best }
        return path
    }()

    /// Whether models attach packed weight copies for the packed kernels (`PackedWeights`): yes,
    /// unless the environment variable `CRIA_PACK` is `off` (to time the stored-layout kernels;
    /// results are the same either way).
    public static let packsWeights: Bool = ProcessInfo.processInfo.environment["CRIA_PACK"] != "off"

    /// How many bytes ahead of their loads the packed kernels prefetch on this CPU (0: they leave
    /// it to the hardware prefetcher): from prefetch.c's table of measured CPU families, from the
    /// environment variable `CRIA_PREFETCH`, or measured when a model loads on any other CPU
    /// (`PrefetchCalibration`); it changes speed only, never a result.
    public static var prefetchDistance: Int { Int(cn_prefetch_distance()) }

    /// Whether `path` has a C matrix kernel for weights of `type`.
    static func hasMatmul(_ path: KernelPath, _ type: GGMLTypeID) -> Bool {
        path != .portable && cn_matmul_supported(path.rawValue, type) != 0
    }
}

typealias GGMLTypeID = Int32
