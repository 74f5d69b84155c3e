import CFuzzDriver
import FuzzEntries

// libFuzzer target `request` (see `FuzzTarget`); built only by scripts/fuzz (CRIA_FUZZ=1,
// -sanitize=fuzzer,address). Flags are libFuzzer's, e.g. `-max_total_time=60 corpus-dir`.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    FuzzTarget.request.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
fatalError("libFuzzer's driver returned \(status) instead of exiting")
