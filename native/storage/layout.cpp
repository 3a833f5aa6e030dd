#include "storage/layout.hpp"

#include <algorithm>

namespace ohlc::storage {

const char* const kArrayNames[kArrayCount] = {"images", "sequences", "timestamps", "labels", "returns",
                                              "symbol_index", "split", "volumes", "ma"};

const char* numpy_descr(ElemType t) {
  switch (t) {
    case ElemType::kU8: return "|u1";
    case ElemType::kI8: return "|i1";
    case ElemType::kU16: return "<u2";
    case ElemType::kI64: return "<i8";
    case ElemType::kF32: return "<f4";
    case ElemType::kF64: return "<f8";
  }
  return "|u1";
}

namespace {

uint64_t rows_per_chunk(size_t row_bytes) {
  constexpr size_t kTarget = 256 * 1024;
  uint64_t rows = 1;
  while (rows < 65536 && (rows * 2) * row_bytes <= kTarget) rows *= 2;
  return rows;
}

}  // namespace

DatasetLayout make_layout(Format format, ImageShape shape, PixelType pixel, uint32_t horizons,
                          Compression compression, int jpeg_quality, OptionalArrays optional,
                          ZarrOptions zarr) {
  DatasetLayout l;
  l.format = format;
  l.shape = shape;
  l.pixel = pixel;
  l.horizons = horizons;
  l.compression = compression;
  l.jpeg_quality = jpeg_quality;
  l.arrays.resize(kArrayCount);
  l.arrays[kImages] = {kImages, "images", pixel == PixelType::U8 ? ElemType::kU8 : ElemType::kF32,
                       {shape.height, shape.width()}, 1};
  l.arrays[kSequences] = {kSequences, "sequences", ElemType::kF64, {shape.seq_len, 4}, 1};
  l.arrays[kTimestamps] = {kTimestamps, "timestamps", ElemType::kI64, {}, 1};
  if (horizons > 0) {
    l.arrays[kLabels] = {kLabels, "labels", ElemType::kI8, {horizons}, 1};
    l.arrays[kReturns] = {kReturns, "returns", ElemType::kF64, {horizons}, 1};
  } else {
    l.arrays[kLabels] = {kLabels, "", ElemType::kI8, {}, 1};
    l.arrays[kReturns] = {kReturns, "", ElemType::kF64, {}, 1};
  }
  // An absent array keeps its slot with an empty name.
  auto optional_array = [&](ArrayId id, bool present, ElemType type, std::vector<uint64_t> row_shape) {
    l.arrays[id] = {id, present ? kArrayNames[id] : "", type, present ? std::move(row_shape) : std::vector<uint64_t>{}, 1};
  };
  optional_array(kSymbolIndex, optional.symbol_index, ElemType::kU16, {});
  optional_array(kSplit, optional.split, ElemType::kU8, {});
  optional_array(kVolumes, optional.volumes, ElemType::kF64, {shape.seq_len});
  optional_array(kMa, optional.ma, ElemType::kF64, {shape.seq_len});
  for (int a = kSequences; a < kArrayCount; ++a) {
    if (!l.arrays[a].name.empty()) l.arrays[a].chunk_rows = rows_per_chunk(l.arrays[a].row_bytes());
  }
  l.zarr_format = zarr.format;
  if (format == Format::kZarr && zarr.format == 3) {
    l.arrays[kImages].shard_rows = zarr.shard_images;
    for (int a = kSequences; a < kArrayCount; ++a) l.arrays[a].shard_rows = l.arrays[a].chunk_rows * kRowChunksPerShard;
  }
  return l;
}

}  // namespace ohlc::storage
