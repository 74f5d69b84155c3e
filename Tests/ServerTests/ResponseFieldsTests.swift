import JSON
import Testing
@testable import Server

/// `response_fields`: paths into the result, slash paths moved to the top under their whole name,
/// missing ones left out, repeats kept once, in the order first named.
@Suite struct ResponseFieldsTests {
    @Test func pathsSelectAndFlatten() throws {
        let result = try JSONValue.parse(#"{"content":"hi","generation_settings":{"n_predict":8,"nested":{"x":[1]}},"stop":true}"#)
        let cut = ResponseFields.select(["generation_settings/nested/x", "content", "missing", "content/deeper",
                                         "generation_settings/n_predict", "content", ""], from: result)
        #expect(cut.serialized() == #"{"generation_settings/nested/x":[1],"content":"hi","generation_settings/n_predict":8}"#)
        #expect(ResponseFields.select([], from: result).serialized() == "{}")
    }
}
