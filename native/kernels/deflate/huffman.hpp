// Length-limited Huffman codes for DEFLATE's dynamic blocks.
#pragma once

#include <cstdint>

namespace ohlc::deflate {

// Code lengths (0 = unused) for `n` <= 288 symbols, none longer than `max_len`, optimal
// before the limit applies. The result is always a complete prefix code, because zlib's inflate
// rejects incomplete ones: with fewer than two used symbols an unused one is given length 1 too.
void build_code_lengths(const uint32_t* freq, int n, int max_len, uint8_t* lengths);

// Canonical codes for those lengths (RFC 1951 3.2.2), bit-reversed for LSB-first output.
void canonical_codes(const uint8_t* lengths, int n, uint16_t* codes);

}  // namespace ohlc::deflate
