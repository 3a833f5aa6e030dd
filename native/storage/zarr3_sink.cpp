// Zarr (.zarr directory), format version 3, the default: a group whose arrays store their chunks
// through the sharding_indexed codec, so a store has a file per shard, not per chunk. An inner
// chunk is one image (per-image random access stays) or about 256 KiB of a row array's rows,
// compressed with the core "gzip" codec; an images shard holds image.storage.zarr_shard_images
// images, a row array's shard kRowChunksPerShard chunks (layout.cpp). Chunks arrive in order per
// array, so each array has at most one shard open, written front to back (zarr_shard.hpp). The
// store is built under a temporary directory name and renamed when complete; metadata documents
// (zarr.json) are written last, once the shapes are known. zarr-python 3, zarrita and
// tensorstore read it; zarr-python 2 does not (image.storage.zarr_format: 2 writes for it).
#include <memory>
#include <sstream>

#include "storage/fs_util.hpp"
#include "storage/sinks.hpp"
#include "storage/zarr_common.hpp"
#include "storage/zarr_shard.hpp"

namespace ohlc::storage {
namespace {

class Zarr3Sink final : public Sink {
 public:
  Zarr3Sink(const DatasetLayout& layout, const SinkPaths& paths) : layout_(layout), paths_(paths) {
    try {
      make_directories(paths_.temp_path);
      for (const ArraySpec& a : layout_.arrays) {
        if (a.name.empty()) continue;
        if (a.shard_rows == 0 || a.shard_rows % a.chunk_rows != 0)
          throw StorageError("array " + a.name + ": a shard must hold a whole number of chunks");
        make_directories(paths_.temp_path + "/" + a.name);
      }
    } catch (...) {
      discard();
      throw;
    }
  }

  ~Zarr3Sink() override { discard(); }

  void encode(ArrayId a, const uint8_t* raw, size_t bytes, EncodeScratch& scratch,
              std::vector<uint8_t>& out) const override {
    encode_gzip_chunk(layout_, a, raw, bytes, scratch, out);
  }

  void grow(uint64_t) override {}

  void write_chunk(ArrayId a, uint64_t index, uint64_t, const std::vector<uint8_t>& encoded, size_t,
                   uint32_t) override {
    const ArraySpec& spec = layout_.arrays[a];
    const uint64_t per_shard = spec.shard_rows / spec.chunk_rows;
    const uint64_t shard = index / per_shard;
    if (open_[a] && open_shard_[a] != shard) close_shard(a);
    if (!open_[a]) {
      // Default chunk key encoding, separator "/": c/<shard>/0/... (one 0 per row dimension).
      std::string dir = paths_.temp_path + "/" + spec.name + "/c";
      std::string key = std::to_string(shard);
      for (size_t d = 0; d < spec.row_shape.size(); ++d) {
        dir += "/" + key;
        key = "0";
      }
      make_directories(dir);
      open_[a] = std::make_unique<ShardFile>(dir + "/" + key, per_shard);
      open_shard_[a] = shard;
    }
    open_[a]->add(index % per_shard, encoded);
  }

  void finish(uint64_t rows, const DatasetMetadata& metadata) override {
    for (int a = 0; a < kArrayCount; ++a) {
      if (open_[a]) close_shard(static_cast<ArrayId>(a));
    }
    const std::string root = paths_.temp_path;
    write_text(root + "/zarr.json", "{\n  \"zarr_format\": 3,\n  \"node_type\": \"group\",\n  \"attributes\": " +
                                        metadata.json + "\n}\n");
    for (const ArraySpec& a : layout_.arrays) {
      if (!a.name.empty()) write_text(root + "/" + a.name + "/zarr.json", array_json(a, rows));
    }
    move_into_place(root, paths_.final_path, paths_.overwrite);
    done_ = true;
  }

  void discard() noexcept override {
    if (done_) return;
    done_ = true;
    for (auto& shard : open_) shard.reset();
    remove_quietly(paths_.temp_path);
  }

 private:
  void close_shard(ArrayId a) {
    open_[a]->finish();
    open_[a].reset();
  }

  std::string array_json(const ArraySpec& a, uint64_t rows) const {
    std::vector<uint64_t> shape = {rows}, shard = {a.shard_rows}, inner = {a.chunk_rows};
    shape.insert(shape.end(), a.row_shape.begin(), a.row_shape.end());
    shard.insert(shard.end(), a.row_shape.begin(), a.row_shape.end());
    inner.insert(inner.end(), a.row_shape.begin(), a.row_shape.end());
    const bool is_float = a.type == ElemType::kF32 || a.type == ElemType::kF64;
    // Single-byte types have no byte order to name.
    const std::string bytes = elem_size(a.type) == 1
                                  ? R"({"name": "bytes"})"
                                  : R"({"name": "bytes", "configuration": {"endian": "little"}})";
    std::string codecs = bytes;
    if (layout_.compression.level != Compression::kNone)
      codecs += R"(, {"name": "gzip", "configuration": {"level": )" + std::to_string(zarr_level_hint(layout_.compression.level)) + "}}";
    std::ostringstream z;
    z << "{\n  \"zarr_format\": 3,\n  \"node_type\": \"array\",\n  \"shape\": " << json_list(shape)
      << ",\n  \"data_type\": \"" << elem_type_name(a.type)
      << "\",\n  \"chunk_grid\": {\"name\": \"regular\", \"configuration\": {\"chunk_shape\": " << json_list(shard)
      << "}},\n  \"chunk_key_encoding\": {\"name\": \"default\", \"configuration\": {\"separator\": \"/\"}},\n"
      << "  \"fill_value\": " << (is_float ? "0.0" : "0") << ",\n"
      << "  \"codecs\": [{\"name\": \"sharding_indexed\", \"configuration\": {\n"
      << "    \"chunk_shape\": " << json_list(inner) << ",\n"
      << "    \"codecs\": [" << codecs << "],\n"
      << "    \"index_codecs\": [{\"name\": \"bytes\", \"configuration\": {\"endian\": \"little\"}}, {\"name\": \"crc32c\"}],\n"
      << "    \"index_location\": \"end\"\n  }}],\n"
      << "  \"attributes\": {}\n}\n";
    return z.str();
  }

  DatasetLayout layout_;
  SinkPaths paths_;
  std::unique_ptr<ShardFile> open_[kArrayCount];
  uint64_t open_shard_[kArrayCount] = {};
  bool done_ = false;
};

}  // namespace

std::unique_ptr<Sink> make_zarr3_sink(const DatasetLayout& layout, const SinkPaths& paths) {
  return std::make_unique<Zarr3Sink>(layout, paths);
}

}  // namespace ohlc::storage
