#include "kernels/zip_member.hpp"

#include <libdeflate.h>
#include <zlib.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>

namespace ohlc {

const uint8_t* zip_member_data(const uint8_t* archive, size_t archive_size, const ZipMemberSpec& spec) {
  if (archive == nullptr && archive_size != 0) return nullptr;
  if (spec.data_offset > archive_size || spec.compressed_size > archive_size - spec.data_offset) return nullptr;
  return archive + spec.data_offset;
}

namespace {

// The member's data if its method is stored or deflate and its bytes lie inside the archive;
// else nullptr with r->status saying which.
const uint8_t* checked_member_data(const uint8_t* archive, size_t archive_size, const ZipMemberSpec& spec,
                                   ZipInflateResult* r) {
  if (spec.method != 0 && spec.method != 8) {
    r->status = ZipInflateResult::kBadMethod;
    return nullptr;
  }
  const uint8_t* in = zip_member_data(archive, archive_size, spec);
  if (in == nullptr) r->status = ZipInflateResult::kOutOfBounds;
  return in;
}

}  // namespace

ZipInflateResult inflate_zip_member(const uint8_t* archive, size_t archive_size, const ZipMemberSpec& spec,
                                    uint8_t* out) {
  ZipInflateResult r;
  const uint8_t* in = checked_member_data(archive, archive_size, spec, &r);
  if (in == nullptr) return r;
  const size_t out_size = static_cast<size_t>(spec.uncompressed_size);
  if (spec.method == 0) {
    if (spec.compressed_size != spec.uncompressed_size) {
      r.status = ZipInflateResult::kStoredMismatch;
      return r;
    }
    if (out_size > 0) std::memcpy(out, in, out_size);
    r.actual_size = out_size;
  } else {
    std::unique_ptr<libdeflate_decompressor, void (*)(libdeflate_decompressor*)> d(
        libdeflate_alloc_decompressor(), libdeflate_free_decompressor);
    if (!d) throw std::bad_alloc();
    size_t in_used = 0;
    size_t produced = 0;
    // The output buffer is exactly the declared size: a stream holding more stops there with
    // LIBDEFLATE_INSUFFICIENT_SPACE instead of writing on.
    const libdeflate_result lr = libdeflate_deflate_decompress_ex(
        d.get(), in, static_cast<size_t>(spec.compressed_size), out, out_size, &in_used, &produced);
    if (lr == LIBDEFLATE_INSUFFICIENT_SPACE) {
      r.status = ZipInflateResult::kTooLong;
      return r;
    }
    if (lr != LIBDEFLATE_SUCCESS) {
      r.status = ZipInflateResult::kBadData;
      return r;
    }
    r.actual_size = produced;
    if (produced != out_size) {
      r.status = ZipInflateResult::kTooShort;
      return r;
    }
  }
  r.actual_crc = out_size > 0 ? libdeflate_crc32(0, out, out_size) : 0;
  if (r.actual_crc != spec.crc32) r.status = ZipInflateResult::kBadCrc;
  return r;
}

namespace {

// zlib's inflate state, freed whatever happens.
class RawInflater {
 public:
  RawInflater() {
    std::memset(&z_, 0, sizeof z_);
    const int rc = inflateInit2(&z_, -MAX_WBITS);  // raw deflate, as ZIP stores it
    if (rc == Z_MEM_ERROR) throw std::bad_alloc();
    if (rc != Z_OK) throw std::runtime_error("zlib inflateInit2 failed");
  }
  ~RawInflater() { inflateEnd(&z_); }
  RawInflater(const RawInflater&) = delete;
  RawInflater& operator=(const RawInflater&) = delete;
  z_stream* get() { return &z_; }

 private:
  z_stream z_;
};

bool is_cancelled(const std::atomic<bool>* cancel) {
  return cancel != nullptr && cancel->load(std::memory_order_relaxed);
}

}  // namespace

ZipInflateResult inflate_zip_member_slices(const uint8_t* archive, size_t archive_size, const ZipMemberSpec& spec,
                                           size_t slice_bytes, const ZipSliceConsumer& consume,
                                           const std::atomic<bool>* cancel) {
  if (archive == nullptr && archive_size != 0) {
    ZipInflateResult r;
    r.status = ZipInflateResult::kOutOfBounds;
    return r;
  }
  MemoryArchive bytes(archive, archive_size);
  return inflate_zip_member_slices(bytes, spec, slice_bytes, consume, cancel);
}

ZipInflateResult inflate_zip_member_slices(ArchiveBytes& archive, const ZipMemberSpec& spec, size_t slice_bytes,
                                           const ZipSliceConsumer& consume, const std::atomic<bool>* cancel) {
  ZipInflateResult r;
  if (archive.open_error() != 0) {
    r.status = ZipInflateResult::kReadError;
    r.error_number = archive.open_error();
    return r;
  }
  if (spec.method != 0 && spec.method != 8) {
    r.status = ZipInflateResult::kBadMethod;
    return r;
  }
  const uint64_t archive_size = archive.size();
  if (spec.data_offset > archive_size || spec.compressed_size > archive_size - spec.data_offset) {
    r.status = ZipInflateResult::kOutOfBounds;
    return r;
  }
  if (slice_bytes == 0) slice_bytes = 1;
  const uint64_t declared = spec.uncompressed_size;
  uint32_t crc = 0;
  // The next max_read() bytes of the member's data from `at`, or nullptr with r's kReadError.
  auto read_data = [&](uint64_t at, size_t n) -> const uint8_t* {
    const uint8_t* p = archive.read(spec.data_offset + at, n, &r.error_number);
    if (p == nullptr) r.status = ZipInflateResult::kReadError;
    return p;
  };

  if (spec.method == 0) {
    if (spec.compressed_size != declared) {
      r.status = ZipInflateResult::kStoredMismatch;
      return r;
    }
    const size_t step = std::min(slice_bytes, archive.max_read());
    for (uint64_t done = 0; done < declared;) {
      if (is_cancelled(cancel)) {
        r.status = ZipInflateResult::kCancelled;
        return r;
      }
      const size_t n = static_cast<size_t>(std::min<uint64_t>(step, declared - done));
      const uint8_t* in = read_data(done, n);
      if (in == nullptr) return r;
      crc = libdeflate_crc32(crc, in, n);
      consume(in, n);
      done += n;
    }
    r.actual_size = declared;
  } else {
    RawInflater inflater;
    z_stream* z = inflater.get();
    std::unique_ptr<uint8_t[]> slice(new uint8_t[slice_bytes]);
    uint64_t fed = 0;        // compressed bytes handed to zlib so far
    uint64_t produced = 0;   // bytes inflated so far
    bool ended = false;
    while (!ended) {
      if (is_cancelled(cancel)) {
        r.status = ZipInflateResult::kCancelled;
        return r;
      }
      if (z->avail_in == 0 && fed < spec.compressed_size) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(archive.max_read(), spec.compressed_size - fed));
        const uint8_t* in = read_data(fed, n);
        if (in == nullptr) return r;
        z->next_in = const_cast<Bytef*>(in);
        z->avail_in = static_cast<uInt>(n);
        fed += n;
      }
      // One byte of room past the declared size: producing it proves the stream is too long.
      const uint64_t room = std::min<uint64_t>(slice_bytes, declared - produced + 1);
      z->next_out = slice.get();
      z->avail_out = static_cast<uInt>(room);
      const int rc = inflate(z, Z_NO_FLUSH);
      const size_t n = static_cast<size_t>(room - z->avail_out);
      if (rc == Z_MEM_ERROR) throw std::bad_alloc();
      if (rc == Z_STREAM_END) {
        ended = true;
      } else if (rc == Z_BUF_ERROR) {
        // No progress possible: the input is used up before the stream's end (truncated).
        if (z->avail_in == 0 && fed >= spec.compressed_size) {
          r.status = ZipInflateResult::kBadData;
          return r;
        }
      } else if (rc != Z_OK) {
        r.status = ZipInflateResult::kBadData;  // Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR
        return r;
      }
      if (produced + n > declared) {
        r.status = ZipInflateResult::kTooLong;
        return r;
      }
      if (n > 0) {
        crc = libdeflate_crc32(crc, slice.get(), n);
        consume(slice.get(), n);
        produced += n;
      } else if (!ended && z->avail_in == 0 && fed >= spec.compressed_size) {
        r.status = ZipInflateResult::kBadData;  // everything read, nothing more coming
        return r;
      }
    }
    r.actual_size = produced;
    if (produced != declared) {
      r.status = ZipInflateResult::kTooShort;
      return r;
    }
  }
  r.actual_crc = crc;
  if (crc != spec.crc32) r.status = ZipInflateResult::kBadCrc;
  return r;
}

FileArchive::FileArchive(const std::string& path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    open_error_ = errno;
    return;
  }
  struct stat st;
  if (::fstat(fd_, &st) != 0) {
    open_error_ = errno;
    return;
  }
  if (!S_ISREG(st.st_mode)) {
    open_error_ = EINVAL;
    return;
  }
  size_ = static_cast<uint64_t>(st.st_size);
  block_.reset(new uint8_t[kBlockBytes]);
}

FileArchive::~FileArchive() {
  if (fd_ >= 0) ::close(fd_);
}

const uint8_t* FileArchive::read(uint64_t offset, size_t n, int* error_number) {
  size_t got = 0;
  while (got < n) {
    const ssize_t k = ::pread(fd_, block_.get() + got, n - got, static_cast<off_t>(offset + got));
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      // 0: the file shrank under us since it was measured.
      *error_number = k < 0 ? errno : EIO;
      return nullptr;
    }
    got += static_cast<size_t>(k);
  }
  return block_.get();
}

std::string describe_zip_inflate(const ZipInflateResult& r, const ZipMemberSpec& spec) {
  const std::string declared = std::to_string(spec.uncompressed_size);
  switch (r.status) {
    case ZipInflateResult::kOk:
      return "is intact";
    case ZipInflateResult::kOutOfBounds:
      return "runs past the end of the archive (truncated)";
    case ZipInflateResult::kBadMethod:
      return "uses compression method " + std::to_string(spec.method) + ", not deflate";
    case ZipInflateResult::kBadData:
      return "holds corrupt or truncated deflate data";
    case ZipInflateResult::kTooShort:
      return "inflates to " + std::to_string(r.actual_size) + " bytes, not the " + declared + " it declares";
    case ZipInflateResult::kTooLong:
      return "inflates to more than the " + declared + " bytes it declares";
    case ZipInflateResult::kStoredMismatch:
      return "is stored uncompressed in " + std::to_string(spec.compressed_size) + " bytes but declares " + declared;
    case ZipInflateResult::kCancelled:
      return "was not read to the end (cancelled)";
    case ZipInflateResult::kReadError:
      return std::string("could not be read from the archive's file: ") + std::strerror(r.error_number);
    case ZipInflateResult::kBadCrc: {
      char crcs[64];
      std::snprintf(crcs, sizeof crcs, "CRC-32 %08x, not the %08x it declares", static_cast<unsigned>(r.actual_crc),
                    static_cast<unsigned>(spec.crc32));
      return std::string("fails its CRC-32 check (corrupt data): ") + crcs;
    }
  }
  return "is unreadable";
}

}  // namespace ohlc
