#include "storage/hdf5_virtual.hpp"

#include <hdf5.h>

#include "storage/fs_util.hpp"
#include "storage/hdf5_util.hpp"
#include "storage/sink.hpp"

namespace ohlc::storage {
namespace {

// The 1.10 API (Debian 12 ships libhdf5 1.10.8): H5Literate / H5Oget_info_by_name2.
herr_t collect_dataset(hid_t group, const char* name, const H5L_info_t*, void* data) {
  H5O_info_t info;
  if (H5Oget_info_by_name2(group, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return -1;
  if (info.type == H5O_TYPE_DATASET) static_cast<std::vector<std::string>*>(data)->push_back(name);
  return 0;
}

// One dataset of one source: its file type and dimensions.
struct SourceDataset {
  h5::Handle type;
  std::vector<hsize_t> dims;
};

SourceDataset describe(hid_t file, const std::string& source, const std::string& name) {
  const std::string what = source + ": dataset " + name;
  if (H5Lexists(file, name.c_str(), H5P_DEFAULT) <= 0) throw StorageError(what + " is missing (every shard must hold the same arrays)");
  h5::Handle d = h5::checked(H5Dopen2(file, name.c_str(), H5P_DEFAULT), "cannot open " + what);
  SourceDataset out;
  out.type = h5::checked(H5Dget_type(d.get()), what);
  h5::Handle space = h5::checked(H5Dget_space(d.get()), what);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 1) h5::fail(what + " has no rows");
  out.dims.resize(rank);
  h5::ok(H5Sget_simple_extent_dims(space.get(), out.dims.data(), nullptr), what);
  return out;
}

std::vector<hid_t> open_all(const std::vector<VirtualSource>& sources, std::vector<h5::Handle>& files) {
  std::vector<hid_t> ids;
  for (const VirtualSource& s : sources) {
    files.push_back(h5::checked(H5Fopen(s.open_path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "cannot open " + s.open_path));
    ids.push_back(files.back().get());
  }
  return ids;
}

void create_virtual(hid_t master, const std::string& name, const std::vector<VirtualSource>& sources,
                    const std::vector<hid_t>& files, VirtualResult& result) {
  std::vector<SourceDataset> parts;
  for (size_t k = 0; k < sources.size(); ++k) parts.push_back(describe(files[k], sources[k].open_path, name));
  const std::vector<hsize_t>& first = parts[0].dims;
  std::vector<hsize_t> total = first;
  total[0] = 0;
  for (size_t k = 0; k < parts.size(); ++k) {
    const SourceDataset& p = parts[k];
    const std::string what = sources[k].open_path + ": dataset " + name;
    if (H5Tequal(p.type.get(), parts[0].type.get()) <= 0) throw StorageError(what + " has another element type than in " + sources[0].open_path);
    if (p.dims.size() != first.size() || !std::equal(p.dims.begin() + 1, p.dims.end(), first.begin() + 1))
      throw StorageError(what + " has another row shape than in " + sources[0].open_path);
    if (p.dims[0] != result.rows_per_source[k])
      throw StorageError(what + " has " + std::to_string(p.dims[0]) + " rows, but its images " + std::to_string(result.rows_per_source[k]));
    total[0] += p.dims[0];
  }
  const int rank = static_cast<int>(total.size());
  const std::string what = "cannot map dataset " + name;
  h5::Handle vspace = h5::checked(H5Screate_simple(rank, total.data(), nullptr), what);
  h5::Handle dcpl = h5::checked(H5Pcreate(H5P_DATASET_CREATE), what);
  hsize_t offset = 0;
  for (size_t k = 0; k < parts.size(); ++k) {
    const std::vector<hsize_t>& dims = parts[k].dims;
    if (dims[0] == 0) continue;  // an empty shard maps nothing
    std::vector<hsize_t> start(rank, 0);
    start[0] = offset;
    h5::ok(H5Sselect_hyperslab(vspace.get(), H5S_SELECT_SET, start.data(), nullptr, dims.data(), nullptr), what);
    h5::Handle src = h5::checked(H5Screate_simple(rank, dims.data(), nullptr), what);
    h5::ok(H5Pset_virtual(dcpl.get(), vspace.get(), sources[k].stored_path.c_str(), name.c_str(), src.get()), what);
    offset += dims[0];
  }
  h5::ok(H5Sselect_all(vspace.get()), what);
  h5::Handle d = h5::checked(H5Dcreate2(master, name.c_str(), parts[0].type.get(), vspace.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                             "cannot create the virtual dataset " + name);
}

}  // namespace

VirtualResult write_virtual_hdf5(const std::string& temp_path, const std::vector<VirtualSource>& sources,
                                 const DatasetMetadata& metadata, const std::atomic<bool>* cancel) {
  if (sources.empty()) throw StorageError("a master file needs at least one shard");
  VirtualResult result;
  bool created = false;
  try {
    h5::Lock lock;
    std::vector<h5::Handle> handles;
    const std::vector<hid_t> files = open_all(sources, handles);
    h5::ok(H5Literate(files[0], H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_dataset, &result.datasets),
           "cannot list the datasets of " + sources[0].open_path);
    bool has_images = false;
    for (const std::string& n : result.datasets) has_images = has_images || n == "images";
    if (!has_images) throw StorageError(sources[0].open_path + " has no images dataset");
    for (size_t k = 0; k < sources.size(); ++k) {
      const uint64_t rows = describe(files[k], sources[k].open_path, "images").dims[0];
      result.rows_per_source.push_back(rows);
      result.rows += rows;
    }
    h5::Handle fapl = h5::checked(H5Pcreate(H5P_FILE_ACCESS), "file access properties");
    h5::ok(H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG), "file close degree");
    h5::Handle master = h5::checked(H5Fcreate(temp_path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl.get()), "cannot create " + temp_path);
    created = true;
    for (const std::string& name : result.datasets) {
      if (cancel && cancel->load(std::memory_order_relaxed)) throw StorageError("cancelled");
      create_virtual(master.get(), name, sources, files, result);
    }
    for (const Attribute& attr : metadata.attributes) h5::write_attribute(master.get(), attr);
    h5::ok(H5Fflush(master.get(), H5F_SCOPE_GLOBAL), "cannot flush " + temp_path);
    if (H5Fclose(master.release()) < 0) h5::fail("cannot close " + temp_path);
  } catch (...) {
    if (created) remove_quietly(temp_path);
    throw;
  }
  sync_file(temp_path);
  return result;
}

}  // namespace ohlc::storage
