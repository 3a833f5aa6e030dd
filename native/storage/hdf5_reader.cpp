// Reads HDF5 datasets written by hdf5_sink.cpp (or any file with the same layout) through
// ordinary hyperslab reads, so HDF5 decompresses only the chunks that hold the wanted rows.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>

#include "storage/fs_util.hpp"
#include "storage/hdf5_util.hpp"
#include "storage/reader.hpp"

namespace ohlc::storage {
namespace {

bool elem_type_of(hid_t type, ElemType* out) {
  const H5T_class_t cls = H5Tget_class(type);
  const size_t size = H5Tget_size(type);
  if (cls == H5T_INTEGER) {
    const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
    if (size == 1) *out = is_signed ? ElemType::kI8 : ElemType::kU8;
    else if (size == 2 && !is_signed) *out = ElemType::kU16;
    else if (size == 8 && is_signed) *out = ElemType::kI64;
    else return false;
    return true;
  }
  if (cls == H5T_FLOAT) {
    if (size == 4) *out = ElemType::kF32;
    else if (size == 8) *out = ElemType::kF64;
    else return false;
    return true;
  }
  return false;
}

hid_t memory_type(ElemType t) {
  switch (t) {
    case ElemType::kU8: return H5T_NATIVE_UINT8;
    case ElemType::kI8: return H5T_NATIVE_INT8;
    case ElemType::kU16: return H5T_NATIVE_UINT16;
    case ElemType::kI64: return H5T_NATIVE_INT64;
    case ElemType::kF32: return H5T_NATIVE_FLOAT;
    case ElemType::kF64: return H5T_NATIVE_DOUBLE;
  }
  return H5T_NATIVE_UINT8;
}

void read_rows(hid_t dset, const std::string& what, ArrayData& a, const std::vector<uint64_t>& rows) {
  const size_t rank = a.shape.size();
  size_t row_elems = 1;
  for (size_t d = 1; d < rank; ++d) row_elems = checked_size(row_elems, a.shape[d], what);
  const size_t row_bytes = checked_size(row_elems, elem_size(a.type), what);
  a.data.resize(checked_size(rows.size(), row_bytes, what));
  if (rows.empty()) return;
  h5::Handle file_space = h5::checked(H5Dget_space(dset), what);
  // Consecutive rows are read with one hyperslab each.
  for (size_t i = 0; i < rows.size();) {
    size_t j = i + 1;
    while (j < rows.size() && rows[j] == rows[j - 1] + 1) ++j;
    std::vector<hsize_t> start(rank, 0), count(a.shape.begin(), a.shape.end());
    start[0] = rows[i];
    count[0] = j - i;
    h5::ok(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr), what);
    h5::Handle mem_space = h5::checked(H5Screate_simple(static_cast<int>(rank), count.data(), nullptr), what);
    h5::ok(H5Dread(dset, memory_type(a.type), mem_space.get(), file_space.get(), H5P_DEFAULT,
                   a.data.data() + i * row_bytes),
           what + ": cannot read rows " + std::to_string(rows[i]) + ".." + std::to_string(rows[j - 1]));
    i = j;
  }
}

// A virtual dataset (the master of a sharded build, storage/hdf5_virtual.hpp) holds nothing
// itself: what it can hold is what its source files can. Each source must be there and a regular
// file (HDF5 would read a missing one as zeros, and a FIFO would block its open forever).
uint64_t virtual_capacity(hid_t dcpl, const std::string& path, const std::string& what) {
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  size_t count = 0;
  h5::ok(H5Pget_virtual_count(dcpl, &count), what);
  uint64_t total = 0;
  for (size_t i = 0; i < count; ++i) {
    const ssize_t n = H5Pget_virtual_filename(dcpl, i, nullptr, 0);
    if (n < 0) h5::fail(what);
    std::string name(static_cast<size_t>(n) + 1, '\0');
    H5Pget_virtual_filename(dcpl, i, name.data(), name.size());
    name.resize(static_cast<size_t>(n));
    const std::filesystem::path source = std::filesystem::path(name).is_absolute() ? std::filesystem::path(name) : dir / name;
    std::error_code ec;
    if (!std::filesystem::exists(source, ec)) throw StorageError(what + " maps " + name + ", which does not exist (a shard moved or removed?)");
    require_regular_file(source.string());
    const uint64_t bytes = std::filesystem::file_size(source, ec);
    if (ec) throw StorageError(what + " maps " + name + ", which cannot be read (" + ec.message() + ")");
    total += bytes;
  }
  return total > UINT64_MAX / static_cast<uint64_t>(kMaxDeflateExpansion) ? UINT64_MAX : total * static_cast<uint64_t>(kMaxDeflateExpansion);
}

// The bytes a dataset can hold: what the file stores for it (never more than the file), times
// deflate's limit when it is filtered. HDF5 itself would allocate whatever the shape says.
uint64_t dataset_capacity(hid_t dset, uint64_t file_bytes, const std::string& path, const std::string& what) {
  h5::Handle dcpl = h5::checked(H5Dget_create_plist(dset), what);
  if (H5Pget_layout(dcpl.get()) == H5D_VIRTUAL) return virtual_capacity(dcpl.get(), path, what);
  const uint64_t stored = std::min<uint64_t>(H5Dget_storage_size(dset), file_bytes);
  const bool filtered = H5Pget_nfilters(dcpl.get()) > 0;
  const uint64_t expansion = filtered ? static_cast<uint64_t>(kMaxDeflateExpansion) : 1;
  return stored > UINT64_MAX / expansion ? UINT64_MAX : stored * expansion;
}

herr_t collect_attribute(hid_t loc, const char* name, const H5A_info_t*, void* data) {
  auto* out = static_cast<std::vector<Attribute>*>(data);
  h5::Handle attr(H5Aopen(loc, name, H5P_DEFAULT));
  if (!attr) return 0;
  h5::Handle type(H5Aget_type(attr.get()));
  h5::Handle space(H5Aget_space(attr.get()));
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  // Each value takes at least a byte in the file: more values than stored bytes is a damaged
  // attribute, skipped before its buffer is allocated.
  if (n < 0 || static_cast<hsize_t>(n) > H5Aget_storage_size(attr.get())) return 0;
  const bool scalar = H5Sget_simple_extent_type(space.get()) == H5S_SCALAR;
  Attribute a;
  a.name = name;
  switch (H5Tget_class(type.get())) {
    case H5T_ENUM: {
      // h5py's boolean (enum FALSE/TRUE over int8).
      int8_t v = 0;
      if (!scalar || H5Tget_size(type.get()) != 1 || H5Aread(attr.get(), type.get(), &v) < 0) return 0;
      a.kind = Attribute::kBool;
      a.int_value = v;
      break;
    }
    case H5T_INTEGER: {
      std::vector<int64_t> v(static_cast<size_t>(std::max<hssize_t>(n, 0)));
      if (!v.empty() && H5Aread(attr.get(), H5T_NATIVE_INT64, v.data()) < 0) return 0;
      if (scalar && v.size() == 1) { a.kind = Attribute::kInt; a.int_value = v[0]; }
      else { a.kind = Attribute::kIntList; a.int_list = std::move(v); }
      break;
    }
    case H5T_FLOAT: {
      std::vector<double> v(static_cast<size_t>(std::max<hssize_t>(n, 0)));
      if (!v.empty() && H5Aread(attr.get(), H5T_NATIVE_DOUBLE, v.data()) < 0) return 0;
      if (scalar && v.size() == 1) { a.kind = Attribute::kFloat; a.float_value = v[0]; }
      else { a.kind = Attribute::kFloatList; a.float_list = std::move(v); }
      break;
    }
    case H5T_STRING: {
      if (!scalar) {
        // A list of variable-length strings (symbols).
        if (H5Tis_variable_str(type.get()) <= 0) return 0;
        std::vector<char*> texts(static_cast<size_t>(std::max<hssize_t>(n, 0)), nullptr);
        h5::Handle mem(H5Tcopy(H5T_C_S1));
        H5Tset_size(mem.get(), H5T_VARIABLE);
        H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
        if (!texts.empty() && H5Aread(attr.get(), mem.get(), texts.data()) < 0) return 0;
        a.kind = Attribute::kStringList;
        for (char* t : texts) {
          a.string_list.emplace_back(t ? t : "");
          H5free_memory(t);
        }
        break;
      }
      a.kind = Attribute::kString;
      if (H5Tis_variable_str(type.get()) > 0) {
        char* text = nullptr;
        h5::Handle mem(H5Tcopy(H5T_C_S1));
        H5Tset_size(mem.get(), H5T_VARIABLE);
        H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
        if (H5Aread(attr.get(), mem.get(), &text) < 0) return 0;
        a.string_value = text ? text : "";
        H5free_memory(text);
      } else {
        std::vector<char> buf(H5Tget_size(type.get()) + 1, 0);
        if (H5Aread(attr.get(), type.get(), buf.data()) < 0) return 0;
        a.string_value = buf.data();
      }
      break;
    }
    default:
      return 0;  // other kinds are not ours; skip them
  }
  out->push_back(std::move(a));
  return 0;
}

}  // namespace

DatasetContents read_hdf5(const std::string& path, const std::vector<uint64_t>& rows, bool images) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw StorageError(path + " does not exist");
  require_regular_file(path);  // before libhdf5 opens it: a FIFO would block that open forever
  const uint64_t file_bytes = std::filesystem::file_size(path, ec);
  if (ec) throw StorageError(path + " cannot be read (" + ec.message() + ")");
  h5::Lock lock;
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw StorageError(path + " is not an HDF5 file");
  }
  h5::Handle file = h5::checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT),
                                path + " cannot be opened as HDF5 (truncated or corrupt?)");
  DatasetContents out;
  for (int id = 0; id < kArrayCount; ++id) {
    const char* name = kArrayNames[id];
    const std::string what = path + ": dataset " + name;
    if (H5Lexists(file.get(), name, H5P_DEFAULT) <= 0) {
      if (id > kTimestamps) continue;  // the optional arrays
      throw StorageError(path + " has no '" + name + "' dataset: not an ohlc-native dataset");
    }
    h5::Handle dset = h5::checked(H5Dopen2(file.get(), name, H5P_DEFAULT), what);
    h5::Handle type = h5::checked(H5Dget_type(dset.get()), what);
    h5::Handle space = h5::checked(H5Dget_space(dset.get()), what);
    ArrayData a;
    a.name = name;
    if (!elem_type_of(type.get(), &a.type)) throw StorageError(what + " has an unexpected element type");
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 1 || rank > 8) throw StorageError(what + " has an unexpected shape");
    std::vector<hsize_t> dims(rank);
    H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    a.shape.assign(dims.begin(), dims.end());
    check_declared_size(what, a.shape, a.type, dataset_capacity(dset.get(), file_bytes, path, what), "the file holds for it");
    if (a.name == "images") out.rows = a.shape[0];
    for (uint64_t r : rows) {
      if (r >= a.shape[0]) throw StorageError(what + " has " + std::to_string(a.shape[0]) + " rows; row " + std::to_string(r) + " asked for");
    }
    read_rows(dset.get(), what, a, id == kImages && !images ? std::vector<uint64_t>{} : rows);
    out.arrays.push_back(std::move(a));
  }
  hsize_t idx = 0;
  H5Aiterate2(file.get(), H5_INDEX_NAME, H5_ITER_NATIVE, &idx, collect_attribute, &out.attributes);
  H5Eclear2(H5E_DEFAULT);
  return out;
}

}  // namespace ohlc::storage
