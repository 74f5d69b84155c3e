import Foundation

/// Slot save/restore/erase (`POST /slots/{id}?action=…`).
///
/// A slot file is the magic "CRIASLT1", a UInt32 token count, the tokens (Int32), then the
/// slot's KV cells as `KVCache.encodedSequence` writes them.
extension Engine {
    static let slotFileMagic = Array("CRIASLT1".utf8)

    func runSlotAction(_ job: SlotActionJob, on slot: Slot) {
        let start = Date()
        // Errors name the file as the client named it, not the server's folder.
        func name(_ path: String) -> String { URL(fileURLWithPath: path).lastPathComponent }
        func elapsed() -> Double { Date().timeIntervalSince(start) * 1000 }
        switch job.action {
        case .erase:
            let n = slot.cachedTokens.count
            cache.clear(slot.id)
            slot.cachedTokens = []
            job.reply(.success(SlotActionResult(tokenCount: n, byteCount: 0, milliseconds: elapsed())))
        case .save(let path):
            var bytes = Self.slotFileMagic
            withUnsafeBytes(of: UInt32(slot.cachedTokens.count).littleEndian) { bytes += $0 }
            slot.cachedTokens.withUnsafeBytes { bytes += $0 }
            bytes += cache.encodedSequence(slot.id)
            do {
                try Data(bytes).write(to: URL(fileURLWithPath: path))
            } catch {
                job.reply(.failure(.slotFile("could not write the slot file \(name(path)): check that the --slot-save-path folder exists and is writable")))
                return
            }
            job.reply(.success(SlotActionResult(tokenCount: slot.cachedTokens.count, byteCount: bytes.count, milliseconds: elapsed())))
        case .restore(let path):
            // Checked before reading: a file larger than any slot of this server could write is
            // refused without loading it (it held the engine, and memory, for as long as it took).
            let largest = Self.slotFileMagic.count + 4 + slotContextSize * 4 + cache.maximumEncodedSequenceBytes
            if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > largest {
                job.reply(.failure(.slotFile("\(name(path)) is larger (\(size) bytes) than a slot of this server can hold "
                                             + "(\(largest) bytes): it was not saved here")))
                return
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                job.reply(.failure(.slotFile("could not read slot file \(name(path))")))
                return
            }
            let bytes = [UInt8](data)
            let magic = Self.slotFileMagic
            guard bytes.count >= magic.count + 4, Array(bytes[0..<magic.count]) == magic else {
                job.reply(.failure(.slotFile("\(name(path)) is not a slot file")))
                return
            }
            let n = bytes.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: magic.count, as: UInt32.self))) }
            let tokensEnd = magic.count + 4 + n * 4
            guard bytes.count >= tokensEnd else {
                job.reply(.failure(.slotFile("\(name(path)) is truncated")))
                return
            }
            let tokens = bytes[(magic.count + 4)..<tokensEnd].withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
            let vocabularySize = model.config.vocabularySize
            guard tokens.allSatisfy({ $0 >= 0 && Int($0) < vocabularySize }) else {
                job.reply(.failure(.slotFile("\(name(path)) holds token ids outside this model's vocabulary")))
                return
            }
            do {
                try cache.loadSequence(slot.id, from: Array(bytes[tokensEnd...]))
            } catch {
                cache.clear(slot.id)
                slot.cachedTokens = []
                job.reply(.failure(.slotFile("could not restore \(name(path)): \(error)")))
                return
            }
            // Positions come from a file: they must be ones this engine could have written (rising
            // from 0, the last below the token count, as the next token goes at the count; a
            // self-extend's compressed positions are too), or the next batch fails or attends to
            // cells at the wrong distance.
            var previous: Int32 = 0
            let positionsValid = cache.positions(slot.id).allSatisfy { p in
                defer { previous = p }
                return p >= previous && Int(p) < tokens.count
            }
            guard positionsValid else {
                cache.clear(slot.id)
                slot.cachedTokens = []
                job.reply(.failure(.slotFile("\(name(path)) holds cell positions this server could not have written")))
                return
            }
            guard cache.count(slot.id) == tokens.count else {
                cache.clear(slot.id)
                slot.cachedTokens = []
                job.reply(.failure(.slotFile("\(name(path)) is inconsistent: \(tokens.count) tokens but \(cache.count(slot.id)) cells")))
                return
            }
            slot.cachedTokens = tokens
            job.reply(.success(SlotActionResult(tokenCount: tokens.count, byteCount: bytes.count, milliseconds: elapsed())))
        }
    }
}
