/// `--chat-template NAME` with a name that is no built-in format (and text that is no Jinja
/// template either): says which names exist.
public struct UnknownTemplateName: Error, Sendable, Equatable, CustomStringConvertible {
    public let name: String

    public var description: String {
        let names = BuiltinTemplate.allCases.map(\.rawValue).joined(separator: ", ")
        return "unknown chat template '\(name)': pass one of the built-in names (\(names)) or Jinja source "
            + "(text with {{ … }} or {% … %}); for a template in a file use --chat-template-file"
    }
}
