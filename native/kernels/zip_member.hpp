// One member of a ZIP archive held in memory -> its bytes, checked against what the archive
// declares. Plain C++ (no Node-API). The ZIP structure itself (central directory, local header)
// is read elsewhere (yauzl, in ts/data/zip.ts), which hands over where the member's data lies and
// what it claims to be; this inflates it with libdeflate in one whole-buffer call into exactly the
// declared number of bytes (so a lying header can never make it write more) and checks the
// CRC-32. A large member (a month of 1s candles: ~350 MB of CSV) can instead be inflated slice by
// slice with zlib's streaming inflate, each slice handed to a consumer (the parser) and dropped,
// with the same checks, from the archive in memory or from its file, read a block at a time (so a
// cached 140 MB archive is never held whole either).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace ohlc {

// What the archive's central directory says about a member.
struct ZipMemberSpec {
  uint64_t data_offset = 0;        // where its compressed bytes start in the archive
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;  // the output holds exactly this many bytes
  uint32_t crc32 = 0;              // of the uncompressed bytes
  int32_t method = 8;              // 0 stored, 8 deflate
};

struct ZipInflateResult {
  enum Status {
    kOk = 0,
    kOutOfBounds,     // the compressed bytes run past the end of the archive (truncated)
    kBadMethod,       // neither stored nor deflate
    kBadData,         // not a valid deflate stream, or one cut short
    kTooShort,        // the stream ends before the declared size
    kTooLong,         // the stream holds more than the declared size
    kStoredMismatch,  // a stored member whose two sizes differ
    kBadCrc,          // the bytes do not match the declared CRC-32
    kCancelled,       // the cancel flag was set (streaming only)
    kReadError,       // the archive's file could not be opened or read (streaming from a file only)
  };
  Status status = kOk;
  uint64_t actual_size = 0;  // bytes produced (kTooShort)
  uint32_t actual_crc = 0;   // of the bytes produced (kBadCrc)
  int error_number = 0;      // errno of a kReadError
};

// Where an archive's bytes come from for the slice-by-slice inflater: memory, or a file.
class ArchiveBytes {
 public:
  virtual ~ArchiveBytes() = default;
  // The archive's size in bytes; 0 with *error_number set when it cannot be opened.
  virtual uint64_t size() const = 0;
  // The most bytes one read hands out.
  virtual size_t max_read() const = 0;
  // n (<= max_read()) bytes at offset (offset + n <= size()), valid until the next call; nullptr
  // (errno in *error_number) when they cannot be read.
  virtual const uint8_t* read(uint64_t offset, size_t n, int* error_number) = 0;
  // errno of a failed open, else 0.
  virtual int open_error() const { return 0; }
};

// An archive held in memory: reads are pointers into it.
class MemoryArchive final : public ArchiveBytes {
 public:
  MemoryArchive(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint64_t size() const override { return size_; }
  size_t max_read() const override { return size_t{1} << 30; }  // zlib counts input in 32 bits
  const uint8_t* read(uint64_t offset, size_t, int*) override { return data_ + offset; }

 private:
  const uint8_t* data_;
  size_t size_;
};

// An archive's file, read with pread a block at a time into one reused buffer: memory is one
// block, whatever the archive's size. Opened by the constructor, closed by the destructor.
class FileArchive final : public ArchiveBytes {
 public:
  explicit FileArchive(const std::string& path);
  ~FileArchive() override;
  FileArchive(const FileArchive&) = delete;
  FileArchive& operator=(const FileArchive&) = delete;
  uint64_t size() const override { return size_; }
  size_t max_read() const override { return kBlockBytes; }
  const uint8_t* read(uint64_t offset, size_t n, int* error_number) override;
  int open_error() const override { return open_error_; }

 private:
  static constexpr size_t kBlockBytes = size_t{1} << 20;
  int fd_ = -1;
  uint64_t size_ = 0;
  int open_error_ = 0;
  std::unique_ptr<uint8_t[]> block_;
};

// The member's bytes within the archive, or nullptr when they do not fit in [archive, +size).
const uint8_t* zip_member_data(const uint8_t* archive, size_t archive_size, const ZipMemberSpec& spec);

// Inflates (or copies, when stored) the member into out, which holds spec.uncompressed_size
// bytes (and is not null, even for 0), and checks its size and CRC-32. Never reads outside the
// archive or writes outside out. Bytes after the end of the deflate stream but inside the
// compressed size are ignored, as zlib does.
ZipInflateResult inflate_zip_member(const uint8_t* archive, size_t archive_size, const ZipMemberSpec& spec,
                                    uint8_t* out);

// Receives the member's bytes a slice at a time, in order.
using ZipSliceConsumer = std::function<void(const uint8_t* data, size_t size)>;

// The member's bytes in slices of at most slice_bytes (> 0): inflated by zlib into one reused
// buffer of that size, or, for a stored member, slices of the archive itself; each slice goes to
// consume. The checks and statuses are inflate_zip_member's for the same damage (a stream holding
// more than the declared size is cut there, kTooLong, without passing the excess on; a stream cut
// short is kBadData); the CRC-32 is computed as the slices pass, so consume sees every slice
// before a kBadCrc or kTooShort verdict. Never reads outside the archive. Memory: one slice and
// zlib's 32 KiB window. cancel, when set, is polled between slices (kCancelled).
ZipInflateResult inflate_zip_member_slices(const uint8_t* archive, size_t archive_size, const ZipMemberSpec& spec,
                                           size_t slice_bytes, const ZipSliceConsumer& consume,
                                           const std::atomic<bool>* cancel = nullptr);
// The same from any source of the archive's bytes (a FileArchive: the member is read from disk a
// block at a time; a file that cannot be opened or read is kReadError).
ZipInflateResult inflate_zip_member_slices(ArchiveBytes& archive, const ZipMemberSpec& spec, size_t slice_bytes,
                                           const ZipSliceConsumer& consume, const std::atomic<bool>* cancel = nullptr);

// What went wrong, as a phrase following the member's name ("fails its CRC-32 check ...").
std::string describe_zip_inflate(const ZipInflateResult& result, const ZipMemberSpec& spec);

}  // namespace ohlc
