import Foundation
import JSON

/// `response_fields` (today's llama-server /completion option): the final result cut down to the
/// named fields. A path with slashes reaches into nested objects and the value moves to the top
/// under the whole path as its name (`generation_settings/n_predict`); a path that names nothing
/// is left out without an error, as llama-server does.
enum ResponseFields {
    /// The request's list: an array of strings, or nil when absent.
    static func parse(_ fields: JSONFields) throws(APIError) -> [String]? {
        guard let items = try fields.array("response_fields") else { return nil }
        var paths: [String] = []
        for item in items {
            guard case .string(let path) = item else { throw JSONFields.typeError("response_fields", "an array of strings") }
            paths.append(path)
        }
        return paths
    }

    /// The named values of `object`, in the order first named.
    static func select(_ paths: [String], from object: JSONValue) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = []
        var seen = Set<String>()
        for path in paths where !seen.contains(path) {
            seen.insert(path)
            var current: JSONValue? = object
            for key in path.split(separator: "/", omittingEmptySubsequences: false) {
                current = current?[String(key)]
            }
            if let current { members.append((key: path, value: current)) }
        }
        return .object(members)
    }

    /// `value` as /completion encodes it, cut down to `paths`.
    static func cut(_ value: some Encodable, keeping paths: [String]) throws -> JSONValue {
        select(paths, from: try JSONValue.parse(utf8: Array(JSONResponse.encode(value))))
    }

    /// `cut` as JSON text.
    static func encode(_ value: some Encodable, keeping paths: [String]) throws -> Data {
        Data(try cut(value, keeping: paths).serialized().utf8)
    }
}
