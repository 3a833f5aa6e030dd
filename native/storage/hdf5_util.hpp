// libhdf5 plumbing: one process-wide lock (libhdf5 builds are not all thread-safe, and calls come
// from libuv worker threads), automatic error printing turned off, and HDF5's error stack turned
// into one readable message.
#pragma once

#include <hdf5.h>

#include <mutex>
#include <string>

#include "storage/sink.hpp"

namespace ohlc::storage::h5 {

// Held for the duration of every sequence of HDF5 calls.
class Lock {
 public:
  Lock();
 private:
  std::unique_lock<std::recursive_mutex> lock_;
};

// The innermost messages of the calling thread's HDF5 error stack.
std::string error_detail();

// Throws StorageError("<what>: <HDF5's detail>").
[[noreturn]] void fail(const std::string& what);

// Closes an hid_t of any kind when it goes out of scope.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  Handle(Handle&& o) noexcept : id_(o.id_) { o.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      o.id_ = H5I_INVALID_HID;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }
  hid_t get() const { return id_; }
  hid_t release() noexcept {
    const hid_t id = id_;
    id_ = H5I_INVALID_HID;
    return id;
  }
  explicit operator bool() const { return id_ >= 0; }
  void reset() noexcept;

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// A checked id: throws with `what` when the call failed.
inline Handle checked(hid_t id, const std::string& what) {
  if (id < 0) fail(what);
  return Handle(id);
}
inline void ok(herr_t rc, const std::string& what) {
  if (rc < 0) fail(what);
}

// Writes (or replaces) one attribute of the object `obj` (a file's root, a dataset): the
// encodings docs/DATASET.md describes (h5py's enum bool, variable-length UTF-8 strings).
void write_attribute(hid_t obj, const Attribute& attr);

// Little-endian file type of an element type.
hid_t file_type(ElemType t);

}  // namespace ohlc::storage::h5
