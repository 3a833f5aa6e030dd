// Turns rows of bytes into DEFLATE tokens by comparing each byte with the one a row earlier.
// OHLC bar images repeat their previous row almost everywhere, so one match at distance
// row_bytes covers long stretches (even many whole rows: an overlapping copy is legal);
// the first row and anything else fall back to runs at distance 1 or 4 (4 = a float32 pixel),
// and literals.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/deflate/tokens.hpp"

namespace ohlc::deflate {

// Tokenizes data[pos..size) until the end or `max_tokens` tokens; returns the position reached.
// `row_distance` is the row length to match against, 0 for none (it must be <= 32768).
// Resets `stats` and counts every token plus the end of block into it.
size_t tokenize_rows(const uint8_t* data, size_t pos, size_t size, size_t row_distance,
                     uint32_t* tokens, size_t max_tokens, size_t* count, BlockStats& stats);

}  // namespace ohlc::deflate
