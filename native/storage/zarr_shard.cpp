#include "storage/zarr_shard.hpp"

#include <limits>
#include <utility>

#include "storage/encode.hpp"
#include "storage/sink.hpp"

namespace ohlc::storage {
namespace {

constexpr uint64_t kEmpty = std::numeric_limits<uint64_t>::max();

std::string hidden_temp(const std::string& key_path) {
  const size_t slash = key_path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "" : key_path.substr(0, slash + 1);
  const std::string name = slash == std::string::npos ? key_path : key_path.substr(slash + 1);
  return dir + "." + name + ".partial";
}

void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

ShardFile::ShardFile(std::string key_path, uint64_t slots)
    : key_path_(std::move(key_path)), temp_path_(hidden_temp(key_path_)), index_(2 * slots, kEmpty) {
  file_ = File::create(temp_path_);
}

ShardFile::~ShardFile() {
  if (done_) return;
  file_ = File();  // closes
  remove_quietly(temp_path_);
}

void ShardFile::add(uint64_t slot, const std::vector<uint8_t>& encoded) {
  if (2 * slot + 1 >= index_.size() || index_[2 * slot] != kEmpty)
    throw StorageError("shard " + key_path_ + ": inner chunk " + std::to_string(slot) + " is out of order");
  file_.write(encoded.data(), encoded.size());
  index_[2 * slot] = size_;
  index_[2 * slot + 1] = encoded.size();
  size_ += encoded.size();
}

void ShardFile::finish() {
  std::vector<uint8_t> tail(index_.size() * 8 + 4);
  for (size_t i = 0; i < index_.size(); ++i) put_u64(tail.data() + 8 * i, index_[i]);
  const uint32_t crc = crc32c_of(tail.data(), index_.size() * 8);
  for (int i = 0; i < 4; ++i) tail[index_.size() * 8 + i] = static_cast<uint8_t>(crc >> (8 * i));
  file_.write(tail.data(), tail.size());
  file_.close();
  move_into_place(temp_path_, key_path_, false);
  done_ = true;
}

}  // namespace ohlc::storage
