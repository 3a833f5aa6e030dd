// Writes one DEFLATE block from a token stream, as whichever of dynamic Huffman, fixed Huffman
// or stored comes out smallest (the sizes are computed exactly before anything is written).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/deflate/bit_writer.hpp"
#include "kernels/deflate/tokens.hpp"

namespace ohlc::deflate {

// `stats` must count every token plus one end-of-block; `raw` is the input the tokens encode
// (needed for the stored form). `final` sets BFINAL on the (last) block written.
void write_block(const uint32_t* tokens, size_t count, const BlockStats& stats,
                 const uint8_t* raw, size_t raw_size, bool final, BitWriter& out);

// The same for a caller that has no raw bytes at hand (an encoder working from geometry):
// writes the block as dynamic or fixed Huffman, whichever is smaller, and returns true; or
// writes nothing and returns false when the stored form of `raw_size` bytes would be smaller
// still (the caller then produces the bytes and calls write_block).
bool write_huffman_block(const uint32_t* tokens, size_t count, const BlockStats& stats,
                         size_t raw_size, bool final, BitWriter& out);

// An empty stored block without BFINAL: ends a piece on a byte boundary (zlib's sync flush).
void write_sync_flush(BitWriter& out);

}  // namespace ohlc::deflate
