// Filesystem steps every writer shares: a dataset is built under a temporary name and moved to its
// final name only when complete, so no reader ever sees a half-written file under a final name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ohlc::storage {

// Moves `temp` (a file or a directory) to `final_path`. Without `overwrite`, an existing
// final_path is an error; with it, the old one is replaced (a directory is removed first).
void move_into_place(const std::string& temp, const std::string& final_path, bool overwrite);

// Removes a file or a directory tree; never throws.
void remove_quietly(const std::string& path) noexcept;

// Creates a directory (and its parents); throws StorageError naming the path on failure.
void make_directories(const std::string& path);

// Throws StorageError unless `path` (links followed) is a regular file: opening a FIFO blocks
// until a writer comes, a device or socket never ends.
void require_regular_file(const std::string& path);

// Flushes a file's data to disk (fsync); throws on failure.
void sync_file(const std::string& path);

}  // namespace ohlc::storage

namespace ohlc::storage {

// A file descriptor with whole-buffer reads and writes that throw StorageError naming the path.
class File {
 public:
  static File create(const std::string& path);  // new file, fails if it exists
  static File open_read(const std::string& path);
  File() = default;
  File(File&& o) noexcept;
  File& operator=(File&& o) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File();

  void write(const void* data, size_t bytes);                 // at the end
  void write_at(uint64_t offset, const void* data, size_t bytes);
  void read_at(uint64_t offset, void* data, size_t bytes) const;  // exact, else throws
  uint64_t size() const;
  void sync();
  void close();
  bool is_open() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace ohlc::storage
