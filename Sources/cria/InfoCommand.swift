import ArgumentParser
import GGUF
import GPU

/// `cria info MODEL.gguf`: metadata and tensor table of a GGUF file; `cria info --devices`: the
/// Vulkan devices this machine offers (or why there are none).
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print a GGUF file's metadata and tensor table, or the Vulkan devices (--devices)."
    )

    @Argument(help: "Path to a .gguf file.")
    var path: String?

    // Every other command names its model with -m, so hands type it here too.
    @Option(name: [.customShort("m"), .customLong("model")], help: "Path to a .gguf file (as the argument).")
    var modelOption: String?

    private var model: String? { path ?? modelOption }

    @Option(name: .customLong("max-array"), help: "Array items to print per metadata value.")
    var maxArrayItems = 8

    @Flag(name: .customLong("no-mmap"), help: "Read the file into memory instead of mapping it.")
    var noMmap = false

    @Flag(name: .customLong("devices"), help: "List the Vulkan devices (name, type, API version, subgroup size, memory heaps).")
    var devices = false

    func validate() throws {
        if path != nil && modelOption != nil { throw ValidationError("give the .gguf file once: as the argument or with -m") }
        if devices && model != nil { throw ValidationError("give either a .gguf file or --devices, not both") }
        if !devices && model == nil { throw ValidationError("missing a .gguf file to describe (or --devices)") }
    }

    func run() throws {
        if devices {
            print(VulkanDeviceListing.render())
            return
        }
        guard let model else { return }
        // A GGUFError's description names the problem and offset; ArgumentParser prints it
        // as "Error: …" and exits with status 1.
        let file = try GGUFFile(path: model, mode: noMmap ? .read : .mmap)
        print(GGUFSummary(maxArrayItems: maxArrayItems).render(file, path: model))
    }
}
