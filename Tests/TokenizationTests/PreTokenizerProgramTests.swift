import Testing
@testable import Tokenization

/// The pre-tokenizer programs that the BPE fixture (from Hugging Face `tokenizers`) does not
/// cover, against splits worked out by hand from llama.cpp's regex lists and its matching rules
/// (each regex splits every piece the previous one left; matches and the gaps between them are
/// pieces). llama.cpp's own cases for the same vocabularies run in Tests/e2e/test_vocabs.py.
@Suite struct PreTokenizerProgramTests {
    static func words(_ name: String, _ text: String) throws -> [String] {
        let settings = try #require(PreTokenizer.Settings(name: name))
        let p = PreTokenizer(program: settings.program)
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer { buf in
            p.split(UnsafeBufferPointer(buf)).map { String(decoding: buf[$0], as: UTF8.self) }
        }
    }

    @Test func falconSplitsPunctuationRunsThenDigitTriples() throws {
        // [\p{P}$+<=>^~|`]+ cuts out "=" and "`" first; GPT-2 then splits "1234 ok" and
        // [0-9]{3} the number.
        #expect(try Self.words("falcon", "x=1234 ok`") == ["x", "=", "123", "4", " ok", "`"])
        // The default program leaves the backtick to the GPT-2 regex, which joins it to "`y".
        #expect(try Self.words("falcon", "a`y") == ["a", "`", "y"])
        #expect(try Self.words("default", "a `y") == ["a", " `", "y"])
        #expect(try Self.words("falcon", "a `y") == ["a", " ", "`", "y"])
    }

    @Test func deepseekCoderSplitsLettersPunctuationHanAndSingleDigits() throws {
        // " 世界" matches \s?\p{L}+ as a whole; the Han-range regex later cuts its space off.
        #expect(try Self.words("deepseek-coder", "Hi, 世界123\n") == ["Hi", ",", " ", "世界", "1", "2", "3", "\n"])
        #expect(try Self.words("deepseek-coder", "a\r\nb") == ["a", "\r", "\n", "b"])
    }

    @Test func deepseekLLMUsesItsListedRanges() throws {
        // The punctuation class `[!-/:-~…]` spans the ASCII letters too, so it splits the earlier
        // letter match " wörld" again around the non-ASCII "ö", as llama.cpp does.
        #expect(try Self.words("deepseek-llm", "Hello, wörld!  \n42") == ["Hello", ",", " w", "ö", "rld", "!", "  ", "\n", "42"])
        #expect(try Self.words("deepseek-llm", " Привет") == [" Привет"])
        // \s+$ takes the white space that ends a piece.
        #expect(try Self.words("deepseek-llm", "中文  ") == ["中文", "  "])
        // U+3000 lies in the punctuation class's range, but llama.cpp matches it as white space
        // (every non-ASCII space reads as U+000B), so it does not join "。".
        #expect(try Self.words("deepseek-llm", "。\u{3000}") == ["。", "\u{3000}"])
        // Han letters are not in the letter class; digits run together.
        #expect(try Self.words("deepseek-llm", "x1234") == ["x", "1234"])
    }

    @Test func qwen35KeepsCombiningMarksWithLetters() throws {
        #expect(try Self.words("qwen35", "cafe\u{301} 1") == ["cafe\u{301}", " ", "1"])
        #expect(try Self.words("qwen2", "cafe\u{301} 1") == ["cafe", "\u{301}", " ", "1"])
    }

    @Test func gemma4SplitsOnlyAtNewlines() throws {
        #expect(try Self.words("gemma4", "a b\n\nc d\n") == ["a b", "\n\n", "c d", "\n"])
    }

    @Test func unknownPreTokenizerNamesTheSupportedOnes() {
        #expect(PreTokenizer.Settings(name: "no-such-pre") == nil)
        let message = TokenizationError.unsupportedPreTokenizer("no-such-pre").description
        #expect(message.contains("'no-such-pre'"))
        for name in ["deepseek-llm", "deepseek-coder", "falcon", "qwen35", "gemma4", "llama-bpe"] {
            #expect(message.contains(name), "\(name) missing from: \(message)")
        }
    }
}
