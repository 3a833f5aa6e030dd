// Reads NPZ datasets: each wanted member is inflated once from its start, keeping only the
// selected rows (a deflate stream has no random access; stored members are read directly).
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>

#include "storage/fs_util.hpp"
#include "storage/npy.hpp"
#include "storage/reader.hpp"
#include "storage/zip.hpp"

namespace ohlc::storage {
namespace {

bool elem_type_of(const std::string& descr, ElemType* out) {
  if (descr == "|u1" || descr == "<u1") *out = ElemType::kU8;
  else if (descr == "|i1" || descr == "<i1") *out = ElemType::kI8;
  else if (descr == "<u2") *out = ElemType::kU16;
  else if (descr == "<i8") *out = ElemType::kI64;
  else if (descr == "<f4") *out = ElemType::kF32;
  else if (descr == "<f8") *out = ElemType::kF64;
  else return false;
  return true;
}

}  // namespace

void stream_member(const File& file, const zip::Entry& e,
                   const std::function<bool(const uint8_t*, size_t)>& consume) {
  const std::string what = file.path() + ": member " + e.name;
  std::vector<uint8_t> in(1 << 20);
  if (e.method == 0) {
    for (uint64_t pos = 0; pos < e.compressed;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(in.size(), e.compressed - pos));
      file.read_at(e.data_offset + pos, in.data(), n);
      if (!consume(in.data(), n)) return;
      pos += n;
    }
    return;
  }
  if (e.method != 8) throw StorageError(what + " uses compression method " + std::to_string(e.method) + " (only deflate and stored are read)");
  z_stream s{};
  if (inflateInit2(&s, -15) != Z_OK) throw std::bad_alloc();
  std::vector<uint8_t> out(1 << 20);
  uint64_t read = 0;
  int rc = Z_OK;
  try {
    while (rc != Z_STREAM_END) {
      if (s.avail_in == 0) {
        if (read >= e.compressed) throw StorageError(what + " is truncated (its deflate stream ends early)");
        const size_t n = static_cast<size_t>(std::min<uint64_t>(in.size(), e.compressed - read));
        file.read_at(e.data_offset + read, in.data(), n);
        read += n;
        s.next_in = in.data();
        s.avail_in = static_cast<uInt>(n);
      }
      s.next_out = out.data();
      s.avail_out = static_cast<uInt>(out.size());
      rc = inflate(&s, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
        throw StorageError(what + " is corrupt (" + (s.msg ? s.msg : "inflate failed") + ")");
      const size_t produced = out.size() - s.avail_out;
      if (produced && !consume(out.data(), produced)) break;
      if (rc == Z_BUF_ERROR && s.avail_in == 0 && read >= e.compressed)
        throw StorageError(what + " is truncated (its deflate stream ends early)");
    }
  } catch (...) {
    inflateEnd(&s);
    throw;
  }
  inflateEnd(&s);
}

namespace {

// The bytes a member holds once inflated: what the central directory records, provided its
// compressed bytes can produce that many (the directory is as easy to edit as a header).
uint64_t member_capacity(const std::string& what, const zip::Entry& e) {
  const uint64_t expansion = e.method == 0 ? 1 : static_cast<uint64_t>(kMaxDeflateExpansion);
  const uint64_t most = e.compressed > UINT64_MAX / expansion ? UINT64_MAX : e.compressed * expansion;
  if (e.uncompressed > most)
    throw StorageError(what + " claims " + std::to_string(e.uncompressed) + " bytes, more than its " +
                       std::to_string(e.compressed) + " compressed bytes can inflate to");
  return e.uncompressed;
}

// Collects the .npy header, then the wanted rows, from a member's byte stream. Nothing is
// allocated for a header or an array larger than the member (`capacity` bytes) can hold.
struct RowCollector {
  RowCollector(std::string what, const std::vector<uint64_t>& rows, ArrayData& array, bool shape_only, uint64_t capacity)
      : what(std::move(what)), rows(rows), array(array), shape_only(shape_only), capacity(capacity) {}
  std::string what;
  const std::vector<uint64_t>& rows;
  ArrayData& array;
  bool shape_only;
  uint64_t capacity;
  std::vector<uint8_t> head;
  npy::Header header;
  bool have_header = false;
  uint64_t pos = 0;  // bytes of array data seen
  size_t row_bytes = 0;
  size_t next = 0;

  bool consume(const uint8_t* p, size_t n) {
    if (!have_header) {
      head.insert(head.end(), p, p + n);
      if (head.size() < 12) return true;
      const size_t need = head[6] == 1 ? 10 + (head[8] | (head[9] << 8))
                                       : 12 + (head[8] | (head[9] << 8) | (head[10] << 16) | (static_cast<size_t>(head[11]) << 24));
      if (need > capacity)
        throw StorageError(what + ": its .npy header claims " + std::to_string(need) + " bytes, more than the " +
                           std::to_string(capacity) + " bytes its member holds");
      if (head.size() < need) return true;
      header = npy::parse(head.data(), head.size(), what);
      have_header = true;
      if (header.fortran_order) throw StorageError(what + " is in Fortran order (not written by ohlc-native)");
      if (!elem_type_of(header.descr, &array.type)) throw StorageError(what + " has unexpected dtype " + header.descr);
      array.shape = header.shape;
      if (array.shape.empty()) throw StorageError(what + " is not an array of rows");
      check_declared_size(what, array.shape, array.type, capacity - header.header_bytes, "its member holds");
      size_t row_elems = 1;
      for (size_t d = 1; d < array.shape.size(); ++d) row_elems = checked_size(row_elems, array.shape[d], what);
      row_bytes = checked_size(row_elems, elem_size(array.type), what);
      for (uint64_t r : rows) {
        if (r >= array.shape[0]) throw StorageError(what + " has " + std::to_string(array.shape[0]) + " rows; row " + std::to_string(r) + " asked for");
      }
      array.data.resize(checked_size(rows.size(), row_bytes, what));
      if (shape_only || rows.empty() || row_bytes == 0) return false;
      const size_t rest = head.size() - header.header_bytes;
      std::vector<uint8_t> tail(head.begin() + static_cast<std::ptrdiff_t>(header.header_bytes), head.end());
      head.clear();
      return take(tail.data(), rest);
    }
    return take(p, n);
  }

  bool take(const uint8_t* p, size_t n) {
    const uint64_t end = pos + n;
    while (next < rows.size()) {
      const uint64_t row_start = rows[next] * row_bytes, row_end = row_start + row_bytes;
      if (row_start >= end) break;
      const uint64_t from = std::max(row_start, pos), to = std::min(row_end, end);
      std::memcpy(array.data.data() + next * row_bytes + (from - row_start), p + (from - pos), to - from);
      if (row_end > end) break;
      ++next;
    }
    pos = end;
    return next < rows.size();
  }
};

}  // namespace

DatasetContents read_npz(const std::string& path, const std::vector<uint64_t>& rows, bool require_images, bool images) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw StorageError(path + " does not exist");
  File file = File::open_read(path);
  std::vector<zip::Entry> entries = zip::read_directory(file);
  auto find = [&](const std::string& name) -> zip::Entry* {
    for (auto& e : entries)
      if (e.name == name) return &e;
    return nullptr;
  };
  DatasetContents out;
  for (int id = 0; id < kArrayCount; ++id) {
    const char* name = kArrayNames[id];
    zip::Entry* e = find(std::string(name) + ".npy");
    if (!e) {
      if (id > kTimestamps) continue;  // the optional arrays
      if (std::strcmp(name, "images") == 0 && !require_images) continue;
      throw StorageError(path + " has no '" + name + "' array: not an ohlc-native dataset");
    }
    zip::locate_data(file, *e);
    const uint64_t capacity = member_capacity(path + ": member " + e->name, *e);
    ArrayData a;
    a.name = name;
    const bool shape_only = rows.empty() || (id == kImages && !images);
    static const std::vector<uint64_t> kNoRows;
    RowCollector c(path + ": " + e->name, shape_only ? kNoRows : rows, a, shape_only, capacity);
    stream_member(file, *e, [&c](const uint8_t* p, size_t n) { return c.consume(p, n); });
    if (!c.have_header) throw StorageError(path + ": " + e->name + " is truncated");
    if (!c.shape_only && c.next < rows.size())
      throw StorageError(path + ": " + e->name + " is truncated (rows missing)");
    if (a.name == "images") out.rows = a.shape[0];
    out.arrays.push_back(std::move(a));
  }
  if (zip::Entry* e = find("metadata.npy")) {
    zip::locate_data(file, *e);
    std::vector<uint8_t> bytes;
    stream_member(file, *e, [&bytes](const uint8_t* p, size_t n) {
      bytes.insert(bytes.end(), p, p + n);
      return bytes.size() < (size_t{64} << 20);
    });
    const npy::Header h = npy::parse(bytes.data(), bytes.size(), path + ": metadata.npy");
    out.metadata_json = npy::decode_unicode(bytes.data() + h.header_bytes, bytes.size() - h.header_bytes);
  }
  if (out.rows == 0) {
    for (const auto& a : out.arrays)
      if (a.name == "timestamps") out.rows = a.shape[0];
  }
  return out;
}

}  // namespace ohlc::storage
