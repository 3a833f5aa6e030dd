#include "kernels/deflate/row_tokenizer.hpp"

#include <algorithm>
#include <cstring>

// OHLC_DEFLATE_PORTABLE forces the plain path (to test it on x86).
#if defined(__SSE2__) && !defined(OHLC_DEFLATE_PORTABLE)
#include <emmintrin.h>
#endif

namespace ohlc::deflate {

namespace {

// How many leading bytes of a and b agree, up to `max`. b may overlap a (b < a).
// Row matches run for hundreds to thousands of bytes, so this is the tokenizer's hot loop:
// SSE2 (baseline on x86-64, so no dispatch): one 16-byte compare for the many short runs, then
// 64 bytes per iteration; 8-byte words elsewhere.
#if defined(__SSE2__) && !defined(OHLC_DEFLATE_PORTABLE)
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
      const __m128i e0 = eq(0), e1 = eq(16), e2 = eq(32), e3 = eq(48);
      const __m128i all = _mm_and_si128(_mm_and_si128(e0, e1), _mm_and_si128(e2, e3));
      if (_mm_movemask_epi8(all) != 0xFFFF) {
        const auto bits = [](__m128i e) {
          return static_cast<uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(e)));
        };
        const uint64_t equal =
            bits(e0) | (bits(e1) << 16) | (bits(e2) << 32) | (bits(e3) << 48);
        return i + static_cast<size_t>(__builtin_ctzll(~equal));
      }
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

size_t tokenize_rows(const uint8_t* data, size_t pos, size_t size, size_t row_distance, size_t period,
                     uint32_t* tokens, size_t max_tokens, size_t* count, BlockStats& stats) {
  std::memset(&stats, 0, sizeof stats);
  size_t n = 0;
  // Runs are measured once, not once per 258-byte piece: data[i] == data[i - d] for
  // pos <= i < end. (An end cut short by the token room never understates a later limit,
  // since each token covers at most 258 bytes.)
  size_t row_end = 0;
  // Two short distances only: each one tried costs a check at every token.
  const size_t short_dist_of[2] = {1, period};
  size_t short_end[2] = {0, 0};
  while (pos < size && n < max_tokens) {
    // A long match must not outrun the token buffer; the next block picks it up again.
    const size_t limit = std::min(size - pos, (max_tokens - n) * kMaxMatch);
    size_t row_len = 0;
    if (row_distance) {
      if (row_end <= pos) row_end = pos + match_at(data, pos, row_distance, limit);
      row_len = std::min(row_end - pos, limit);
    }
    // Short distances cost no extra bits: they win whenever they reach as far as the row
    // match's next piece. Checking the last byte they would need first rejects most of them
    // without a scan.
    const size_t need = std::max<size_t>(kMinMatch, std::min<size_t>(row_len, kMaxMatch));
    size_t short_len = 0, short_dist = 0;
    if (need <= limit) {
      for (int k = 0; k < 2; ++k) {
        const size_t d = short_dist_of[k];
        size_t l = 0;
        if (short_end[k] > pos) {
          l = std::min(short_end[k] - pos, limit);
        } else if (pos >= d && data[pos + need - 1] == data[pos + need - 1 - d]) {
          short_end[k] = pos + match_at(data, pos, d, limit);
          l = short_end[k] - pos;
        }
        if (l > short_len) {
          short_len = l;
          short_dist = d;
        }
      }
    }
    if (short_len >= need) {
      // While the row match goes on, only whole 258s: a short tail would cost a token that
      // the row match's next piece absorbs anyway.
      size_t take = short_len;
      if (row_len > short_len && short_len >= kMaxMatch) take = short_len / kMaxMatch * kMaxMatch;
      n = emit_match(take, short_dist, tokens, n, stats);
      pos += take;
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
