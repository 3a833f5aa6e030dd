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

// Tokens drawn from a few distances (an encoder that knows its copies): each token is a literal
// byte (< 256) or 256 + 256 * kind + (length - 3), the match of `length` at distances[kind].
// Every code is then one table entry built per block, and writing one is a single put.
constexpr int kMaxTokenKinds = 4;
inline uint16_t kind_token(int kind, uint32_t length) {
  return static_cast<uint16_t>(256 + 256 * kind + (length - 3));
}
// As write_huffman_block, for such tokens (`kinds` distances, at most kMaxTokenKinds).
// `used`, when given, has bit (length - 3) of word group kind (4 words a kind) set for every
// match the block holds, so only those codes are built.
bool write_huffman_block_kinds(const uint16_t* tokens, size_t count, const BlockStats& stats,
                               const uint32_t* distances, int kinds, const uint64_t* used,
                               size_t raw_size, bool final, BitWriter& out);
// `raw_size` bytes as stored blocks (the form write_huffman_block declined).
void write_stored_block(const uint8_t* raw, size_t raw_size, bool final, BitWriter& out);

// An empty stored block without BFINAL: ends a piece on a byte boundary (zlib's sync flush).
void write_sync_flush(BitWriter& out);

}  // namespace ohlc::deflate
