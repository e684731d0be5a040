#pragma once
// ICL_UNDER_ASAN is defined in an AddressSanitizer build (scripts/sanitize.sh), whose binaries
// reserve terabytes of shadow address space at start: tests that run a binary under an address
// limit or an emulator skip there.
#if defined(__SANITIZE_ADDRESS__)
#define ICL_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ICL_UNDER_ASAN 1
#endif
#endif
