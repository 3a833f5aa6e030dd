#include "kernels/jpeg_codec.hpp"

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <jpeglib.h>

namespace ohlc::jpeg {
namespace {

struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void on_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void on_message(j_common_ptr) {}  // warnings are not printed to stderr

// Errors return through err.jump (set by the caller) instead of exit(); warnings stay silent.
jpeg_error_mgr* error_manager(ErrorManager& err) {
  jpeg_error_mgr* mgr = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error;
  err.pub.output_message = on_message;
  return mgr;
}

// Only plain-old-data lives in the frames that setjmp guards, so longjmp skips no destructor.
bool compress(const uint8_t* gray, uint32_t height, uint32_t width, int quality, unsigned char** buf,
              unsigned long* size, char* message) {
  jpeg_compress_struct cinfo;
  ErrorManager err;
  cinfo.err = error_manager(err);
  if (setjmp(err.jump)) {
    std::strcpy(message, err.message);
    jpeg_destroy_compress(&cinfo);
    return false;
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, buf, size);
  cinfo.image_width = width;
  cinfo.image_height = height;
  cinfo.input_components = 1;
  cinfo.in_color_space = JCS_GRAYSCALE;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(gray + static_cast<size_t>(cinfo.next_scanline) * width);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  return true;
}

bool decompress_into(const uint8_t* data, size_t size, uint8_t* (*alloc)(void*, uint32_t, uint32_t),
                     void* ctx, char* message) {
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  cinfo.err = error_manager(err);
  if (setjmp(err.jump)) {
    std::strcpy(message, err.message);
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  cinfo.out_color_space = JCS_GRAYSCALE;
  jpeg_start_decompress(&cinfo);
  uint8_t* out = alloc(ctx, cinfo.output_height, cinfo.output_width);
  if (!out) {
    std::strcpy(message, "image too large for memory");
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = out + static_cast<size_t>(cinfo.output_scanline) * cinfo.output_width;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return true;
}

struct DecodeTarget {
  std::vector<uint8_t>* gray;
  uint32_t height = 0;
  uint32_t width = 0;
};

// Never throws (it runs inside the setjmp-guarded frame): nullptr when the memory is not there.
uint8_t* grow(void* ctx, uint32_t height, uint32_t width) {
  auto* t = static_cast<DecodeTarget*>(ctx);
  t->height = height;
  t->width = width;
  try {
    t->gray->resize(static_cast<size_t>(height) * width);
  } catch (...) {
    return nullptr;
  }
  return t->gray->data();
}

template <typename T>
bool to_gray(const T* px, size_t n, std::vector<uint8_t>& gray) {
  gray.resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (px[i] == T(1)) gray[i] = 255;
    else if (px[i] == T(0)) gray[i] = 0;
    else return false;
  }
  return true;
}

}  // namespace

bool encode_binary(const void* pixels, PixelType type, uint32_t height, uint32_t width, int quality,
                   std::vector<uint8_t>& gray, std::vector<uint8_t>& out, std::string* error) {
  const size_t n = static_cast<size_t>(height) * width;
  const bool ok = type == PixelType::U8 ? to_gray(static_cast<const uint8_t*>(pixels), n, gray)
                                        : to_gray(static_cast<const float*>(pixels), n, gray);
  if (!ok) {
    *error = "pixels must be 0 or 1";
    return false;
  }
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  char message[JMSG_LENGTH_MAX] = {0};
  const bool done = compress(gray.data(), height, width, quality, &buf, &size, message);
  if (done) out.assign(buf, buf + size);
  std::free(buf);
  if (!done) *error = std::string("libjpeg: ") + message;
  return done;
}

bool decode_gray(const uint8_t* data, size_t size, std::vector<uint8_t>& gray, uint32_t* height,
                 uint32_t* width, std::string* error) {
  DecodeTarget target{&gray};
  char message[JMSG_LENGTH_MAX] = {0};
  if (!decompress_into(data, size, grow, &target, message)) {
    *error = std::string("not a valid JPEG (libjpeg: ") + message + ")";
    return false;
  }
  *height = target.height;
  *width = target.width;
  return true;
}

}  // namespace ohlc::jpeg
