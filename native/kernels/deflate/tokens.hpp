// The token stream between the row tokenizer and the block writer.
#pragma once

#include <cstdint>

#include "kernels/deflate/deflate_tables.hpp"

namespace ohlc::deflate {

// One 32-bit word per token: a literal byte (< 256), or a match
// kMatchFlag | (distance - 1) << 8 | (length - 3).
constexpr uint32_t kMatchFlag = 1u << 31;

inline uint32_t match_token(uint32_t length, uint32_t distance) {
  return kMatchFlag | ((distance - 1) << 8) | (length - 3);
}

// Symbol counts of one block, gathered while tokenizing so the writer never rescans.
struct BlockStats {
  uint32_t litlen[kNumLitLen];
  uint32_t dist[kNumDist];
};

}  // namespace ohlc::deflate
