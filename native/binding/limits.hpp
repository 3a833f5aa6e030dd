// The limits the binding checks against: a mirror of ts/limits.ts, where each is stated and
// explained (test/limits.test.ts reads both files and fails when a number differs). The TS layer
// checks first and gives users the real messages; these keep native code from trusting a value.
#pragma once

#include <cstdint>

namespace ohlc::binding::limits {

constexpr int64_t kMaxDimension = int64_t{1} << 24;      // MAX_DIMENSION
constexpr int64_t kMinSeqLen = 1;                         // MIN_SEQ_LEN
constexpr int64_t kMinHeight = 2;                         // MIN_HEIGHT
constexpr int64_t kMaxImagePixels = int64_t{1} << 34;     // MAX_IMAGE_PIXELS
constexpr int64_t kMaxThreads = 4096;                     // MAX_THREADS
constexpr int64_t kMaxHorizons = 4096;                    // MAX_HORIZONS
constexpr int64_t kMaxHorizon = 1000000;                  // MAX_HORIZON
constexpr int64_t kMinQuality = 1;                        // MIN_QUALITY
constexpr int64_t kMaxQuality = 100;                      // MAX_QUALITY
constexpr int64_t kMinDeflateLevel = 1;                   // MIN_DEFLATE_LEVEL
constexpr int64_t kMaxDeflateLevel = 12;                  // MAX_DEFLATE_LEVEL
constexpr int64_t kMinJkxSeqLen = 2;                      // MIN_JKX_SEQ_LEN
constexpr int64_t kMaxJkxSeqLen = int64_t{1} << 20;       // MAX_JKX_SEQ_LEN
constexpr int64_t kMaxMa = int64_t{1} << 20;              // MAX_MA
constexpr int64_t kMinJkxVolumeHeight = 5;                // MIN_JKX_VOLUME_HEIGHT
constexpr int64_t kMaxZarrShardImages = int64_t{1} << 20; // MAX_ZARR_SHARD_IMAGES
constexpr int64_t kMaxSafeInteger = 9007199254740991;     // MAX_SAFE_INTEGER

}  // namespace ohlc::binding::limits
