#include "storage/fs_util.hpp"

#include <fcntl.h>
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
