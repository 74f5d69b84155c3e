/// The one-code-point-to-one mappings llama.cpp's WordPiece normalizer applies: lowercasing and
/// the first code point of the canonical decomposition.
enum CodepointMapping {
    /// The simple lowercase mapping (UnicodeData's one-code-point mapping), or `cpt` itself.
    ///
    /// The standard library gives the full mapping, a string; where that has more than one code
    /// point (only U+0130 İ → "i̇") its first one is the simple mapping.
    static func lowercase(_ cpt: UInt32) -> UInt32 {
        if cpt < 0x80 { return cpt >= 0x41 && cpt <= 0x5A ? cpt + 0x20 : cpt }
        guard let scalar = Unicode.Scalar(cpt) else { return cpt }
        return scalar.properties.lowercaseMapping.unicodeScalars.first?.value ?? cpt
    }

    /// The first code point of `cpt`'s canonical decomposition (NFD), or `cpt` itself.
    static func firstOfDecomposition(_ cpt: UInt32) -> UInt32 {
        if cpt < 0xC0 { return cpt }
        let table = UnicodeNFDTable.ranges
        // Binary search for the last range whose first code point is <= cpt.
        var low = 0, high = table.count / 3
        while low < high {
            let mid = (low + high) / 2
            if table[mid * 3] <= cpt { low = mid + 1 } else { high = mid }
        }
        guard low > 0 else { return cpt }
        let r = (low - 1) * 3
        return cpt <= table[r + 1] ? table[r + 2] : cpt
    }
}
