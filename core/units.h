// Flag values with units, shared by the daemons' command lines: byte sizes ("20G") and ages
// ("30d"). Errors name the text and say what is wanted; callers prefix the flag.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace shoal {

// The power of two a byte-size suffix stands for: "" 0, K 10, M 20, G 30, T 40 (either case);
// -1 for anything else.
int ByteSuffixShift(std::string_view suffix);

// Bytes with an optional binary suffix: "0", "512k", "20G", "1T" (K, M, G, T; either case).
Result<uint64_t> ParseByteSize(const std::string& text);

// An age in milliseconds: a whole number followed by one unit, d (days), h, m or s
// ("30d", "12h"). Zero and bare numbers are refused: a retention of "0" would be a typo.
Result<int64_t> ParseAgeMs(const std::string& text);

}  // namespace shoal
