#include "kernels/deflate/row_tokenizer.hpp"

#include <algorithm>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ohlc::deflate {

namespace {

inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// How many leading bytes of a and b agree, up to `max`. b may overlap a (b < a).
// Row matches run for hundreds to thousands of bytes, so this is the tokenizer's hot loop:
// 16 bytes per compare with SSE2 (baseline on x86-64, so no dispatch), 64 per iteration once
// a run proves long; 8-byte words elsewhere.
#if defined(__SSE2__)
inline unsigned mismatch_mask16(const uint8_t* a, const uint8_t* b) {
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a));
  const __m128i y = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b));
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, y))) ^ 0xFFFFu;
}

inline size_t common_length(const uint8_t* a, const uint8_t* b, size_t max) {
  size_t i = 0;
  if (max >= 16) {
    if (const unsigned m = mismatch_mask16(a, b)) return static_cast<size_t>(__builtin_ctz(m));
    i = 16;
    while (i + 64 <= max) {
      const auto eq = [&](size_t k) {
        return _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i + k)),
                              _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i + k)));
      };
      const __m128i all = _mm_and_si128(_mm_and_si128(eq(0), eq(16)), _mm_and_si128(eq(32), eq(48)));
      if (_mm_movemask_epi8(all) != 0xFFFF) break;  // the 16-byte steps below find where
      i += 64;
    }
    while (i + 16 <= max) {
      if (const unsigned m = mismatch_mask16(a + i, b + i))
        return i + static_cast<size_t>(__builtin_ctz(m));
      i += 16;
    }
  }
  while (i < max && a[i] == b[i]) ++i;
  return i;
}
#else
inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

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
#endif

// Length of the match at distance d from pos, or 0 when it is not worth a look
// (the first byte differs).
inline size_t match_at(const uint8_t* data, size_t pos, size_t d, size_t limit) {
  if (pos < d || data[pos] != data[pos - d]) return 0;
  return common_length(data + pos, data + pos - d, limit);
}

// Appends the pieces of a match of `len` bytes at `dist`: 258s, and a tail of 259 or 260 split
// as (len - 3) + 3 so no piece is under 3. The caller checked the token room.
inline size_t emit_match(size_t len, size_t dist, uint32_t* tokens, size_t n, BlockStats& stats) {
  const uint32_t d = static_cast<uint32_t>(dist);
  const uint32_t full = match_token(kMaxMatch, d);
  size_t pieces = 0;
  while (len >= kMaxMatch + kMinMatch) {
    tokens[n++] = full;
    len -= kMaxMatch;
    ++pieces;
  }
  stats.litlen[257 + kLengthIndex[kMaxMatch - 3]] += static_cast<uint32_t>(pieces);
  if (len > kMaxMatch) {
    const uint32_t first = static_cast<uint32_t>(len - kMinMatch);
    tokens[n++] = match_token(first, d);
    ++stats.litlen[257 + kLengthIndex[first - 3]];
    len = kMinMatch;
    ++pieces;
  }
  tokens[n++] = match_token(static_cast<uint32_t>(len), d);
  ++stats.litlen[257 + kLengthIndex[len - 3]];
  stats.dist[dist_symbol(d - 1)] += static_cast<uint32_t>(pieces + 1);
  return n;
}

}  // namespace

#ifndef SHORT_DISTS
#define SHORT_DISTS 1, 4
#endif
size_t tokenize_rows(const uint8_t* data, size_t pos, size_t size, size_t row_distance,
                     uint32_t* tokens, size_t max_tokens, size_t* count, BlockStats& stats) {
  std::memset(&stats, 0, sizeof stats);
  size_t n = 0;
  // data[i] == data[i - row_distance] for pos <= i < row_end: the row match is measured once
  // per run, not once per 258-byte piece.
  size_t row_end = 0;
  static constexpr size_t kShort[] = {SHORT_DISTS};
  while (pos < size && n < max_tokens) {
    // A long match must not outrun the token buffer; the next block picks it up again.
    const size_t limit = std::min(size - pos, (max_tokens - n) * kMaxMatch);
    size_t row_len = 0;
    if (row_distance) {
      if (row_end <= pos) row_end = pos + match_at(data, pos, row_distance, limit);
      row_len = std::min(row_end - pos, limit);
    }
    // Short distances cost no (or few) extra bits: they win whenever they reach as far as the
    // row match's next piece. Checking the last byte they would need first rejects most of
    // them without a scan.
    const size_t need = std::max<size_t>(kMinMatch, std::min<size_t>(row_len, kMaxMatch));
    size_t short_len = 0, short_dist = 0;
    if (need <= limit) {
      for (size_t d : kShort) {
        if (pos < d || data[pos + need - 1] != data[pos + need - 1 - d]) continue;
        const size_t l = match_at(data, pos, d, limit);
        if (l > short_len) {
          short_len = l;
          short_dist = d;
        }
      }
    }
    if (short_len >= need) {
      n = emit_match(short_len, short_dist, tokens, n, stats);
      pos += short_len;
    } else if (row_len >= kMinMatch) {
      // One piece at a time, so a cheaper short match gets its chance at each piece.
      const size_t piece = row_len >= kMaxMatch + kMinMatch
                               ? kMaxMatch
                               : (row_len > kMaxMatch ? row_len - kMinMatch : row_len);
      n = emit_match(piece, row_distance, tokens, n, stats);
      pos += piece;
    } else {
      const uint8_t b = data[pos++];
      tokens[n++] = b;
      ++stats.litlen[b];
    }
  }
  stats.litlen[kEndOfBlock] = 1;
  *count = n;
  return pos;
}

}  // namespace ohlc::deflate
