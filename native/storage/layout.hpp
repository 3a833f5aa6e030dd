// The arrays of a dataset (docs/DATASET.md) and how each is chunked, shared by every format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/raster.hpp"

namespace ohlc::storage {

enum class Format : int32_t { kHdf5 = 0, kNpz = 1, kZarr = 2, kPng = 3, kJpeg = 4 };

enum class ElemType : int32_t { kU8, kI8, kU16, kI64, kF32, kF64 };

// The element type's name as NumPy and Zarr format 3 spell it ("uint8", ..., "float64").
inline const char* elem_type_name(ElemType t) {
  switch (t) {
    case ElemType::kU8: return "uint8";
    case ElemType::kI8: return "int8";
    case ElemType::kU16: return "uint16";
    case ElemType::kI64: return "int64";
    case ElemType::kF32: return "float32";
    case ElemType::kF64: return "float64";
  }
  return "?";
}

inline size_t elem_size(ElemType t) {
  switch (t) {
    case ElemType::kU8:
    case ElemType::kI8: return 1;
    case ElemType::kU16: return 2;
    case ElemType::kF32: return 4;
    case ElemType::kI64:
    case ElemType::kF64: return 8;
  }
  return 1;
}

// numpy's dtype string for a little-endian element type.
const char* numpy_descr(ElemType t);

enum ArrayId : int32_t {
  kImages = 0,
  kSequences = 1,
  kTimestamps = 2,
  kLabels = 3,
  kReturns = 4,
  kSymbolIndex = 5,
  kSplit = 6,
  kVolumes = 7,
  kMa = 8,
};
constexpr int kArrayCount = 9;

// Every array's name, by ArrayId (docs/DATASET.md); readers look for these.
extern const char* const kArrayNames[kArrayCount];

// Which of the optional arrays a dataset has (labels and returns come with horizons > 0).
struct OptionalArrays {
  bool symbol_index = false;  // [N] u16: datasets of several symbols
  bool split = false;         // [N] u8: 0 train, 1 validation, 2 test
  bool volumes = false;       // [N, L] f64: layouts that draw volume
  bool ma = false;            // [N, L] f64: the moving-average values a layout drew
};

struct ArraySpec {
  ArrayId id;
  std::string name;
  ElemType type;
  std::vector<uint64_t> row_shape;  // shape of one row (everything after N)
  uint64_t chunk_rows = 1;          // rows per stored chunk
  // Zarr format 3: rows per shard file (a whole number of chunks); 0 where each chunk is its own
  // file (every other format, and Zarr format 2).
  uint64_t shard_rows = 0;
  size_t row_elems() const {
    size_t n = 1;
    for (uint64_t d : row_shape) n *= static_cast<size_t>(d);
    return n;
  }
  size_t row_bytes() const { return row_elems() * elem_size(type); }
};

// Compression: kFast is the row-delta deflate encoder (kernels/deflate), kNone stores raw bytes,
// levels 1..12 go through libdeflate (zlib-compatible output either way).
struct Compression {
  static constexpr int kFast = -1;
  static constexpr int kNone = 0;
  int level = kFast;
};

// Zarr's own choices: the format version (2: one file per chunk; 3: chunks gathered into shard
// files by the sharding_indexed codec) and the images per shard file, which the caller always
// gives (its default is DEFAULT_ZARR_SHARD_IMAGES in ts/limits.ts; 0 is refused by the sink).
struct ZarrOptions {
  int format = 3;
  uint64_t shard_images = 0;
};

// A row array's shard holds this many of its chunks (chunks are about 256 KiB raw, so a shard
// is at most 64 MiB raw): the small arrays add a few files, not one per chunk.
constexpr uint64_t kRowChunksPerShard = 256;

struct DatasetLayout {
  Format format = Format::kHdf5;
  int zarr_format = 3;  // with Format::kZarr
  ImageShape shape;
  PixelType pixel = PixelType::U8;
  uint32_t horizons = 0;  // K; labels/returns exist only when K > 0
  Compression compression;
  int jpeg_quality = 95;
  // The stored uint8 value of white: 1 for IMAGE.md's 0/1 images, 255 for the jkx layout's
  // 0/255 (pictures are written and read back through it).
  uint8_t u8_white = 1;
  std::vector<ArraySpec> arrays;  // indexed by ArrayId for the arrays present

  size_t image_bytes() const { return shape.pixels() * pixel_bytes(pixel); }
  bool has(ArrayId id) const { return id < static_cast<int>(arrays.size()) && !arrays[id].name.empty(); }
};

// Builds the array list: images [N,H,W], sequences [N,L,4] f64, timestamps [N] i64, and with
// horizons, labels [N,K] i8 and returns [N,K] f64. Row arrays are chunked at about 256 KiB.
// Zarr format 3 gathers chunks into shards: `zarr.shard_images` images per shard file, and
// kRowChunksPerShard chunks per shard file of a row array.
DatasetLayout make_layout(Format format, ImageShape shape, PixelType pixel, uint32_t horizons,
                          Compression compression, int jpeg_quality, OptionalArrays optional = {},
                          ZarrOptions zarr = {});

// One metadata attribute as the TS layer hands it over (HDF5 needs types; other formats use JSON).
struct Attribute {
  enum Kind { kInt, kFloat, kString, kIntList, kFloatList, kBool, kStringList };
  std::string name;
  Kind kind = kString;
  int64_t int_value = 0;
  double float_value = 0;
  std::string string_value;
  std::vector<int64_t> int_list;
  std::vector<double> float_list;
  std::vector<std::string> string_list;
};

struct DatasetMetadata {
  std::vector<Attribute> attributes;
  std::string json;  // the same metadata as one JSON object
};

}  // namespace ohlc::storage
