// HDF5 (.h5): every array a chunked, extendible dataset at the root; chunks are compressed on all
// cores by the DatasetWriter and stored with H5Dwrite_chunk (direct chunk write), bypassing HDF5's
// serial filter pipeline. The datasets still declare the standard deflate filter, so any HDF5
// reader (h5py, h5dump, ...) decompresses them the ordinary way.
#include <hdf5.h>

#include <unistd.h>

#include <array>
#include <cstring>

#include "storage/fs_util.hpp"
#include "storage/hdf5_util.hpp"
#include "storage/sinks.hpp"

namespace ohlc::storage {
namespace {

class Hdf5Sink final : public Sink {
 public:
  Hdf5Sink(const DatasetLayout& layout, const SinkPaths& paths) : layout_(layout), paths_(paths) {
    h5::Lock lock;
    // Strong close: closing the file closes every object still open in it, so no error path can
    // leave the file alive in libhdf5 (where its exit handler would later trip over it).
    h5::Handle fapl = h5::checked(H5Pcreate(H5P_FILE_ACCESS), "file access properties");
    h5::ok(H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG), "file close degree");
    file_ = h5::checked(H5Fcreate(paths_.temp_path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl.get()),
                        "cannot create " + paths_.temp_path);
    try {
      for (const ArraySpec& a : layout_.arrays) {
        if (!a.name.empty()) create_dataset(a);
      }
    } catch (...) {
      discard();
      throw;
    }
  }

  ~Hdf5Sink() override { discard(); }

  void encode(ArrayId a, const uint8_t* raw, size_t bytes, EncodeScratch& scratch,
              std::vector<uint8_t>& out) const override {
    encode_chunk(layout_, a, raw, bytes, scratch, out);
  }
  ImageStream image_stream() const override { return zlib_image_stream(layout_); }

  void grow(uint64_t rows) override {
    h5::Lock lock;
    for (const ArraySpec& a : layout_.arrays) {
      if (a.name.empty()) continue;
      std::vector<hsize_t> dims = {rows};
      dims.insert(dims.end(), a.row_shape.begin(), a.row_shape.end());
      h5::ok(H5Dset_extent(datasets_[a.id].get(), dims.data()), "cannot extend dataset");
    }
  }

  void write_chunk(ArrayId a, uint64_t index, uint64_t, const std::vector<uint8_t>& encoded,
                   size_t, uint32_t) override {
    h5::Lock lock;
    const ArraySpec& spec = layout_.arrays[a];
    std::array<hsize_t, 4> offset{};
    offset[0] = index * spec.chunk_rows;
    h5::ok(H5Dwrite_chunk(datasets_[a].get(), H5P_DEFAULT, 0, offset.data(), encoded.size(),
                               encoded.data()),
           "cannot write a chunk of " + spec.name);
  }

  void finish(uint64_t rows, const DatasetMetadata& metadata) override {
    {
      h5::Lock lock;
      grow(rows);
      for (const Attribute& attr : metadata.attributes) h5::write_attribute(file_.get(), attr);
      for (auto& d : datasets_) d.reset();
      h5::ok(H5Fflush(file_.get(), H5F_SCOPE_GLOBAL), "cannot flush the file");
      if (H5Fclose(file_.release()) < 0) h5::fail("cannot close " + paths_.temp_path);
    }
    sync_file(paths_.temp_path);
    move_into_place(paths_.temp_path, paths_.final_path, paths_.overwrite);
    done_ = true;
  }

  void discard() noexcept override {
    if (done_) return;
    {
      h5::Lock lock;
      // The file is thrown away, but libhdf5 still flushes its metadata on close; on a full disk
      // that flush fails and leaves the file half-closed inside the library, which then crashes
      // at process exit. Emptying the file first gives the flush the room it needs.
      truncate_file();
      for (auto& d : datasets_) d.reset();
      if (file_ && H5Fclose(file_.release()) < 0) h5::error_detail();  // clears the error stack
    }
    remove_quietly(paths_.temp_path);
    done_ = true;
  }

 private:
  // Frees the disk space the file holds (its descriptor stays open for libhdf5).
  void truncate_file() noexcept {
    if (!file_) return;
    void* handle = nullptr;
    if (H5Fget_vfd_handle(file_.get(), H5P_DEFAULT, &handle) >= 0 && handle)
      (void)::ftruncate(*static_cast<int*>(handle), 0);
    h5::error_detail();
  }

  void create_dataset(const ArraySpec& a) {
    const int rank = 1 + static_cast<int>(a.row_shape.size());
    std::vector<hsize_t> dims(rank, 0), maxdims(rank), chunk(rank);
    maxdims[0] = H5S_UNLIMITED;
    chunk[0] = a.chunk_rows;
    for (int i = 1; i < rank; ++i) dims[i] = maxdims[i] = chunk[i] = a.row_shape[i - 1];
    h5::Handle space = h5::checked(H5Screate_simple(rank, dims.data(), maxdims.data()), "dataspace");
    h5::Handle dcpl = h5::checked(H5Pcreate(H5P_DATASET_CREATE), "property list");
    h5::ok(H5Pset_chunk(dcpl.get(), rank, chunk.data()), "cannot set chunking");
    const int level = layout_.compression.level;
    if (level != Compression::kNone) {
      // The level is a hint to HDF5's own encoder; readers only need to know it is deflate.
      const unsigned hint = level == Compression::kFast ? 1u : static_cast<unsigned>(std::min(level, 9));
      h5::ok(H5Pset_deflate(dcpl.get(), hint), "cannot set the deflate filter");
    }
    h5::ok(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), "fill time");
    datasets_[a.id] = h5::checked(H5Dcreate2(file_.get(), a.name.c_str(), h5::file_type(a.type),
                                             space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                                  "cannot create dataset " + a.name);
  }

  DatasetLayout layout_;
  SinkPaths paths_;
  h5::Handle file_;
  h5::Handle datasets_[kArrayCount];
  bool done_ = false;
};

}  // namespace

std::unique_ptr<Sink> make_hdf5_sink(const DatasetLayout& layout, const SinkPaths& paths) {
  return std::make_unique<Hdf5Sink>(layout, paths);
}

}  // namespace ohlc::storage
