/// Unicode facts about one code point, in the shape llama.cpp's pre-tokenizers test them.
///
/// llama.cpp gives every code point exactly one general-category flag (`\p{L}`, `\p{N}`, …)
/// plus a White_Space bit; its hand-written regex splitters branch on those. We derive the same
/// flags from the Swift standard library's Unicode tables (`Unicode.Scalar.Properties`).
struct CodepointFlags: OptionSet, Sendable {
    let rawValue: UInt16
    static let undefined = CodepointFlags(rawValue: 1 << 0)
    static let number = CodepointFlags(rawValue: 1 << 1)
    static let letter = CodepointFlags(rawValue: 1 << 2)
    static let separator = CodepointFlags(rawValue: 1 << 3)
    static let mark = CodepointFlags(rawValue: 1 << 4)
    static let punctuation = CodepointFlags(rawValue: 1 << 5)
    static let symbol = CodepointFlags(rawValue: 1 << 6)
    static let control = CodepointFlags(rawValue: 1 << 7)
    static let whitespace = CodepointFlags(rawValue: 1 << 8)

    /// Flags for a position outside the text being split: none at all. llama.cpp's splitters
    /// rely on this (an all-zero flag set matches no class), so it must differ from `undefined`.
    static let outOfRange = CodepointFlags([])

    var isLetter: Bool { contains(.letter) }
    var isNumber: Bool { contains(.number) }
    var isWhitespace: Bool { contains(.whitespace) }
    var isPunctuation: Bool { contains(.punctuation) }
    /// `\p{M}`: llama.cpp calls these accent marks.
    var isMark: Bool { contains(.mark) }
    var isSymbol: Bool { contains(.symbol) }
    /// `\p{C}` but unassigned: control, format, surrogate and private-use code points.
    var isControl: Bool { contains(.control) }
    var isInRange: Bool { rawValue != 0 }

    private static let ascii: [CodepointFlags] = (0..<128).map { compute(UInt32($0)) }

    @inline(__always)
    static func of(_ cpt: UInt32) -> CodepointFlags {
        cpt < 128 ? ascii[Int(cpt)] : compute(cpt)
    }

    static func compute(_ cpt: UInt32) -> CodepointFlags {
        guard let scalar = Unicode.Scalar(cpt) else { return .undefined }
        let props = scalar.properties
        var flags: CodepointFlags
        switch props.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            flags = .letter
        case .nonspacingMark, .spacingMark, .enclosingMark:
            flags = .mark
        case .decimalNumber, .letterNumber, .otherNumber:
            flags = .number
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            flags = .punctuation
        case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            flags = .symbol
        case .spaceSeparator, .lineSeparator, .paragraphSeparator:
            flags = .separator
        case .control, .format, .surrogate, .privateUse:
            flags = .control
        case .unassigned:
            flags = .undefined
        @unknown default:
            flags = .undefined
        }
        if props.isWhitespace { flags.insert(.whitespace) }
        return flags
    }
}
