// Filesystem steps every writer shares: a dataset is built under a temporary name and moved to its
// final name only when complete, so no reader ever sees a half-written file under a final name.
#pragma once

#include <string>

namespace ohlc::storage {

// Moves `temp` (a file or a directory) to `final_path`. Without `overwrite`, an existing
// final_path is an error; with it, the old one is replaced (a directory is removed first).
void move_into_place(const std::string& temp, const std::string& final_path, bool overwrite);

// Removes a file or a directory tree; never throws.
void remove_quietly(const std::string& path) noexcept;

// Creates a directory (and its parents); throws StorageError naming the path on failure.
void make_directories(const std::string& path);

// Flushes a file's data to disk (fsync); throws on failure.
void sync_file(const std::string& path);

}  // namespace ohlc::storage
