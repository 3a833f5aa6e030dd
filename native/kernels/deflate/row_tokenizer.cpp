#include "kernels/deflate/row_tokenizer.hpp"

#include <algorithm>
#include <cstring>

namespace ohlc::deflate {

namespace {

inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// How many leading bytes of a and b agree, up to `max`. b may overlap a (b < a).
inline size_t common_length(const uint8_t* a, const uint8_t* b, size_t max) {
  size_t i = 0;
  while (i + 8 <= max) {
    const uint64_t x = load64(a + i) ^ load64(b + i);
    if (x) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
      return i + (static_cast<size_t>(__builtin_clzll(x)) >> 3);
#else
      return i + (static_cast<size_t>(__builtin_ctzll(x)) >> 3);
#endif
    }
    i += 8;
  }
  while (i < max && a[i] == b[i]) ++i;
  return i;
}

// Length of the match at distance d from pos, or 0 when it is not worth a look
// (the first byte differs).
inline size_t match_at(const uint8_t* data, size_t pos, size_t d, size_t limit) {
  if (pos < d || data[pos] != data[pos - d]) return 0;
  return common_length(data + pos, data + pos - d, limit);
}

}  // namespace

size_t tokenize_rows(const uint8_t* data, size_t pos, size_t size, size_t row_distance,
                     uint32_t* tokens, size_t max_tokens, size_t* count, BlockStats& stats) {
  std::memset(&stats, 0, sizeof stats);
  size_t n = 0;
  const uint32_t len258_sym = 257 + kLengthIndex[kMaxMatch - 3];
  while (pos < size && n < max_tokens) {
    // A long match must not outrun the token buffer; the next block picks it up again.
    const size_t limit = std::min(size - pos, (max_tokens - n) * kMaxMatch);
    size_t len = 0;
    size_t dist = 0;
    if (row_distance) {
      len = match_at(data, pos, row_distance, limit);
      dist = row_distance;
    }
    if (len < kMaxMatch) {
      // Short distances have no extra bits, so they win ties.
      const size_t run1 = match_at(data, pos, 1, limit);
      if (run1 >= len) {
        len = run1;
        dist = 1;
      }
      const size_t run4 = match_at(data, pos, 4, limit);
      if (run4 > len) {
        len = run4;
        dist = 4;
      }
    }
    if (len < kMinMatch) {
      const uint8_t b = data[pos++];
      tokens[n++] = b;
      ++stats.litlen[b];
      continue;
    }
    pos += len;
    const uint32_t dsym = static_cast<uint32_t>(dist_symbol(static_cast<uint32_t>(dist - 1)));
    const uint32_t full = match_token(kMaxMatch, static_cast<uint32_t>(dist));
    // Pieces of 258; a tail of 259 or 260 splits as (len - 3) + 3 so no piece is under 3.
    size_t pieces = 0;
    while (len >= kMaxMatch + kMinMatch) {
      tokens[n++] = full;
      len -= kMaxMatch;
      ++pieces;
    }
    stats.litlen[len258_sym] += static_cast<uint32_t>(pieces);
    if (len > kMaxMatch) {
      const uint32_t first = static_cast<uint32_t>(len - kMinMatch);
      tokens[n++] = match_token(first, static_cast<uint32_t>(dist));
      ++stats.litlen[257 + kLengthIndex[first - 3]];
      len = kMinMatch;
      ++pieces;
    }
    tokens[n++] = match_token(static_cast<uint32_t>(len), static_cast<uint32_t>(dist));
    ++stats.litlen[257 + kLengthIndex[len - 3]];
    stats.dist[dsym] += static_cast<uint32_t>(pieces + 1);
  }
  stats.litlen[kEndOfBlock] = 1;
  *count = n;
  return pos;
}

}  // namespace ohlc::deflate
