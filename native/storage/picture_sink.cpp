// Picture folders (png, jpeg): <stem>/000000000.png, ... one file per image (white 255, black 0),
// plus arrays.npz (sequences, timestamps, labels, returns, metadata) and metadata.json, so labels
// and prices are never lost. PNG is 1-bit grayscale and lossless; JPEG is 8-bit and lossy. The
// folder is built under a temporary name and renamed when complete.
#include <cstdio>
#include <string>
#include <memory>

#include "kernels/jpeg_codec.hpp"
#include "kernels/png_encode.hpp"
#include "storage/fs_util.hpp"
#include "storage/sinks.hpp"

namespace ohlc::storage {
namespace {

class PictureSink final : public Sink {
 public:
  PictureSink(const DatasetLayout& layout, const SinkPaths& paths)
      : layout_(layout), paths_(paths), png_(layout.format == Format::kPng) {
    try {
      make_directories(paths_.temp_path);
      DatasetLayout arrays = layout_;
      arrays.format = Format::kNpz;
      arrays.arrays[kImages].name.clear();
      SinkPaths inner;
      inner.final_path = paths_.temp_path + "/arrays.npz";
      inner.temp_path = paths_.temp_path + "/.arrays.npz.partial";
      arrays_ = make_npz_sink(arrays, inner);
    } catch (...) {
      discard();
      throw;
    }
  }

  ~PictureSink() override { discard(); }

  bool pads_edge_chunks() const override { return false; }
  bool needs_crc() const override { return true; }

  void encode(ArrayId a, const uint8_t* raw, size_t bytes, EncodeScratch& scratch,
              std::vector<uint8_t>& out) const override {
    if (a != kImages) {
      arrays_->encode(a, raw, bytes, scratch, out);
      return;
    }
    const uint32_t h = layout_.shape.height, w = layout_.shape.width();
    if (layout_.pixel == PixelType::U8 && layout_.u8_white != 1) {
      // Pictures are black and white whatever the stored values: map them onto 0/1 first.
      scratch.binary.resize(bytes);
      for (size_t i = 0; i < bytes; ++i) {
        if (raw[i] != 0 && raw[i] != layout_.u8_white)
          throw StorageError("pictures need two-valued images: an image has a pixel that is neither 0 nor " + std::to_string(layout_.u8_white));
        scratch.binary[i] = raw[i] != 0;
      }
      raw = scratch.binary.data();
    }
    if (png_) {
      const int level = layout_.compression.level;
      libdeflate_compressor* compressor =
          level == Compression::kFast ? nullptr : scratch.compressor(level == Compression::kNone ? 1 : level);
      // A 1-bit row of 3-pixel (jkx) bars repeats every 3 bytes; of 4-pixel bars, every byte.
      scratch.png.rows.set_period(layout_.shape.bar_width == 3 ? 3 : 4);
      if (!png::encode_binary(raw, layout_.pixel, h, w, compressor, scratch.png, out))
        throw StorageError("png pictures need 0/1 images: an image has a pixel that is neither 0 nor 1");
    } else {
      std::string error;
      if (!jpeg::encode_binary(raw, layout_.pixel, h, w, layout_.jpeg_quality, scratch.buffer, out, &error))
        throw StorageError("jpeg: " + error);
    }
  }

  void grow(uint64_t rows) override { arrays_->grow(rows); }

  void write_chunk(ArrayId a, uint64_t index, uint64_t rows, const std::vector<uint8_t>& encoded,
                   size_t raw_bytes, uint32_t raw_crc) override {
    if (a != kImages) {
      arrays_->write_chunk(a, index, rows, encoded, raw_bytes, raw_crc);
      return;
    }
    char name[32];
    std::snprintf(name, sizeof name, "/%09llu%s", static_cast<unsigned long long>(index), png_ ? ".png" : ".jpg");
    File f = File::create(paths_.temp_path + name);
    f.write(encoded.data(), encoded.size());
    f.close();
  }

  void finish(uint64_t rows, const DatasetMetadata& metadata) override {
    arrays_->finish(rows, metadata);
    File f = File::create(paths_.temp_path + "/metadata.json");
    f.write(metadata.json.data(), metadata.json.size());
    f.write("\n", 1);
    f.close();
    move_into_place(paths_.temp_path, paths_.final_path, paths_.overwrite);
    done_ = true;
  }

  void discard() noexcept override {
    if (done_) return;
    done_ = true;
    if (arrays_) arrays_->discard();
    remove_quietly(paths_.temp_path);
  }

 private:
  DatasetLayout layout_;
  SinkPaths paths_;
  bool png_;
  std::unique_ptr<Sink> arrays_;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<Sink> make_picture_sink(const DatasetLayout& layout, const SinkPaths& paths) {
  return std::make_unique<PictureSink>(layout, paths);
}

}  // namespace ohlc::storage
