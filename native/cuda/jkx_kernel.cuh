// GPU kernel of the `jkx` layout: the same pixels as kernels/raster_jkx.cpp (docs/IMAGE-JKX.md),
// bit for bit. Header only, to be included by one .cu file (the host side, which owns streams,
// buffers and batching, is not part of this header).
//
// One thread block (kJkxBlock threads) per window, every step from kernels/jkx_math.hpp and
// cuda/jkx_layout.hpp with (threadIdx.x, blockDim.x):
//   1. the block zero-fills the image (background 0: zero bytes for uint8 and float32) with
//      16-byte streaming stores, and checks every input the window uses; the smallest
//      jkx_first_bad key (shared atomicMin) names the first unusable input exactly as the CPU's
//      serial walk does;
//   2. jkx_scale (scaled closes, opens, highs, lows into the workspace), a barrier, jkx_averages
//      (each MA value summed left to right by one thread), a block min/max of the range (exact,
//      so independent of the order), jkx_settle on every thread;
//   3. jkx_rows, a barrier, then each thread draws its bars' ink with jkx_draw_bar. Pixels of
//      neighbouring bars' segments may coincide; they are written with the same value.
// A window that cannot be drawn keeps the background, gets NaN MA values and its JkxStatus; the
// lowest such window (window_offset + blockIdx.x) is kept with atomicMin, so a host reports the
// same window rasterize_jkx_cpu does (and finds the candle, field and value with
// jkx_window_geometry on the host, as raster_cuda.cu does).
//
// Workspace (scratch doubles and bars): dynamic shared memory when jkx_workspace_bytes(shape)
// fits kJkxMaxSharedWorkspace (L = 60 with k = 60 needs ~3.9 KiB), else `workspace` must point
// to jkx_workspace_bytes(shape) bytes per window of the launch in global memory.
//
// Compile with --fmad=false (the CMake target does), like every other kernel of this project.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "cuda/jkx_layout.hpp"
#include "kernels/jkx_math.hpp"
#include "kernels/raster.hpp"  // PixelType

namespace ohlc::cuda {

struct JkxKernelArgs {
  JkxColumns columns;      // device pointers
  const int64_t* starts;   // per launch window; nullptr: start = first + w * stride
  int64_t first;
  int64_t stride;
  const uint8_t* ma_ok;    // per launch window, nonzero: history there (nullptr: all)
  JkxShape shape;
  void* out;               // this launch's images, contiguous, from a 16-byte aligned base
  double* ma_values;       // nullptr, or L per launch window
  JkxStatus* statuses;     // nullptr, or one per launch window
  unsigned long long* first_bad;  // nullptr, or min of (window_offset + w) over windows not drawn
  uint64_t window_offset;  // call-wide index of this launch's window 0
  void* workspace;         // see above; nullptr when the shared workspace fits
};

namespace jkx_detail {

__device__ inline JkxRange warp_merge(JkxRange r) {
  for (int o = 16; o > 0; o >>= 1) {
    JkxRange other;
    other.lo = __shfl_down_sync(0xffffffffu, r.lo, o);
    other.hi = __shfl_down_sync(0xffffffffu, r.hi, o);
    other.vmax = __shfl_down_sync(0xffffffffu, r.vmax, o);
    r = jkx_merge(r, other);
  }
  return r;
}

}  // namespace jkx_detail

template <typename Pixel>
__global__ void __launch_bounds__(kJkxBlock) jkx_raster_kernel(JkxKernelArgs a) {
  extern __shared__ __align__(16) unsigned char s_workspace[];
  __shared__ unsigned long long s_bad;
  __shared__ JkxRange s_range[kJkxBlock / 32];

  const uint32_t w = blockIdx.x;
  const uint32_t t = threadIdx.x;
  const uint32_t nt = blockDim.x;
  const JkxShape shape = a.shape;
  const int64_t start = a.starts ? a.starts[w] : a.first + static_cast<int64_t>(w) * a.stride;
  const bool history_ok = a.ma_ok ? a.ma_ok[w] != 0 : true;
  void* ws = a.workspace ? static_cast<void*>(static_cast<unsigned char*>(a.workspace) +
                                              static_cast<size_t>(w) * jkx_workspace_bytes(shape))
                         : static_cast<void*>(s_workspace);
  JkxWork work = jkx_work(a.columns, start, shape, history_ok, static_cast<double*>(ws),
                          jkx_workspace_bars(ws, shape));
  const size_t image_pixels = shape.pixels();
  Pixel* image = static_cast<Pixel*>(a.out) + static_cast<size_t>(w) * image_pixels;
  double* ma_values = a.ma_values ? a.ma_values + static_cast<size_t>(w) * shape.seq_len : nullptr;

  // 1. Background and validation.
  if (t == 0) s_bad = kJkxNoBad;
  jkx_zero_fill(reinterpret_cast<uint8_t*>(image), image_pixels * sizeof(Pixel), t, nt);
  const uint64_t key = jkx_first_bad(work, t, nt);
  __syncthreads();  // s_bad is initialised
  if (key != kJkxNoBad) atomicMin(&s_bad, static_cast<unsigned long long>(key));
  __syncthreads();
  JkxStatus status = JkxStatus::kOk;
  const unsigned long long bad = s_bad;
  if (bad != kJkxNoBad) {
    status = jkx_bad_field(bad) == kVolumeField ? JkxStatus::kInvalidVolume
                                                : JkxStatus::kInvalidPrice;
  } else {
    // 2. Scale, average, range.
    JkxRange r = jkx_scale(work, t, nt);
    __syncthreads();  // every scaled close is in the workspace
    r = jkx_merge(r, jkx_averages(work, t, nt));
    r = jkx_detail::warp_merge(r);
    if ((t & 31u) == 0) s_range[t >> 5] = r;
    __syncthreads();
    r = s_range[0];
    for (uint32_t k = 1; k < (nt + 31) / 32; ++k) r = jkx_merge(r, s_range[k]);
    status = jkx_settle(work, r);  // the same inputs on every thread: a uniform branch
  }
  if (status != JkxStatus::kOk) {
    jkx_clear_ma(ma_values, shape.seq_len, t, nt);
    if (t == 0) {
      if (a.statuses) a.statuses[w] = status;
      if (a.first_bad) atomicMin(a.first_bad, static_cast<unsigned long long>(a.window_offset + w));
    }
    return;
  }

  // 3. Rows, then ink.
  jkx_rows(work, t, nt);
  __syncthreads();  // every bar's rows are in place (a segment reads the next bar's MA row)
  jkx_draw_bars<Pixel>(work, image, sizeof(Pixel) == 1 ? Pixel(255) : Pixel(1), ma_values, t, nt);
  if (t == 0 && a.statuses) a.statuses[w] = JkxStatus::kOk;
}

// Launches `windows` blocks on `stream`; cudaErrorInvalidValue when a global workspace is needed
// and missing, or the launch is too large for one grid.
inline cudaError_t launch_jkx(const JkxKernelArgs& a, size_t windows, PixelType type,
                              cudaStream_t stream) {
  if (windows == 0) return cudaSuccess;
  if (windows > 0x7fffffffu) return cudaErrorInvalidValue;
  const bool global = jkx_needs_global_workspace(a.shape);
  if (global && !a.workspace) return cudaErrorInvalidValue;
  const size_t shared = global ? 0 : jkx_workspace_bytes(a.shape);
  const dim3 grid(static_cast<unsigned>(windows));
  if (type == PixelType::U8) jkx_raster_kernel<uint8_t><<<grid, kJkxBlock, shared, stream>>>(a);
  else jkx_raster_kernel<float><<<grid, kJkxBlock, shared, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace ohlc::cuda
