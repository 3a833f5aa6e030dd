// The per-thread parts of the jkx CUDA kernel (cuda/jkx_kernel.cuh) that are not the pixel rule
// itself, as plain __host__ __device__ code: the kernel calls them with (threadIdx.x,
// blockDim.x), and jkx_check runs the very same functions on the CPU for every (t, nt), with the
// rule's phases from kernels/jkx_math.hpp in the kernel's order, to prove the index math and the
// phase order give the CPU's images without needing a GPU.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cuda/raster_layout.hpp"  // store_u32x4 (streaming store; host: counts misalignment)
#include "kernels/jkx_math.hpp"

namespace ohlc::cuda {

constexpr uint32_t kJkxBlock = 128;  // threads per window

// Dynamic shared memory (or global workspace) of one window: the scratch doubles, then L bars.
OHLC_HD inline size_t jkx_workspace_bytes(JkxShape s) {
  const size_t bars = static_cast<size_t>(s.seq_len) * sizeof(JkxBar);
  return jkx_scratch_doubles(s) * sizeof(double) + (bars + 15) / 16 * 16;
}
OHLC_HD inline JkxBar* jkx_workspace_bars(void* ws, JkxShape s) {
  return reinterpret_cast<JkxBar*>(static_cast<double*>(ws) + jkx_scratch_doubles(s));
}

// Windows whose workspace does not fit this much shared memory use a global workspace
// (JkxKernelArgs::workspace); 64x60-class images need about 1 KiB.
constexpr size_t kJkxMaxSharedWorkspace = size_t{40} << 10;
OHLC_HD inline bool jkx_needs_global_workspace(JkxShape s) {
  return jkx_workspace_bytes(s) > kJkxMaxSharedWorkspace;
}

// Background of one image: all-zero bytes, for uint8 and float32 alike. `bytes` is any address
// (uint8 images of a batch start at any offset); bytes before the first 16-byte boundary and
// after the last one are stored singly, everything between in 16-byte stores.
OHLC_HD inline void jkx_zero_fill(uint8_t* bytes, size_t n, uint32_t t, uint32_t nt) {
  const size_t mis = static_cast<size_t>(reinterpret_cast<uintptr_t>(bytes) & 15u);
  size_t head = mis ? 16 - mis : 0;
  if (head > n) head = n;
  const size_t quads = (n - head) / 16;
  for (size_t i = t; i < head; i += nt) bytes[i] = 0;
  uint32_t* body = reinterpret_cast<uint32_t*>(bytes + head);
  for (size_t q = t; q < quads; q += nt) store_u32x4(body + 4 * q, 0u, 0u, 0u, 0u);
  for (size_t i = head + 16 * quads + t; i < n; i += nt) bytes[i] = 0;
}

// After the rows are in place (all threads): thread t draws bars t, t + nt, ... and copies out
// their MA values (NaN without the line).
template <typename T>
OHLC_HD inline void jkx_draw_bars(const JkxWork& w, T* image, T ink, double* ma_values,
                                  uint32_t t, uint32_t nt) {
  const JkxInk<T> writer{image, w.shape.width(), static_cast<int32_t>(w.shape.price_rows()),
                         static_cast<int32_t>(w.shape.height), ink};
  for (uint32_t i = t; i < w.shape.seq_len; i += nt) {
    jkx_draw_bar(w.bars, i, w.shape, w.ma_drawn, writer);
    if (ma_values) ma_values[i] = w.s.ma[i];
  }
}

// A window not drawn: its MA values are NaN (its image stays background).
OHLC_HD inline void jkx_clear_ma(double* ma_values, uint32_t len, uint32_t t, uint32_t nt) {
  if (!ma_values) return;
  for (uint32_t i = t; i < len; i += nt) ma_values[i] = static_cast<double>(NAN);
}

}  // namespace ohlc::cuda
