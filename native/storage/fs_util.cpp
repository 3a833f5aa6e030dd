#include "storage/fs_util.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "storage/sink.hpp"

namespace fs = std::filesystem;

namespace ohlc::storage {

void move_into_place(const std::string& temp, const std::string& final_path, bool overwrite) {
  std::error_code ec;
  if (fs::exists(final_path, ec)) {
    if (!overwrite) throw StorageError(final_path + " already exists (pass overwrite to replace it)");
    if (fs::is_directory(final_path, ec)) {
      // rename(2) cannot replace a non-empty directory: move the old one aside first.
      const std::string aside = final_path + ".replaced.partial";
      fs::remove_all(aside, ec);
      fs::rename(final_path, aside, ec);
      if (ec) throw StorageError("cannot replace " + final_path + ": " + ec.message());
      fs::rename(temp, final_path, ec);
      if (ec) {
        std::error_code ignore;
        fs::rename(aside, final_path, ignore);
        throw StorageError("cannot move " + temp + " to " + final_path + ": " + ec.message());
      }
      fs::remove_all(aside, ec);
      return;
    }
  }
  fs::rename(temp, final_path, ec);
  if (ec) throw StorageError("cannot move " + temp + " to " + final_path + ": " + ec.message());
}

void remove_quietly(const std::string& path) noexcept {
  std::error_code ec;
  fs::remove_all(path, ec);
}

void make_directories(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) throw StorageError("cannot create directory " + path + ": " + ec.message());
}

void sync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw StorageError("cannot open " + path + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw StorageError("cannot flush " + path + ": " + std::strerror(err));
}

}  // namespace ohlc::storage

namespace ohlc::storage {

namespace {
[[noreturn]] void io_fail(const std::string& what, const std::string& path, int err) {
  throw StorageError(what + " " + path + ": " + std::strerror(err));
}
}  // namespace

File File::create(const std::string& path) {
  File f;
  f.path_ = path;
  f.fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (f.fd_ < 0) io_fail("cannot create", path, errno);
  return f;
}

void require_regular_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) io_fail("cannot open", path, errno);
  if (!S_ISREG(st.st_mode)) throw StorageError(path + " is not a regular file");
}

File File::open_read(const std::string& path) {
  // The TS layer refuses such paths with the kind named; this keeps a worker thread from blocking
  // forever in open() on a FIFO should one get here anyway.
  require_regular_file(path);
  File f;
  f.path_ = path;
  f.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd_ < 0) io_fail("cannot open", path, errno);
  return f;
}

File::File(File&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }

File& File::operator=(File&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    path_ = std::move(o.path_);
    o.fd_ = -1;
  }
  return *this;
}

File::~File() {
  if (fd_ >= 0) ::close(fd_);
}

void File::write(const void* data, size_t bytes) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (bytes > 0) {
    const ssize_t n = ::write(fd_, p, bytes);
    if (n < 0) {
      if (errno == EINTR) continue;
      io_fail("cannot write", path_, errno);
    }
    p += n;
    bytes -= static_cast<size_t>(n);
  }
}

void File::write_at(uint64_t offset, const void* data, size_t bytes) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (bytes > 0) {
    const ssize_t n = ::pwrite(fd_, p, bytes, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      io_fail("cannot write", path_, errno);
    }
    p += n;
    offset += static_cast<uint64_t>(n);
    bytes -= static_cast<size_t>(n);
  }
}

void File::read_at(uint64_t offset, void* data, size_t bytes) const {
  auto* p = static_cast<uint8_t*>(data);
  while (bytes > 0) {
    const ssize_t n = ::pread(fd_, p, bytes, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      io_fail("cannot read", path_, errno);
    }
    if (n == 0) throw StorageError(path_ + " is truncated (unexpected end of file)");
    p += n;
    offset += static_cast<uint64_t>(n);
    bytes -= static_cast<size_t>(n);
  }
}

uint64_t File::size() const {
  const off_t end = ::lseek(fd_, 0, SEEK_END);
  if (end < 0) io_fail("cannot seek", path_, errno);
  return static_cast<uint64_t>(end);
}

void File::sync() {
  if (::fsync(fd_) != 0) io_fail("cannot flush", path_, errno);
}

void File::close() {
  if (fd_ < 0) return;
  const int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) io_fail("cannot close", path_, errno);
}

}  // namespace ohlc::storage
