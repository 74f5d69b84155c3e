/// A JSON number kept as the text it was written with, so that printing it again gives the same
/// bytes (`1.50` stays `1.50`, `1e400` stays `1e400`) and nothing is lost to a conversion the
/// reader did not ask for. `integer` and `double` read the text as Swift numbers.
public struct JSONNumber: Sendable, CustomStringConvertible {
    /// JSON number syntax (RFC 8259 §6), or `NaN`, `Infinity`, `-Infinity` for a non-finite
    /// `Double` (what Python's `json.dumps` writes for them; not JSON, and the parser refuses it).
    public let text: String

    /// Text already known to be a number: from the parser, or made below.
    init(verifiedText: String) { text = verifiedText }

    /// Validates `text` as a JSON number; nil if it is not one.
    public init?(_ text: String) {
        guard JSONParser.isNumber(text) else { return nil }
        self.text = text
    }

    public init(_ value: Int) { text = String(value) }

    /// Swift's shortest round-tripping form (always with a `.` or an exponent, so it reads back
    /// as a double); non-finite values as `NaN`, `Infinity`, `-Infinity`.
    public init(_ value: Double) {
        if value.isNaN {
            text = "NaN"
        } else if value.isInfinite {
            text = value < 0 ? "-Infinity" : "Infinity"
        } else {
            text = "\(value)"
        }
    }

    /// The value when it is written as an integer (no fraction, no exponent) that fits in `Int`;
    /// `2` and `-0` qualify; `2.0`, `2e0` and integers beyond `Int`'s range do not.
    public var integer: Int? {
        if text.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            return nil
        }
        return Int(text)
    }

    /// The nearest `Double` (±infinity past its range).
    public var double: Double {
        switch text {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default: return Double(text) ?? .nan
        }
    }

    public var description: String { text }
}

extension JSONNumber: Equatable {
    /// Integers (as `integer` reads them) equal integers of the same value, other numbers equal
    /// other numbers of the same `double`; an integer never equals a non-integer (`1` ≠ `1.0`).
    public static func == (a: JSONNumber, b: JSONNumber) -> Bool {
        switch (a.integer, b.integer) {
        case let (x?, y?): return x == y
        case (nil, nil): return a.double == b.double
        default: return false
        }
    }
}
