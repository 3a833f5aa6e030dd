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

void write_attribute(hid_t root, const Attribute& attr) {
  const std::string what = "cannot write attribute " + attr.name;
  if (H5Aexists(root, attr.name.c_str()) > 0) H5Adelete(root, attr.name.c_str());
  switch (attr.kind) {
    case Attribute::kInt:
    case Attribute::kFloat: {
      h5::Handle space = h5::checked(H5Screate(H5S_SCALAR), what);
      const bool is_int = attr.kind == Attribute::kInt;
      h5::Handle a = h5::checked(
          H5Acreate2(root, attr.name.c_str(), is_int ? H5T_STD_I64LE : H5T_IEEE_F64LE, space.get(),
                     H5P_DEFAULT, H5P_DEFAULT), what);
      h5::ok(is_int ? H5Awrite(a.get(), H5T_NATIVE_INT64, &attr.int_value)
                         : H5Awrite(a.get(), H5T_NATIVE_DOUBLE, &attr.float_value),
                  what);
      break;
    }
    case Attribute::kBool: {
      // h5py's boolean: an 8-bit enum {FALSE = 0, TRUE = 1}, read back as numpy.bool_.
      h5::Handle type = h5::checked(H5Tenum_create(H5T_NATIVE_INT8), what);
      const int8_t no = 0, yes = 1;
      h5::ok(H5Tenum_insert(type.get(), "FALSE", &no), what);
      h5::ok(H5Tenum_insert(type.get(), "TRUE", &yes), what);
      h5::Handle space = h5::checked(H5Screate(H5S_SCALAR), what);
      h5::Handle a = h5::checked(
          H5Acreate2(root, attr.name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), what);
      const int8_t v = attr.int_value ? 1 : 0;
      h5::ok(H5Awrite(a.get(), type.get(), &v), what);
      break;
    }
    case Attribute::kString: {
      h5::Handle type = h5::checked(H5Tcopy(H5T_C_S1), what);
      h5::ok(H5Tset_size(type.get(), H5T_VARIABLE), what);
      h5::ok(H5Tset_cset(type.get(), H5T_CSET_UTF8), what);
      h5::Handle space = h5::checked(H5Screate(H5S_SCALAR), what);
      h5::Handle a = h5::checked(
          H5Acreate2(root, attr.name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), what);
      const char* text = attr.string_value.c_str();
      h5::ok(H5Awrite(a.get(), type.get(), &text), what);
      break;
    }
    case Attribute::kStringList: {
      // h5py reads an array of variable-length UTF-8 strings as a list of str.
      h5::Handle type = h5::checked(H5Tcopy(H5T_C_S1), what);
      h5::ok(H5Tset_size(type.get(), H5T_VARIABLE), what);
      h5::ok(H5Tset_cset(type.get(), H5T_CSET_UTF8), what);
      const hsize_t n = attr.string_list.size();
      h5::Handle space = h5::checked(H5Screate_simple(1, &n, nullptr), what);
      h5::Handle a = h5::checked(H5Acreate2(root, attr.name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), what);
      std::vector<const char*> texts;
      for (const std::string& t : attr.string_list) texts.push_back(t.c_str());
      if (n > 0) h5::ok(H5Awrite(a.get(), type.get(), texts.data()), what);
      break;
    }
    case Attribute::kIntList:
    case Attribute::kFloatList: {
      const bool is_int = attr.kind == Attribute::kIntList;
      const hsize_t n = is_int ? attr.int_list.size() : attr.float_list.size();
      h5::Handle space = h5::checked(H5Screate_simple(1, &n, nullptr), what);
      h5::Handle a = h5::checked(
          H5Acreate2(root, attr.name.c_str(), is_int ? H5T_STD_I64LE : H5T_IEEE_F64LE, space.get(),
                     H5P_DEFAULT, H5P_DEFAULT), what);
      if (n > 0) {
        h5::ok(is_int ? H5Awrite(a.get(), H5T_NATIVE_INT64, attr.int_list.data())
                           : H5Awrite(a.get(), H5T_NATIVE_DOUBLE, attr.float_list.data()),
                    what);
      }
      break;
    }
  }
}

}  // namespace ohlc::storage::h5
