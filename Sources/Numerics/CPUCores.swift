import Foundation

/// The number of compute threads to use when the user names none: one per physical core this
/// process may run on, leaving out an Intel hybrid part's efficiency cores. Two hyperthreads of
/// one core share its load ports and caches, and decode is bound by memory reads, so a thread per
/// logical CPU adds threads the pool must wait for without adding bandwidth; llama.cpp's default
/// (`-t` unset) is the same count, so a swapped command line keeps its thread count.
public enum CPUCores {
    /// The most threads any command accepts (llama.cpp's limit too): each is an OS thread the
    /// compute pool creates up front.
    public static let maximumThreads = 512

    /// Physical cores available to this process, or the logical CPU count where Linux's sysfs
    /// does not say (other systems, containers that hide it). Read once: argument parsing, help
    /// texts and `cria bench` ask for it several times, and a large machine has a sysfs file per CPU.
    public static let defaultThreadCount: Int = {
        let logical = max(1, ProcessInfo.processInfo.activeProcessorCount)
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let allowed = allowedCPUs(status: status),
              let cores = physicalCores(of: allowed, sysfs: "/sys/devices")
        else { return logical }
        return min(max(1, cores), maximumThreads)
    }()

    /// "AMD EPYC (family 25, model 17)": the first processor of a /proc/cpuinfo text, so a
    /// benchmark's figures name the CPU family they were measured on; nil without a model name.
    public static func modelDescription(cpuinfo: String) -> String? {
        var fields: [String: String] = [:]
        for line in cpuinfo.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingCharacters(in: .whitespaces).isEmpty { break }  // the end of the first processor
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            fields[parts[0].trimmingCharacters(in: .whitespaces)] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        guard let name = fields["model name"], !name.isEmpty else { return nil }
        guard let family = fields["cpu family"], let model = fields["model"] else { return name }
        return "\(name) (family \(family), model \(model))"
    }

    /// `modelDescription` of this machine's /proc/cpuinfo, or nil where there is none.
    public static func modelDescription() -> String? {
        (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)).flatMap { modelDescription(cpuinfo: $0) }
    }

    /// The CPUs of the `Cpus_allowed_list:` line of a /proc/<pid>/status text (the affinity mask
    /// `taskset` and container cpusets set).
    public static func allowedCPUs(status: String) -> [Int]? {
        for line in status.split(separator: "\n") where line.hasPrefix("Cpus_allowed_list:") {
            return parseList(line.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    /// Linux's CPU list format ("0-3,8,10-11") as ids; nil for anything malformed, descending
    /// ranges or ids past 65535 (no machine has more; it bounds the list a bad file could make).
    public static func parseList(_ text: String) -> [Int]? {
        let limit = 65535
        var ids: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count),
                  let first = Int(bounds[0]), let last = Int(bounds[bounds.count - 1]),
                  first >= 0, first <= last, last <= limit
            else { return nil }
            ids.append(contentsOf: first...last)
            if ids.count > limit + 1 { return nil }
        }
        return ids.isEmpty ? nil : ids
    }

    /// Distinct physical cores among `cpus`: each CPU's `thread_siblings_list` under
    /// `<sysfs>/system/cpu/cpuN/topology` names its core. Where `<sysfs>/cpu_core/cpus` exists (an
    /// Intel hybrid part's performance cores), CPUs outside it are efficiency cores and are left
    /// out unless no allowed CPU is a performance core. Nil when a CPU's topology cannot be read.
    public static func physicalCores(of cpus: [Int], sysfs root: String) -> Int? {
        var candidates = cpus
        if let text = read("\(root)/cpu_core/cpus"), let performance = parseList(text).map(Set.init) {
            let kept = cpus.filter(performance.contains)
            if !kept.isEmpty { candidates = kept }
        }
        var cores = Set<String>()
        for cpu in candidates {
            guard let siblings = read("\(root)/system/cpu/cpu\(cpu)/topology/thread_siblings_list") else { return nil }
            cores.insert(siblings)
        }
        return cores.isEmpty ? nil : cores.count
    }

    private static func read(_ path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
