import Testing
@testable import JSON

/// Numbers are their written text; `integer` and `double` read it.
@Suite struct JSONNumberTests {
    @Test func integerOnlyForIntegersThatFit() throws {
        #expect(JSONNumber("2")?.integer == 2)
        #expect(JSONNumber("-0")?.integer == 0)
        #expect(JSONNumber("-9223372036854775808")?.integer == Int.min)
        #expect(JSONNumber("9223372036854775808")?.integer == nil)
        #expect(JSONNumber("2.0")?.integer == nil)
        #expect(JSONNumber("2e0")?.integer == nil)
        #expect(JSONNumber("2E0")?.integer == nil)
    }

    @Test func doubleReadsEveryForm() throws {
        #expect(JSONNumber("1.50")?.double == 1.5)
        #expect(JSONNumber("-3e2")?.double == -300)
        #expect(JSONNumber("12345678901234567890")?.double == 12345678901234567890.0)
        #expect(JSONNumber("1e400")?.double == .infinity)
        #expect(JSONNumber("-1e400")?.double == -.infinity)
        #expect(JSONNumber(Double.nan).double.isNaN)
        #expect(JSONNumber(-Double.infinity).double == -.infinity)
    }

    @Test func textValidation() {
        for good in ["0", "-0", "1.5", "-1.5e-3", "1E+2", "10"] { #expect(JSONNumber(good)?.text == good) }
        for bad in ["", "01", "1.", ".5", "+1", "1e", "0x10", "NaN", "Infinity", " 1", "1 "] { #expect(JSONNumber(bad) == nil, "\(bad)") }
    }

    @Test func madeFromSwiftNumbers() {
        #expect(JSONNumber(42).text == "42")
        #expect(JSONNumber(-7).text == "-7")
        #expect(JSONNumber(1.0).text == "1.0")
        #expect(JSONNumber(0.1).text == "0.1")
        #expect(JSONNumber(1e16).text == "1e+16")
        #expect(JSONNumber(-0.0).text == "-0.0")
        #expect(JSONNumber(Double.nan).text == "NaN")
        #expect(JSONNumber(Double.infinity).text == "Infinity")
        #expect(JSONNumber(-Double.infinity).text == "-Infinity")
        // Finite doubles always read back as the same double, never as an integer.
        for d in [1.0, 0.1, 1e16, 5e-324, 1.7976931348623157e308, 123456.789, -2.5e-7] {
            let n = JSONNumber(d)
            #expect(JSONNumber(n.text) != nil)
            #expect(n.double == d)
            #expect(n.integer == nil)
        }
    }

    @Test func equalityKeepsIntegersApartFromFloats() {
        #expect(JSONNumber("1.5") == JSONNumber("1.50"))
        #expect(JSONNumber("100") == JSONNumber(100))
        #expect(JSONNumber("1e2") == JSONNumber("100.0"))
        #expect(JSONNumber("1") != JSONNumber("1.0"))
        #expect(JSONNumber(Double.nan) != JSONNumber(Double.nan))
        #expect(JSONValue.int(2) != JSONValue.double(2))
        #expect(JSONValue.double(2.5) == 2.5)
    }
}
