import Foundation
import Hummingbird
import Serving

/// GET /slots, and POST /slots/{id}?action=save|restore|erase (with `--slot-save-path`).
struct SlotsController {
    let host: ModelHost
    let enabled: Bool
    let savePath: String?

    func addRoutes(to router: Router<AppContext>) {
        router.get("/slots") { _, _ in try await list() }
        router.post("/slots/:id") { request, context in try await act(request, context: context) }
    }

    func list() async throws -> Response {
        guard enabled else { throw APIError.notSupported("This server does not support slots endpoint.") }
        let served = try await host.served()
        return try JSONResponse.make(served.engine.status().slots.map { SlotJSON($0, served: served) })
    }

    func act(_ request: Request, context: AppContext) async throws -> Response {
        let served = try await host.served()
        guard let savePath else { throw APIError.notSupported("This server does not support slots action: start it with --slot-save-path") }
        guard let idText = context.parameters.get("id"), let id = Int(idText) else {
            throw APIError.badRequest("Invalid slot id in the path")
        }
        var request = request
        let action = request.uri.queryParameters["action"].map(String.init) ?? ""
        switch action {
        case "erase":
            let r = try await perform(served, id, .erase)
            struct Erased: Encodable { var id_slot: Int; var n_erased: Int }
            return try JSONResponse.make(Erased(id_slot: id, n_erased: r.tokenCount))
        case "save", "restore":
            let fields = try await request.jsonFields(context: context)
            guard let name = try fields.string("filename"), Self.isValidFilename(name) else {
                throw APIError.badRequest("Invalid or missing 'filename' (a plain file name, no path)")
            }
            let path = URL(fileURLWithPath: savePath).appendingPathComponent(name).path
            if action == "save" {
                let r = try await perform(served, id, .save(path: path))
                struct Saved: Encodable {
                    struct T: Encodable { var save_ms: Double }
                    var id_slot: Int; var filename: String; var n_saved: Int; var n_written: Int; var timings: T
                }
                return try JSONResponse.make(Saved(id_slot: id, filename: name, n_saved: r.tokenCount, n_written: r.byteCount,
                                                   timings: .init(save_ms: r.milliseconds)))
            }
            let r = try await perform(served, id, .restore(path: path))
            struct Restored: Encodable {
                struct T: Encodable { var restore_ms: Double }
                var id_slot: Int; var filename: String; var n_restored: Int; var n_read: Int; var timings: T
            }
            return try JSONResponse.make(Restored(id_slot: id, filename: name, n_restored: r.tokenCount, n_read: r.byteCount,
                                                  timings: .init(restore_ms: r.milliseconds)))
        default:
            throw APIError.badRequest("Invalid action '\(action)': expected save, restore or erase")
        }
    }

    private func perform(_ served: ServedModel, _ id: Int, _ action: SlotAction) async throws -> SlotActionResult {
        do { return try await served.engine.performSlotAction(slot: id, action) } catch { throw APIError.from(error) }
    }

    /// A file name without directories or traversal.
    /// At most 255 bytes (what file systems allow in one name) and no control characters (a
    /// newline in a file name breaks logs and shells).
    static func isValidFilename(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 255 && !name.contains("/") && !name.contains("\\") && name != "." && name != ".."
            && !name.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }
}
