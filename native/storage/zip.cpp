#include "storage/zip.hpp"

#include <algorithm>
#include <ctime>

#include "storage/sink.hpp"

namespace ohlc::storage::zip {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint32_t kMax32 = 0xffffffffu;

struct Writer {
  std::vector<uint8_t> b;
  void u16(uint32_t v) { b.push_back(v & 0xff); b.push_back((v >> 8) & 0xff); }
  void u32(uint32_t v) { u16(v & 0xffff); u16(v >> 16); }
  void u64(uint64_t v) { u32(static_cast<uint32_t>(v)); u32(static_cast<uint32_t>(v >> 32)); }
  void str(const std::string& s) { b.insert(b.end(), s.begin(), s.end()); }
};

uint32_t get16(const uint8_t* p) { return p[0] | (p[1] << 8); }
uint32_t get32(const uint8_t* p) { return get16(p) | (get16(p + 2) << 16); }
uint64_t get64(const uint8_t* p) { return get32(p) | (static_cast<uint64_t>(get32(p + 4)) << 32); }

bool needs_zip64(const Entry& e) { return e.compressed >= kMax32 || e.uncompressed >= kMax32; }

}  // namespace

uint32_t dos_time_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  const uint32_t date = ((tm.tm_year - 80) << 9) | ((tm.tm_mon + 1) << 5) | tm.tm_mday;
  const uint32_t time = (tm.tm_hour << 11) | (tm.tm_min << 5) | (tm.tm_sec / 2);
  return (date << 16) | time;
}

size_t local_header_size(const std::string& name, bool zip64) { return 30 + name.size() + (zip64 ? 20 : 0); }

std::vector<uint8_t> local_header(const Entry& e, uint32_t dos_time) {
  const bool z64 = e.zip64_local || needs_zip64(e);
  Writer w;
  w.u32(kLocalSig);
  w.u16(z64 ? 45 : 20);
  w.u16(0x0800);  // UTF-8 names
  w.u16(e.method);
  w.u32(dos_time);
  w.u32(e.crc);
  w.u32(z64 ? kMax32 : static_cast<uint32_t>(e.compressed));
  w.u32(z64 ? kMax32 : static_cast<uint32_t>(e.uncompressed));
  w.u16(static_cast<uint32_t>(e.name.size()));
  w.u16(z64 ? 20 : 0);
  w.str(e.name);
  if (z64) {
    w.u16(0x0001);
    w.u16(16);
    w.u64(e.uncompressed);
    w.u64(e.compressed);
  }
  return w.b;
}

std::vector<uint8_t> central_directory(const std::vector<Entry>& entries, uint64_t offset, uint32_t dos_time) {
  Writer w;
  for (const Entry& e : entries) {
    const bool big_sizes = e.zip64_local || needs_zip64(e);
    const bool big_offset = e.header_offset >= kMax32;
    std::vector<uint64_t> extra;
    if (big_sizes) {
      extra.push_back(e.uncompressed);
      extra.push_back(e.compressed);
    }
    if (big_offset) extra.push_back(e.header_offset);
    w.u32(kCentralSig);
    w.u16(45 | (3 << 8));  // made by: Unix, spec 4.5
    w.u16(big_sizes || big_offset ? 45 : 20);
    w.u16(0x0800);
    w.u16(e.method);
    w.u32(dos_time);
    w.u32(e.crc);
    w.u32(big_sizes ? kMax32 : static_cast<uint32_t>(e.compressed));
    w.u32(big_sizes ? kMax32 : static_cast<uint32_t>(e.uncompressed));
    w.u16(static_cast<uint32_t>(e.name.size()));
    w.u16(extra.empty() ? 0 : static_cast<uint32_t>(4 + 8 * extra.size()));
    w.u16(0);                      // comment
    w.u16(0);                      // disk
    w.u16(0);                      // internal attributes
    w.u32(0100644u << 16);         // external: a regular file, rw-r--r--
    w.u32(big_offset ? kMax32 : static_cast<uint32_t>(e.header_offset));
    w.str(e.name);
    if (!extra.empty()) {
      w.u16(0x0001);
      w.u16(static_cast<uint32_t>(8 * extra.size()));
      for (uint64_t v : extra) w.u64(v);
    }
  }
  const uint64_t size = w.b.size();
  const uint64_t count = entries.size();
  const bool z64 = count >= 0xffff || size >= kMax32 || offset >= kMax32;
  if (z64) {
    const uint64_t z64_offset = offset + size;
    w.u32(kZip64EndSig);
    w.u64(44);
    w.u16(45 | (3 << 8));
    w.u16(45);
    w.u32(0);
    w.u32(0);
    w.u64(count);
    w.u64(count);
    w.u64(size);
    w.u64(offset);
    w.u32(kZip64LocatorSig);
    w.u32(0);
    w.u64(z64_offset);
    w.u32(1);
  }
  w.u32(kEndSig);
  w.u16(0);
  w.u16(0);
  w.u16(z64 ? 0xffff : static_cast<uint32_t>(count));
  w.u16(z64 ? 0xffff : static_cast<uint32_t>(count));
  w.u32(z64 ? kMax32 : static_cast<uint32_t>(size));
  w.u32(z64 ? kMax32 : static_cast<uint32_t>(offset));
  w.u16(0);
  return w.b;
}

std::vector<Entry> read_directory(const File& file) {
  const std::string& what = file.path();
  const uint64_t size = file.size();
  if (size < 22) throw StorageError(what + " is not a ZIP/NPZ archive (too short)");
  const size_t tail = static_cast<size_t>(std::min<uint64_t>(size, 22 + 65535 + 20));
  std::vector<uint8_t> buf(tail);
  file.read_at(size - tail, buf.data(), tail);
  size_t end = std::string::npos;
  for (size_t i = tail - 22 + 1; i-- > 0;) {
    if (get32(&buf[i]) == kEndSig) {
      end = i;
      break;
    }
  }
  if (end == std::string::npos) throw StorageError(what + " is not a ZIP/NPZ archive (no end of central directory; truncated?)");
  uint64_t count = get16(&buf[end + 10]);
  uint64_t cd_size = get32(&buf[end + 12]);
  uint64_t cd_offset = get32(&buf[end + 16]);
  if ((count == 0xffff || cd_size == kMax32 || cd_offset == kMax32) && end >= 20 &&
      get32(&buf[end - 20]) == kZip64LocatorSig) {
    const uint64_t rec = get64(&buf[end - 20 + 8]);
    uint8_t z[56];
    if (rec + 56 > size) throw StorageError(what + ": bad ZIP64 end record");
    file.read_at(rec, z, sizeof z);
    if (get32(z) != kZip64EndSig) throw StorageError(what + ": bad ZIP64 end record");
    count = get64(z + 32);
    cd_size = get64(z + 40);
    cd_offset = get64(z + 48);
  }
  if (cd_offset + cd_size > size || cd_size > (uint64_t{1} << 32))
    throw StorageError(what + ": central directory out of range (truncated?)");
  std::vector<uint8_t> cd(static_cast<size_t>(cd_size));
  file.read_at(cd_offset, cd.data(), cd.size());
  std::vector<Entry> out;
  size_t p = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (p + 46 > cd.size() || get32(&cd[p]) != kCentralSig) throw StorageError(what + ": corrupt central directory");
    Entry e;
    e.method = static_cast<uint16_t>(get16(&cd[p + 10]));
    e.crc = get32(&cd[p + 16]);
    e.compressed = get32(&cd[p + 20]);
    e.uncompressed = get32(&cd[p + 24]);
    const size_t name_len = get16(&cd[p + 28]), extra_len = get16(&cd[p + 30]), comment_len = get16(&cd[p + 32]);
    e.header_offset = get32(&cd[p + 42]);
    if (p + 46 + name_len + extra_len + comment_len > cd.size()) throw StorageError(what + ": corrupt central directory");
    e.name.assign(reinterpret_cast<const char*>(&cd[p + 46]), name_len);
    // ZIP64: the fields set to 0xffffffff follow in the extra record, in this order.
    size_t x = p + 46 + name_len;
    const size_t x_end = x + extra_len;
    while (x + 4 <= x_end) {
      const uint32_t id = get16(&cd[x]), len = get16(&cd[x + 2]);
      if (x + 4 + len > x_end) throw StorageError(what + ": corrupt central directory (extra field)");
      size_t q = x + 4;
      if (id == 0x0001) {
        auto take = [&](uint64_t& field) {
          if (field == kMax32 && q + 8 <= x + 4 + len) {
            field = get64(&cd[q]);
            q += 8;
          }
        };
        take(e.uncompressed);
        take(e.compressed);
        take(e.header_offset);
      }
      x += 4 + len;
    }
    out.push_back(std::move(e));
    p += 46 + name_len + extra_len + comment_len;
  }
  return out;
}

void locate_data(const File& file, Entry& e) {
  uint8_t h[30];
  file.read_at(e.header_offset, h, sizeof h);
  if (get32(h) != kLocalSig) throw StorageError(file.path() + ": corrupt local header of " + e.name);
  e.data_offset = e.header_offset + 30 + get16(h + 26) + get16(h + 28);
  if (e.data_offset + e.compressed > file.size())
    throw StorageError(file.path() + " is truncated (member " + e.name + " runs past the end)");
}

}  // namespace ohlc::storage::zip
