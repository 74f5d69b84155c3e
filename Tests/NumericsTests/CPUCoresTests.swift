import Foundation
import Testing
@testable import CriaNumerics

/// The default thread count: Linux CPU lists, the affinity line of /proc/self/status, and the
/// physical-core count over a made-up sysfs tree (hyperthread siblings, a hybrid part's
/// efficiency cores, an unreadable topology).
@Suite struct CPUCoresTests {
    @Test func cpuListsParseAndBadOnesAreRefused() {
        #expect(CPUCores.parseList("0-3,8,10-11") == [0, 1, 2, 3, 8, 10, 11])
        #expect(CPUCores.parseList("5") == [5])
        for bad in ["", "a", "3-1", "0,,1", "0-", "-1", "1-2-3", "0-70000", "70000"] {
            #expect(CPUCores.parseList(bad) == nil, "\(bad)")
        }
    }

    @Test func allowedCPUsComeFromTheStatusLine() {
        let status = "Name:\tcria\nCpus_allowed:\tf\nCpus_allowed_list:\t0-1,3\nMems_allowed_list:\t0\n"
        #expect(CPUCores.allowedCPUs(status: status) == [0, 1, 3])
        #expect(CPUCores.allowedCPUs(status: "Name:\tcria\n") == nil)
    }

    @Test func physicalCoresCountSiblingsOnceAndLeaveOutEfficiencyCores() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cria-cpus-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        func cpu(_ id: Int, siblings: String) throws {
            let dir = "\(root)/system/cpu/cpu\(id)/topology"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try (siblings + "\n").write(toFile: "\(dir)/thread_siblings_list", atomically: true, encoding: .utf8)
        }
        // Two cores with two hyperthreads each (0 and 2 share a core, 1 and 3 the other).
        try cpu(0, siblings: "0,2"); try cpu(1, siblings: "1,3"); try cpu(2, siblings: "0,2"); try cpu(3, siblings: "1,3")
        #expect(CPUCores.physicalCores(of: [0, 1, 2, 3], sysfs: root) == 2)
        #expect(CPUCores.physicalCores(of: [0, 2], sysfs: root) == 1, "affinity on one core's two threads")
        #expect(CPUCores.physicalCores(of: [0, 1, 2, 3, 4], sysfs: root) == nil, "cpu4's topology is missing")

        // A hybrid part: cpus 0-3 as above are performance cores; 4 and 5 are efficiency cores.
        try cpu(4, siblings: "4"); try cpu(5, siblings: "5")
        #expect(CPUCores.physicalCores(of: [0, 1, 2, 3, 4, 5], sysfs: root) == 4)
        try FileManager.default.createDirectory(atPath: "\(root)/cpu_core", withIntermediateDirectories: true)
        try "0-3\n".write(toFile: "\(root)/cpu_core/cpus", atomically: true, encoding: .utf8)
        #expect(CPUCores.physicalCores(of: [0, 1, 2, 3, 4, 5], sysfs: root) == 2)
        #expect(CPUCores.physicalCores(of: [4, 5], sysfs: root) == 2, "only efficiency cores allowed: use them")
    }

    @Test func theModelComesFromTheFirstProcessor() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\nmodel name\t: AMD EPYC\n\n"
            + "processor\t: 1\ncpu family\t: 6\nmodel\t\t: 207\nmodel name\t: Other\n\n"
        #expect(CPUCores.modelDescription(cpuinfo: cpuinfo) == "AMD EPYC (family 25, model 17)")
        #expect(CPUCores.modelDescription(cpuinfo: "processor\t: 0\nmodel name\t: Some ARM\n") == "Some ARM")
        #expect(CPUCores.modelDescription(cpuinfo: "processor\t: 0\nBogoMIPS\t: 50\n") == nil)
    }

    @Test func theDefaultIsBetweenOneAndTheLogicalCount() {
        let count = CPUCores.defaultThreadCount
        #expect(count >= 1 && count <= max(1, ProcessInfo.processInfo.activeProcessorCount))
    }
}
