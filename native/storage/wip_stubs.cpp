// Temporary: formats not written yet.
#include "storage/sinks.hpp"
namespace ohlc::storage {
std::unique_ptr<Sink> make_npz_sink(const DatasetLayout&, const SinkPaths&) { throw StorageError("npz: not yet"); }
std::unique_ptr<Sink> make_zarr_sink(const DatasetLayout&, const SinkPaths&) { throw StorageError("zarr: not yet"); }
std::unique_ptr<Sink> make_picture_sink(const DatasetLayout&, const SinkPaths&) { throw StorageError("pictures: not yet"); }
}
