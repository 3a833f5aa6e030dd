#include "storage/digest.hpp"

#include <hdf5.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/deflate/row_deflate.hpp"
#include "storage/encode.hpp"
#include "storage/hdf5_util.hpp"
#include "storage/npy.hpp"
#include "storage/reader.hpp"

namespace ohlc::storage {

std::string combine_digests(const ContentDigest& d) {
  Sha256 all;
  for (const auto& [name, hex] : d.arrays) {
    const std::string line = name + " " + hex + "\n";
    all.update(line.data(), line.size());
  }
  return all.hex();
}

namespace {

// Raw rows of a dataset, read in slices of about 16 MiB.
std::string hdf5_rows_digest(hid_t dset, const std::string& what) {
  h5::Handle type = h5::checked(H5Dget_type(dset), what);
  h5::Handle mem = h5::checked(H5Tget_native_type(type.get(), H5T_DIR_ASCEND), what);
  h5::Handle space = h5::checked(H5Dget_space(dset), what);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 1 || rank > 8) throw StorageError(what + " has an unexpected shape");
  std::vector<hsize_t> dims(rank);
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  size_t row_bytes = H5Tget_size(mem.get());
  for (int d = 1; d < rank; ++d) row_bytes = checked_size(row_bytes, dims[d], what);
  const hsize_t per = std::max<hsize_t>(1, (16u << 20) / std::max<size_t>(row_bytes, 1));
  std::vector<uint8_t> buf;
  Sha256 h;
  for (hsize_t r = 0; r < dims[0]; r += per) {
    std::vector<hsize_t> start(rank, 0), count(dims.begin(), dims.end());
    start[0] = r;
    count[0] = std::min(per, dims[0] - r);
    buf.resize(checked_size(count[0], row_bytes, what));
    h5::ok(H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr), what);
    h5::Handle ms = h5::checked(H5Screate_simple(rank, count.data(), nullptr), what);
    h5::ok(H5Dread(dset, mem.get(), ms.get(), space.get(), H5P_DEFAULT, buf.data()), what + ": cannot read rows");
    h.update(buf.data(), buf.size());
  }
  return h.hex();
}

// The stored chunks of `images` ([N, H, W], one image per chunk), in index order.
std::string hdf5_chunks_digest(hid_t dset, const std::string& what) {
  h5::Handle space = h5::checked(H5Dget_space(dset), what);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank != 3) throw StorageError(what + " is not [N, H, W]");
  hsize_t dims[3];
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  Sha256 h;
  std::vector<uint8_t> buf;
  for (hsize_t i = 0; i < dims[0]; ++i) {
    hsize_t offset[3] = {i, 0, 0};
    hsize_t bytes = 0;
    h5::ok(H5Dget_chunk_storage_size(dset, offset, &bytes), what + ": chunk " + std::to_string(i) + " is missing");
    buf.resize(static_cast<size_t>(bytes));
    uint32_t filters = 0;
    h5::ok(H5Dread_chunk(dset, H5P_DEFAULT, offset, &filters, buf.data()), what + ": cannot read chunk " + std::to_string(i));
    h.update(buf.data(), buf.size());
  }
  return h.hex();
}

}  // namespace

ContentDigest digest_hdf5(const std::string& path) {
  h5::Lock lock;
  h5::Handle file = h5::checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), path + " cannot be opened as HDF5");
  ContentDigest out;
  for (int id = 0; id < kArrayCount; ++id) {
    const char* name = kArrayNames[id];
    if (H5Lexists(file.get(), name, H5P_DEFAULT) <= 0) {
      if (id <= kTimestamps) throw StorageError(path + " has no '" + name + "' dataset: not an ohlc-native dataset");
      continue;
    }
    const std::string what = path + ": dataset " + name;
    h5::Handle dset = h5::checked(H5Dopen2(file.get(), name, H5P_DEFAULT), what);
    out.arrays.emplace_back(name, id == kImages ? hdf5_chunks_digest(dset.get(), what) : hdf5_rows_digest(dset.get(), what));
  }
  out.content = combine_digests(out);
  return out;
}

namespace {

// The encoded images in an NPZ images member: its data without the stored block holding the
// .npy header (npz_sink.cpp reserves a fixed size) and the two-byte end of the deflate stream.
std::string npz_images_digest(const File& file, const zip::Entry& e) {
  const uint64_t head = 5 + npy::kImagesHeaderBytes;
  const uint64_t tail = deflate_terminator().size();
  if (e.method != 8 || e.compressed < head + tail) throw StorageError(file.path() + ": images.npy is not laid out as ohlc-native writes it");
  Sha256 h;
  std::vector<uint8_t> buf(1 << 20);
  for (uint64_t pos = head; pos < e.compressed - tail;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), e.compressed - tail - pos));
    file.read_at(e.data_offset + pos, buf.data(), n);
    h.update(buf.data(), n);
    pos += n;
  }
  return h.hex();
}

// The raw rows of a member: its uncompressed bytes after the .npy header.
std::string npz_rows_digest(const File& file, const zip::Entry& e) {
  Sha256 h;
  std::vector<uint8_t> head;
  bool past_header = false;
  stream_member(file, e, [&](const uint8_t* p, size_t n) {
    if (past_header) {
      h.update(p, n);
      return true;
    }
    head.insert(head.end(), p, p + n);
    if (head.size() < 12) return true;
    const size_t need = head[6] == 1 ? 10 + (head[8] | (head[9] << 8))
                                     : 12 + (head[8] | (head[9] << 8) | (head[10] << 16) | (static_cast<size_t>(head[11]) << 24));
    if (head.size() < need) return true;
    h.update(head.data() + need, head.size() - need);
    head.clear();
    past_header = true;
    return true;
  });
  return h.hex();
}

}  // namespace

ContentDigest digest_npz(const std::string& path) {
  File file = File::open_read(path);
  std::vector<zip::Entry> entries = zip::read_directory(file);
  ContentDigest out;
  for (int id = 0; id < kArrayCount; ++id) {
    const std::string member = std::string(kArrayNames[id]) + ".npy";
    auto it = std::find_if(entries.begin(), entries.end(), [&](const zip::Entry& e) { return e.name == member; });
    if (it == entries.end()) {
      if (id <= kTimestamps) throw StorageError(path + " has no '" + kArrayNames[id] + "' array: not an ohlc-native dataset");
      continue;
    }
    zip::locate_data(file, *it);
    out.arrays.emplace_back(kArrayNames[id], id == kImages ? npz_images_digest(file, *it) : npz_rows_digest(file, *it));
  }
  out.content = combine_digests(out);
  return out;
}

}  // namespace ohlc::storage
