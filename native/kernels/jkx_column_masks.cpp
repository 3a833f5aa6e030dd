#include "kernels/jkx_column_masks.hpp"

#include <algorithm>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ohlc {

namespace {

// Rows first .. last (0 <= first <= last < 64).
inline uint64_t row_span(int32_t first, int32_t last) {
  return (~uint64_t{0} >> (63 - last)) & (~uint64_t{0} << first);
}

inline uint64_t row_bit(int32_t row) { return uint64_t{1} << row; }

constexpr uint32_t kGroup = 16;  // columns written per SIMD step

}  // namespace

void jkx_ma_segment_masks(int32_t x0, int32_t y0, int32_t y1, int32_t top, uint64_t* masks) {
  for (int32_t j = 0; j < 4; ++j) {
    const JkxRowSpan span = jkx_ma_segment_column(j, y0, y1, top);
    masks[x0 + j] |= row_span(span.first, span.last);
  }
}

void jkx_column_masks(const JkxBar* bars, bool ma_drawn, JkxShape shape, uint64_t* masks) {
  const uint32_t len = shape.seq_len, width = shape.width();
  const int32_t top = static_cast<int32_t>(shape.price_rows()) - 1;
  const int32_t h = static_cast<int32_t>(shape.height);
  std::fill(masks, masks + (width + kGroup - 1) / kGroup * kGroup, uint64_t{0});
  for (uint32_t i = 0; i < len; ++i) {
    const JkxBar b = bars[i];
    const uint32_t x = 3 * i + 1;
    const uint64_t open = row_bit(top - b.open);
    // A volume of 0 pixels (no strip, or vmax == 0) selects an empty mask: no branch to mispredict.
    const uint64_t volume = b.volume > 0 ? row_span(h - b.volume, h - 1) : 0;
    masks[x - 1] |= open;
    masks[x] |= row_span(top - b.line_top, top - b.line_bottom) | open | volume;
    masks[x + 1] |= row_bit(top - b.close);
    if (ma_drawn && i + 1 < len) jkx_ma_segment_masks(static_cast<int32_t>(x), b.ma, bars[i + 1].ma, top, masks);
  }
}

void jkx_write_mask_rows(const uint64_t* masks, uint32_t width, uint32_t height, uint8_t* out) {
#if defined(__SSE2__)
  const size_t total = static_cast<size_t>(width) * height;
  // Group by group of 16 columns (the last one overlapping the one before when the width is not
  // a multiple of 16: the same bytes again), the group's mask words held in registers for all
  // its rows. Rows 0..31 test the low 32-bit words, 32..63 the high ones: 32-bit lanes compare
  // in one instruction and pack to bytes in two.
  for (uint32_t c = 0; c < width; c += kGroup) {
    const uint32_t col = width >= kGroup && c + kGroup > width ? width - kGroup : c;
    const __m128* m = reinterpret_cast<const __m128*>(masks + col);  // 2 masks a vector
    __m128i low[4], high[4];
    for (int q = 0; q < 4; ++q) {
      const __m128 a = _mm_loadu_ps(reinterpret_cast<const float*>(m + 2 * q));
      const __m128 b = _mm_loadu_ps(reinterpret_cast<const float*>(m + 2 * q + 1));
      low[q] = _mm_castps_si128(_mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)));
      high[q] = _mm_castps_si128(_mm_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
    }
    for (uint32_t r = 0; r < height; ++r) {
      const __m128i* words = r < 32 ? low : high;
      const __m128i bit = _mm_set1_epi32(static_cast<int>(1u << (r & 31)));
      const __m128i w0 = _mm_cmpeq_epi32(_mm_and_si128(words[0], bit), bit);
      const __m128i w1 = _mm_cmpeq_epi32(_mm_and_si128(words[1], bit), bit);
      const __m128i w2 = _mm_cmpeq_epi32(_mm_and_si128(words[2], bit), bit);
      const __m128i w3 = _mm_cmpeq_epi32(_mm_and_si128(words[3], bit), bit);
      const __m128i bytes = _mm_packs_epi16(_mm_packs_epi32(w0, w1), _mm_packs_epi32(w2, w3));
      uint8_t* dst = out + static_cast<size_t>(r) * width + col;
      if (width >= kGroup || static_cast<size_t>(r) * width + kGroup <= total) {
        // (Narrower than a group: the store runs into the next row, which is written after it.)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), bytes);
      } else {
        // The last rows of a narrow image: no byte past the image (it may be another thread's).
        // width >= 6 (3L, L >= 2): two overlapping copies of a fixed size.
        alignas(16) uint8_t row[kGroup];
        _mm_store_si128(reinterpret_cast<__m128i*>(row), bytes);
        const uint32_t half = width >= 8 ? 8 : 4;
        std::memcpy(dst, row, half);
        std::memcpy(dst + width - half, row + width - half, half);
      }
    }
  }
#else
  for (uint32_t r = 0; r < height; ++r)
    for (uint32_t c = 0; c < width; ++c)
      out[static_cast<size_t>(r) * width + c] = ((masks[c] >> r) & 1u) ? 255 : 0;
#endif
}

}  // namespace ohlc
