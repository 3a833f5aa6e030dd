// How the CUDA kernel lays one image's pixels out in memory, as plain __host__ __device__ code:
// the kernel calls these with (threadIdx.x, blockDim.x), and raster_check calls the very same
// functions on the CPU for every (t, nt) to prove the index math (heads, 16-byte chunks, tails,
// tiles) covers every pixel exactly as kernels/raster.cpp draws it, without needing a GPU.
//
// Pixels of bar j in row y are 4 consecutive elements (line, open, close, gap), so:
//   uint8:   one 32-bit word per (row, bar), little-endian: column 4j is the lowest byte;
//   float32: one 16-byte quad per (row, bar).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/raster_math.hpp"

#if defined(__CUDACC__)
#include <cuda_runtime.h>
#endif

namespace ohlc::cuda {

// The uint8 word of bar `r` in row y: 0 = ink, 1 = background.
OHLC_HD inline uint32_t u8_word(const BarRows& r, int32_t y) {
  const uint32_t line = (y >= r.line_top && y <= r.line_bottom) ? 0u : 1u;
  const uint32_t open = y == r.open ? 0u : 1u;
  const uint32_t close = y == r.close ? 0u : 1u;
  return line | (open << 8) | (close << 16) | (1u << 24);
}

#if !defined(__CUDA_ARCH__)
// Host emulation only: counts 16-byte stores to addresses that are not 16-byte aligned (the GPU
// would fault on them). raster_check expects 0.
inline uint64_t& misaligned_vector_stores() {
  static uint64_t n = 0;
  return n;
}
#endif

// One 16-byte store. On the GPU a streaming store (st.global.cs): the images are written once
// and not read again by the kernel, so they need not displace anything from L2.
OHLC_HD inline void store_u32x4(uint32_t* p, uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
#if defined(__CUDA_ARCH__)
  __stcs(reinterpret_cast<uint4*>(p), make_uint4(a, b, c, d));
#else
  if (reinterpret_cast<uintptr_t>(p) & 15) ++misaligned_vector_stores();
  p[0] = a;
  p[1] = b;
  p[2] = c;
  p[3] = d;
#endif
}

OHLC_HD inline void store_f32x4(float* p, float a, float b, float c, float d) {
#if defined(__CUDA_ARCH__)
  __stcs(reinterpret_cast<float4*>(p), make_float4(a, b, c, d));
#else
  if (reinterpret_cast<uintptr_t>(p) & 15) ++misaligned_vector_stores();
  p[0] = a;
  p[1] = b;
  p[2] = c;
  p[3] = d;
#endif
}

OHLC_HD inline void store_f32_cell(float* p, const BarRows& r, int32_t y) {
  store_f32x4(p, (y >= r.line_top && y <= r.line_bottom) ? 0.f : 1.f, y == r.open ? 0.f : 1.f,
              y == r.close ? 0.f : 1.f, 1.f);
}

// Images small enough for 32-bit cell indices (L * H <= 2^31, so `k += nt` cannot wrap) and
// whose bar rows all fit one tile use the "whole image" writers below; others are written tile
// by tile with 64-bit indices.
constexpr uint32_t kBarTile = 1024;  // bars whose rows sit in shared memory at once
OHLC_HD inline bool whole_image_path(uint32_t seq_len, uint32_t height) {
  return seq_len <= kBarTile && static_cast<uint64_t>(seq_len) * height <= (uint64_t{1} << 31);
}

// uint8, whole image: `rows` holds all L bars; `img` is the image's first word (4-byte aligned,
// not necessarily 16: consecutive images of L*H words start at any word offset). Words before
// the first 16-byte boundary and after the last one are stored singly; everything between in
// 16-byte chunks of 4 consecutive words, whose (row, bar) come from one division per chunk.
OHLC_HD inline void write_image_u8(const BarRows* rows, uint32_t seq_len, uint32_t height,
                                   uint32_t* img, uint32_t t, uint32_t nt) {
  const uint32_t words = seq_len * height;
  uint32_t head = static_cast<uint32_t>((4u - ((reinterpret_cast<uintptr_t>(img) >> 2) & 3u)) & 3u);
  if (head > words) head = words;
  const uint32_t chunks = (words - head) / 4;
  const uint32_t tail = head + 4 * chunks;
  for (uint32_t k = t; k < head; k += nt) {
    const uint32_t row = k / seq_len;
    img[k] = u8_word(rows[k - row * seq_len], static_cast<int32_t>(row));
  }
  for (uint32_t q = t; q < chunks; q += nt) {
    const uint32_t k = head + 4 * q;
    uint32_t row = k / seq_len;
    uint32_t bar = k - row * seq_len;
    uint32_t v[4];
    for (int i = 0; i < 4; ++i) {
      v[i] = u8_word(rows[bar], static_cast<int32_t>(row));
      if (++bar == seq_len) {  // short bars (L < 4) may wrap more than once
        bar = 0;
        ++row;
      }
    }
    store_u32x4(img + k, v[0], v[1], v[2], v[3]);
  }
  for (uint32_t k = tail + t; k < words; k += nt) {
    const uint32_t row = k / seq_len;
    img[k] = u8_word(rows[k - row * seq_len], static_cast<int32_t>(row));
  }
}

// float32, whole image: every (row, bar) cell is one aligned 16-byte quad (an image is
// 16 * L * H bytes, so every image of a 16-byte aligned batch starts aligned).
OHLC_HD inline void write_image_f32(const BarRows* rows, uint32_t seq_len, uint32_t height,
                                    float* img, uint32_t t, uint32_t nt) {
  const uint32_t cells = seq_len * height;
  for (uint32_t k = t; k < cells; k += nt) {
    const uint32_t row = k / seq_len;
    store_f32_cell(img + 4 * static_cast<size_t>(k), rows[k - row * seq_len],
                   static_cast<int32_t>(row));
  }
}

// One tile of a long window (bars t0 .. t0+bars-1, rows in `rows[0 .. bars)`), every row:
// a bars-wide column band of the image, 64-bit indices.
OHLC_HD inline void write_tile_u8(const BarRows* rows, uint32_t bars, uint32_t t0,
                                  uint32_t seq_len, uint32_t height, uint32_t* img, uint32_t t,
                                  uint32_t nt) {
  const uint64_t cells = static_cast<uint64_t>(bars) * height;
  for (uint64_t k = t; k < cells; k += nt) {
    const uint64_t row = k / bars;
    const uint32_t j = static_cast<uint32_t>(k - row * bars);
    img[row * seq_len + t0 + j] = u8_word(rows[j], static_cast<int32_t>(row));
  }
}

OHLC_HD inline void write_tile_f32(const BarRows* rows, uint32_t bars, uint32_t t0,
                                   uint32_t seq_len, uint32_t height, float* img, uint32_t t,
                                   uint32_t nt) {
  const uint64_t cells = static_cast<uint64_t>(bars) * height;
  for (uint64_t k = t; k < cells; k += nt) {
    const uint64_t row = k / bars;
    const uint32_t j = static_cast<uint32_t>(k - row * bars);
    store_f32_cell(img + 4 * (row * seq_len + t0 + j), rows[j], static_cast<int32_t>(row));
  }
}

}  // namespace ohlc::cuda
