// Reading datasets back: the selected rows of every array plus the metadata, touching only the
// chunks those rows live in (HDF5) or streaming each member once (NPZ).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "storage/fs_util.hpp"
#include "storage/layout.hpp"
#include "storage/sink.hpp"
#include "storage/zip.hpp"

namespace ohlc::storage {

// The most bytes one stored byte of a deflate stream can inflate to (a 258-byte match costs at
// least 2 bits; RFC 1951), which bounds what a compressed member or dataset can really hold.
// Mirrors ts/limits.ts (test/limits.test.ts compares them).
constexpr int64_t kMaxDeflateExpansion = 1032;  // MAX_DEFLATE_EXPANSION

struct ArrayData {
  std::string name;
  ElemType type = ElemType::kU8;
  std::vector<uint64_t> shape;  // of the whole array in the file
  std::vector<uint8_t> data;    // the selected rows, in the order asked for
};

struct DatasetContents {
  uint64_t rows = 0;  // rows of `images` in the file
  std::vector<ArrayData> arrays;
  std::vector<Attribute> attributes;  // HDF5 root attributes
  std::string metadata_json;          // NPZ metadata member
};

// The bytes an array of `shape` and `type` declares, for `what`; a StorageError when the product
// overflows.
uint64_t declared_bytes(const std::vector<uint64_t>& shape, ElemType type, const std::string& what);

// Throws, naming `what`, its shape and both sizes, when the array declares more bytes than
// `capacity` (what its member or file can hold; `where` says which): checked before any buffer
// for it is allocated.
void check_declared_size(const std::string& what, const std::vector<uint64_t>& shape, ElemType type,
                         uint64_t capacity, const std::string& where);

// `rows` must be sorted and unique (the TS layer maps other orders onto them); empty reads the
// shapes and metadata only. `images` false leaves the images out (their shape is still read).
// Throws StorageError naming the file on anything unexpected.
DatasetContents read_hdf5(const std::string& path, const std::vector<uint64_t>& rows, bool images = true);
// `require_images` false reads a picture folder's arrays.npz, which has no images member.
DatasetContents read_npz(const std::string& path, const std::vector<uint64_t>& rows, bool require_images = true, bool images = true);

// Feeds a ZIP member's uncompressed bytes to `consume` in order until it returns false or the
// member ends. Throws on corrupt or truncated data.
void stream_member(const File& file, const zip::Entry& e, const std::function<bool(const uint8_t*, size_t)>& consume);

}  // namespace ohlc::storage
