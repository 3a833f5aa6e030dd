#include "kernels/zip_member.hpp"

#include <libdeflate.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <new>

namespace ohlc {

const uint8_t* zip_member_data(const uint8_t* archive, size_t archive_size, const ZipMemberSpec& spec) {
  if (archive == nullptr && archive_size != 0) return nullptr;
  if (spec.data_offset > archive_size || spec.compressed_size > archive_size - spec.data_offset) return nullptr;
  return archive + spec.data_offset;
}

ZipInflateResult inflate_zip_member(const uint8_t* archive, size_t archive_size, const ZipMemberSpec& spec,
                                    uint8_t* out) {
  ZipInflateResult r;
  if (spec.method != 0 && spec.method != 8) {
    r.status = ZipInflateResult::kBadMethod;
    return r;
  }
  const uint8_t* in = zip_member_data(archive, archive_size, spec);
  if (in == nullptr) {
    r.status = ZipInflateResult::kOutOfBounds;
    return r;
  }
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
