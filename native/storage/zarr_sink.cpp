// Zarr (.zarr directory), format version 2 (image.storage.zarr_format: 2): a group whose arrays are chunked like the HDF5 file
// (one image per chunk) and compressed with the "zlib" codec, which every zarr-python (2.x and
// 3.x), zarrita and tensorstore reads. The store is built under a temporary directory name and
// renamed when complete; metadata documents are written last, once the shapes are known.
#include <cstdio>
#include <memory>
#include <sstream>

#include "storage/fs_util.hpp"
#include "storage/sinks.hpp"
#include "storage/zarr_common.hpp"

namespace ohlc::storage {
namespace {

class ZarrSink final : public Sink {
 public:
  ZarrSink(const DatasetLayout& layout, const SinkPaths& paths) : layout_(layout), paths_(paths) {
    try {
      make_directories(paths_.temp_path);
      for (const ArraySpec& a : layout_.arrays) {
        if (!a.name.empty()) make_directories(paths_.temp_path + "/" + a.name);
      }
    } catch (...) {
      discard();
      throw;
    }
  }

  ~ZarrSink() override { discard(); }

  void encode(ArrayId a, const uint8_t* raw, size_t bytes, EncodeScratch& scratch,
              std::vector<uint8_t>& out) const override {
    encode_chunk(layout_, a, raw, bytes, scratch, out);
  }

  void grow(uint64_t) override {}

  void write_chunk(ArrayId a, uint64_t index, uint64_t, const std::vector<uint8_t>& encoded, size_t,
                   uint32_t) override {
    const ArraySpec& spec = layout_.arrays[a];
    // Chunk key: the chunk's grid position in every dimension, joined by '.'.
    std::string key = paths_.temp_path + "/" + spec.name + "/" + std::to_string(index);
    for (size_t d = 0; d < spec.row_shape.size(); ++d) key += ".0";
    File f = File::create(key);
    f.write(encoded.data(), encoded.size());
    f.close();
  }

  void finish(uint64_t rows, const DatasetMetadata& metadata) override {
    const std::string root = paths_.temp_path;
    write_text(root + "/.zgroup", "{\n    \"zarr_format\": 2\n}\n");
    write_text(root + "/.zattrs", metadata.json + "\n");
    for (const ArraySpec& a : layout_.arrays) {
      if (a.name.empty()) continue;
      std::vector<uint64_t> shape = {rows}, chunks = {a.chunk_rows};
      shape.insert(shape.end(), a.row_shape.begin(), a.row_shape.end());
      chunks.insert(chunks.end(), a.row_shape.begin(), a.row_shape.end());
      const bool is_float = a.type == ElemType::kF32 || a.type == ElemType::kF64;
      std::ostringstream z;
      z << "{\n    \"chunks\": " << json_list(chunks) << ",\n    \"compressor\": ";
      if (layout_.compression.level == Compression::kNone) {
        z << "null";
      } else {
        z << "{\n        \"id\": \"zlib\",\n        \"level\": " << zarr_level_hint(layout_.compression.level) << "\n    }";
      }
      z << ",\n    \"dimension_separator\": \".\",\n    \"dtype\": \"" << numpy_descr(a.type)
        << "\",\n    \"fill_value\": " << (is_float ? "0.0" : "0")
        << ",\n    \"filters\": null,\n    \"order\": \"C\",\n    \"shape\": " << json_list(shape)
        << ",\n    \"zarr_format\": 2\n}\n";
      write_text(root + "/" + a.name + "/.zarray", z.str());
    }
    move_into_place(root, paths_.final_path, paths_.overwrite);
    done_ = true;
  }

  void discard() noexcept override {
    if (done_) return;
    done_ = true;
    remove_quietly(paths_.temp_path);
  }

 private:
  DatasetLayout layout_;
  SinkPaths paths_;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<Sink> make_zarr2_sink(const DatasetLayout& layout, const SinkPaths& paths) {
  return std::make_unique<ZarrSink>(layout, paths);
}

}  // namespace ohlc::storage
