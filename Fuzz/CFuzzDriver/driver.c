// The driver itself is in libFuzzer (linked by -sanitize=fuzzer); this target only carries the
// declaration in include/CFuzzDriver.h, and SwiftPM needs one source file to build it.
#include "CFuzzDriver.h"
