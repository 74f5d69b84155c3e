// libFuzzer's driver entry (compiler-rt's FuzzerInterface.h), declared for Swift. SwiftPM links
// an executable's `main` to `<module>_main`, so each fuzz target's main calls the driver itself
// instead of using the `main` that -sanitize=fuzzer would otherwise supply.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
