import Foundation
import JSON
import Templates

/// Variables llama-server gives every chat template besides the conversation: today's date as
/// `date_string` ("04 Dec 2026", read by Llama 3.x templates) and `datetime` ("Dec 04 2026").
enum TemplateContext {
    /// Templates run as llama-server's engine runs them (see `RenderOptions`).
    static var renderOptions: RenderOptions {
        var options = RenderOptions()
        options.concatenatesMissingStrings = true
        return options
    }

    static func dateVariables(now: Date = Date()) -> [String: JSONValue] {
        func format(_ pattern: String) -> String {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.dateFormat = pattern
            return f.string(from: now)
        }
        return ["date_string": .string(format("dd MMM yyyy")), "datetime": .string(format("MMM dd yyyy"))]
    }
}
