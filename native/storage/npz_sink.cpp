// NPZ (.npz): a ZIP of .npy members that numpy.load opens without pickle. Each member is one
// deflate stream assembled from independently encoded pieces (every piece ends byte-aligned and
// non-final), so images and chunks compress on all cores and simply concatenate.
//
// The images member streams straight into the archive behind a reserved local header and a
// reserved .npy header (the row count is only known at the end; both are patched in place).
// The other arrays stream into temporary files and are copied in when the archive is finished.
#include <cstring>
#include <memory>

#include "storage/fs_util.hpp"
#include "storage/npy.hpp"
#include "storage/sinks.hpp"
#include "storage/zip.hpp"

namespace ohlc::storage {
namespace {

// Picture folders keep their arrays in an NPZ without images (see picture_sink.cpp).

// Room kept for the images' .npy header: enough for any shape of up to three 20-digit numbers.
using npy::kImagesHeaderBytes;

struct Member {
  std::string name;        // "images.npy"
  std::string descr;       // numpy dtype
  std::vector<uint64_t> row_shape;
  std::string temp_path;   // empty for the images member (written in the archive)
  File stream;             // the deflate pieces
  uint64_t raw_bytes = 0;  // of array data (header excluded)
  uint64_t deflated = 0;
  uint32_t crc = 0;        // of array data
};

// The .npy header enters its member's deflate stream as a non-final stored block.
std::vector<uint8_t> stored_block(const std::string& data) {
  std::vector<uint8_t> out;
  append_stored_blocks(reinterpret_cast<const uint8_t*>(data.data()), data.size(), out);
  return out;
}

class NpzSink final : public Sink {
 public:
  NpzSink(const DatasetLayout& layout, const SinkPaths& paths) : layout_(layout), paths_(paths) {
    try {
      archive_ = File::create(paths_.temp_path);
      for (const ArraySpec& a : layout_.arrays) {
        if (a.name.empty()) continue;
        Member& m = members_[a.id];
        m.name = a.name + ".npy";
        m.descr = numpy_descr(a.type);
        m.row_shape = a.row_shape;
        if (a.id != kImages) {
          m.temp_path = paths_.temp_path + "." + a.name;
          m.stream = File::create(m.temp_path);
        }
      }
      if (layout_.has(kImages) && !layout_.arrays[kImages].name.empty()) {
        // Reserve the images member's local header and stored .npy header block.
        images_header_at_ = zip::local_header_size(members_[kImages].name, true);
        const std::vector<uint8_t> zeros(images_header_at_ + 5 + kImagesHeaderBytes, 0);
        archive_.write(zeros.data(), zeros.size());
      }
    } catch (...) {
      discard();
      throw;
    }
  }

  ~NpzSink() override { discard(); }

  bool pads_edge_chunks() const override { return false; }
  bool needs_crc() const override { return true; }
  // The images member is one deflate stream of pieces, as encode() makes them at the fast level.
  ImageStream image_stream() const override {
    return layout_.compression.level == Compression::kFast ? ImageStream::kDeflatePiece : ImageStream::kNone;
  }

  void encode(ArrayId a, const uint8_t* raw, size_t bytes, EncodeScratch& scratch,
              std::vector<uint8_t>& out) const override {
    const int level = layout_.compression.level;
    if (a == kImages) {
      encode_deflate_piece(raw, bytes, layout_.shape.width() * pixel_bytes(layout_.pixel), level, scratch, out);
    } else {
      encode_deflate_piece(raw, bytes, layout_.arrays[a].row_bytes(), level == Compression::kFast ? 1 : level,
                           scratch, out);
    }
  }

  void grow(uint64_t) override {}

  void write_chunk(ArrayId a, uint64_t, uint64_t, const std::vector<uint8_t>& encoded,
                   size_t raw_bytes, uint32_t raw_crc) override {
    Member& m = members_[a];
    File& f = a == kImages ? archive_ : m.stream;
    f.write(encoded.data(), encoded.size());
    m.crc = crc32_concat(m.crc, raw_crc, raw_bytes);
    m.raw_bytes += raw_bytes;
    m.deflated += encoded.size();
  }

  void finish(uint64_t rows, const DatasetMetadata& metadata) override {
    const uint32_t now = zip::dos_time_now();
    std::vector<zip::Entry> entries;
    const std::vector<uint8_t>& end = deflate_terminator();

    // 1. Complete the images member in place.
    if (!members_[kImages].name.empty()) {
      Member& m = members_[kImages];
      archive_.write(end.data(), end.size());
      std::vector<uint64_t> shape = {rows};
      shape.insert(shape.end(), m.row_shape.begin(), m.row_shape.end());
      const std::string header = npy::header(m.descr, shape, kImagesHeaderBytes);
      if (header.size() != kImagesHeaderBytes) throw StorageError("images .npy header does not fit");
      zip::Entry e = entry_for(m, header, 5 + header.size() + m.deflated + end.size());
      e.header_offset = 0;
      e.zip64_local = true;
      const std::vector<uint8_t> block = stored_block(header);
      archive_.write_at(images_header_at_, block.data(), block.size());
      const std::vector<uint8_t> local = zip::local_header(e, now);
      archive_.write_at(0, local.data(), local.size());
      entries.push_back(e);
    }
    uint64_t offset = archive_.size();

    // 2. Copy in the other arrays.
    std::vector<uint8_t> buf(1 << 20);
    for (int a = kSequences; a < kArrayCount; ++a) {
      Member& m = members_[a];
      if (m.name.empty()) continue;
      std::vector<uint64_t> shape = {rows};
      shape.insert(shape.end(), m.row_shape.begin(), m.row_shape.end());
      const std::string header = npy::header(m.descr, shape);
      const std::vector<uint8_t> block = stored_block(header);
      zip::Entry e = entry_for(m, header, block.size() + m.deflated + end.size());
      e.header_offset = offset;
      const std::vector<uint8_t> local = zip::local_header(e, now);
      archive_.write(local.data(), local.size());
      archive_.write(block.data(), block.size());
      m.stream.close();
      File in = File::open_read(m.temp_path);
      for (uint64_t pos = 0; pos < m.deflated;) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), m.deflated - pos));
        in.read_at(pos, buf.data(), n);
        archive_.write(buf.data(), n);
        pos += n;
      }
      archive_.write(end.data(), end.size());
      offset += local.size() + e.compressed;
      entries.push_back(e);
      remove_quietly(m.temp_path);
    }

    // 3. The metadata: a 0-d unicode array holding the JSON.
    {
      std::string descr;
      const std::string payload = npy::unicode_scalar(metadata.json, &descr);
      const std::string content = npy::header(descr, {}) + payload;
      zip::Entry e;
      e.name = "metadata.npy";
      e.method = 0;  // stored: small, and readable with any unzip
      e.crc = crc32_of(reinterpret_cast<const uint8_t*>(content.data()), content.size());
      e.compressed = e.uncompressed = content.size();
      e.header_offset = offset;
      const std::vector<uint8_t> local = zip::local_header(e, now);
      archive_.write(local.data(), local.size());
      archive_.write(content.data(), content.size());
      offset += local.size() + content.size();
      entries.push_back(e);
    }

    const std::vector<uint8_t> cd = zip::central_directory(entries, offset, now);
    archive_.write(cd.data(), cd.size());
    archive_.sync();
    archive_.close();
    move_into_place(paths_.temp_path, paths_.final_path, paths_.overwrite);
    done_ = true;
  }

  void discard() noexcept override {
    if (done_) return;
    done_ = true;
    for (Member& m : members_) {
      if (m.stream.is_open()) {
        try {
          m.stream.close();
        } catch (...) {
        }
      }
      if (!m.temp_path.empty()) remove_quietly(m.temp_path);
    }
    try {
      archive_.close();
    } catch (...) {
    }
    remove_quietly(paths_.temp_path);
  }

 private:
  zip::Entry entry_for(const Member& m, const std::string& header, uint64_t compressed) const {
    zip::Entry e;
    e.name = m.name;
    e.method = 8;
    e.crc = crc32_concat(crc32_of(reinterpret_cast<const uint8_t*>(header.data()), header.size()), m.crc,
                          m.raw_bytes);
    e.uncompressed = header.size() + m.raw_bytes;
    e.compressed = compressed;
    return e;
  }

  DatasetLayout layout_;
  SinkPaths paths_;
  File archive_;
  Member members_[kArrayCount];
  size_t images_header_at_ = 0;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<Sink> make_npz_sink(const DatasetLayout& layout, const SinkPaths& paths) {
  return std::make_unique<NpzSink>(layout, paths);
}

}  // namespace ohlc::storage
