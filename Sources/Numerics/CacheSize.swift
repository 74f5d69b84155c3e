import Foundation

/// The CPU's cache sizes as Linux reports them, for `cria bench --profile` to say which timings
/// came from cache rather than memory.
public enum CacheSize {
    /// Bytes of the highest-level cache of CPU 0 (the L3 on current x86), or nil where sysfs does
    /// not say (not Linux, or a container that hides it).
    public static func lastLevel() -> Int? {
        let root = "/sys/devices/system/cpu/cpu0/cache"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: root) else { return nil }
        var best: (level: Int, bytes: Int)?
        for entry in entries where entry.hasPrefix("index") {
            guard let level = read("\(root)/\(entry)/level").flatMap({ Int($0) }),
                  let bytes = read("\(root)/\(entry)/size").flatMap(parse) else { continue }
            if best == nil || level > best!.level { best = (level, bytes) }
        }
        return best?.bytes
    }

    /// "32768K", "1M" or "512" as bytes; nil for anything else.
    public static func parse(_ text: String) -> Int? {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        guard let last = text.last else { return nil }
        let (digits, unit) = units[last].map { (text.dropLast(), $0) } ?? (Substring(text), 1)
        guard let value = Int(digits), value >= 0, value <= Int.max / unit else { return nil }
        return value * unit
    }

    private static func read(_ path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
