#include "storage/hdf5_util.hpp"

#include <vector>

namespace ohlc::storage::h5 {

namespace {

std::recursive_mutex& global_mutex() {
  static std::recursive_mutex m;
  return m;
}

herr_t collect(unsigned n, const H5E_error2_t* e, void* data) {
  auto* lines = static_cast<std::vector<std::string>*>(data);
  (void)n;
  if (e->desc && *e->desc) lines->push_back(e->desc);
  return 0;
}

}  // namespace

Lock::Lock() : lock_(global_mutex()) {
  // Per thread in thread-safe builds, so set on every entry.
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

std::string error_detail() {
  std::vector<std::string> lines;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect, &lines);
  H5Eclear2(H5E_DEFAULT);
  if (lines.empty()) return "unknown HDF5 error";
  // Innermost first; keep it short. libhdf5's file driver reports an OS error as one long line
  // (time, fd, buffer address, sizes, "error message = '...'"): keep only the OS's words.
  std::string out = lines[0];
  const std::string tag = "error message = '";
  const size_t at = out.find(tag);
  if (at != std::string::npos) {
    const size_t end = out.find('\'', at + tag.size());
    const std::string what = out.substr(0, out.find(':'));
    out = out.substr(at + tag.size(), end == std::string::npos ? std::string::npos : end - at - tag.size()) + " (" + what + ")";
    return out;
  }
  if (lines.size() > 1 && lines[1] != lines[0]) out += " (" + lines[1] + ")";
  return out;
}

void fail(const std::string& what) { throw StorageError(what + ": " + error_detail()); }

void Handle::reset() noexcept {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    default: H5Idec_ref(id_); break;
  }
  id_ = H5I_INVALID_HID;
}

hid_t file_type(ElemType t) {
  switch (t) {
    case ElemType::kU8: return H5T_STD_U8LE;
    case ElemType::kI8: return H5T_STD_I8LE;
    case ElemType::kU16: return H5T_STD_U16LE;
    case ElemType::kI64: return H5T_STD_I64LE;
    case ElemType::kF32: return H5T_IEEE_F32LE;
    case ElemType::kF64: return H5T_IEEE_F64LE;
  }
  return H5T_STD_U8LE;
}

}  // namespace ohlc::storage::h5
