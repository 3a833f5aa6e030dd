// Turns rows of bytes into DEFLATE tokens by comparing each byte with the one a row earlier.
// OHLC bar images repeat their previous row almost everywhere, so matches at distance row_bytes
// cover long stretches (many whole rows too: an overlapping copy is legal). Distance 1 and 4
// (4 = a float32 pixel, or a uint8 bar) carry no extra bits where a row distance carries 7-9,
// so at every 258-byte piece a run at those distances that reaches as far takes its place;
// they also code the first row. Bytes nothing covers become literals. Greedy, one pass, no hash
// tables: every run is measured once.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/deflate/tokens.hpp"

namespace ohlc::deflate {

// Tokenizes data[pos..size) until the end or `max_tokens` tokens; returns the position reached.
// `row_distance` is the row length to match against, 0 for none (it must be <= 32768).
// `period` is the short distance tried besides 1: the bytes a bar repeats over (4 for uint8
// images of IMAGE.md, whose bars are 4 pixels, and for float32 pixels; 3 for uint8 jkx images).
// Resets `stats` and counts every token plus the end of block into it.
size_t tokenize_rows(const uint8_t* data, size_t pos, size_t size, size_t row_distance, size_t period,
                     uint32_t* tokens, size_t max_tokens, size_t* count, BlockStats& stats);

}  // namespace ohlc::deflate
