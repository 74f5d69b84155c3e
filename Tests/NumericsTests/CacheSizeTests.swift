import Foundation
import Testing
@testable import CriaNumerics

/// The cache sizes `cria bench --profile` uses to mark timings that came from cache.
@Suite struct CacheSizeTests {
    @Test func parsesSysfsSizes() {
        #expect(CacheSize.parse("32768K") == 32 << 20)
        #expect(CacheSize.parse("1M") == 1 << 20)
        #expect(CacheSize.parse("2G") == 2 << 30)
        #expect(CacheSize.parse("512") == 512)
        for bad in ["", "K", "12X", "-4K", "1.5M", "99999999999999999999G", "\(Int.max)G"] {
            #expect(CacheSize.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func lastLevelMatchesSysfs() throws {
        #if os(Linux)
        let root = "/sys/devices/system/cpu/cpu0/cache"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        let readable = entries.filter { $0.hasPrefix("index") }.contains {
            (try? String(contentsOfFile: "\(root)/\($0)/size", encoding: .utf8)).flatMap {
                CacheSize.parse($0.trimmingCharacters(in: .whitespacesAndNewlines))
            } != nil
        }
        guard readable else {  // containers and some VMs hide the sizes
            #expect(CacheSize.lastLevel() == nil)
            return
        }
        // the cache of the deepest level sysfs lists for CPU 0 (an L3 on x86 servers)
        let size = try #require(CacheSize.lastLevel())
        #expect(size >= 64 << 10, "last-level cache of \(size) bytes")
        print("last-level cache: \(size >> 10) KiB")
        #endif
    }
}
