// DEFLATE streams of two-level images (uint8 or float32 pixels: the default layout's ink 0 on 1,
// or the jkx layout's 255 on 0, see InkPolarity) written straight from their geometry: the
// pixels are never drawn, scanned or checksummed byte by byte.
//
// The stream is what a greedy encoder with these copies would write for the drawn image, decided
// from the ink changes instead of a byte compare: at each token the longest (to 258 bytes) of
// one pixel back through background (beyond a row's outer inks on into the next row, and in the
// gaps between inks), one bar back (rows that repeat per bar), one row back (up to the next
// changed pixel) and two rows back (a tick, or a line end that undoes the row above's change,
// costs nothing), the cheaper distance on a tie; literals where none reaches 5 bytes. Runs of
// identical rows are long overlapping copies. One dynamic Huffman block per 16K tokens, coded
// from the histogram the tokenizer gathers (fixed Huffman when smaller). Adler-32 and CRC-32
// come in closed form from the changes. Work is proportional to the tokens, the changes and the
// height, not to the pixels; rows over 32 KiB (beyond DEFLATE's window) fall back to drawing and
// the row encoder.
//
// Measured on random walks (geometry_check --bench): 100x500 uint8 0.91 of the row encoder's
// bytes, float32 0.88, 20x64 uint8 0.95; 0.87 over the fuzz's 86,000 bar images of every kind.
//
// A caller that already has pixels keeps using deflate::Encoder.
//
//   GeometryEncoder enc;                    // one per thread, reused for every image
//   enc.set_bars(bars, shape, type);        // bars: window_bar_rows() of a validated window
//   enc.append_zlib(chunk);                 // HDF5 deflate filter, Zarr zlib
//   uint32_t crc = enc.append_piece(piece); // NPZ member data; close with finish_stream()
//
// Thread safety: an encoder is used by one thread at a time; encoders share nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/deflate/crc32_shift.hpp"
#include "kernels/deflate/ink_changes.hpp"
#include "kernels/deflate/tokens.hpp"
#include "kernels/raster.hpp"

namespace ohlc::deflate {

class Encoder;

// Which of the two levels is ink: the default layout draws 0 on 1 (uint8) or 0.0f on 1.0f; the
// jkx layout 255 on 0 or 1.0f on 0.0f (docs/IMAGE.md, docs/IMAGE-JKX.md).
enum class InkPolarity : uint8_t { kDarkOnLight = 0, kLightOnDark = 1 };

class GeometryEncoder {
 public:
  GeometryEncoder();
  ~GeometryEncoder();
  GeometryEncoder(const GeometryEncoder&) = delete;
  GeometryEncoder& operator=(const GeometryEncoder&) = delete;

  // The image to encode next: the default OHLC layout (docs/IMAGE.md). `bars` holds
  // shape.seq_len entries exactly as window_bar_rows() computes them for a validated window
  // (each row in 0..height-1, line_top <= line_bottom; open and close may lie outside the line).
  // shape.seq_len >= 1, shape.height >= 1. Throws std::invalid_argument for anything else, and
  // then keeps the previous image.
  void set_bars(const BarRows* bars, ImageShape shape, PixelType type);

  // Any other two-level layout, as vertical ink runs (see InkChanges::build for the rules).
  // The image is height rows of `width` pixels of `type`, with the ink and background values of
  // `polarity`. `period`: the layout's bar width in pixels (its rows repeat with it where bars
  // look alike; 4 for the default layout, 3 for a 3-pixel one), 0 for none; only a compression
  // hint.
  void set_runs(const InkRun* runs, size_t count, uint32_t width, uint32_t height,
                PixelType type, uint32_t period = 0,
                InkPolarity polarity = InkPolarity::kDarkOnLight);

  // Bytes of the image set last: height * width * pixel_bytes(type).
  uint64_t raw_size() const { return raw_size_; }

  // Each appends to `out` from its current end (nothing already there is touched) and encodes
  // the image set last; they may be called in any order and any number of times.
  //
  // A complete zlib stream (RFC 1950): header 78 01, final deflate blocks, big-endian Adler-32.
  void append_zlib(std::vector<uint8_t>& out);
  // A raw deflate piece (RFC 1951) of non-final blocks ending in an empty stored block (a sync
  // flush), so it is byte-aligned and concatenates with other pieces; finish_stream() closes the
  // concatenation. Same contract as Encoder::encode_rows(..., final = false, ...).
  // Returns the CRC-32 (zlib's crc32) of the image's raw bytes.
  uint32_t append_piece(std::vector<uint8_t>& out);
  // A gzip member (RFC 1952): header, final deflate blocks, CRC-32, size mod 2^32.
  void append_gzip(std::vector<uint8_t>& out);
  // Raw deflate data of the image alone with BFINAL on its last block.
  void append_deflate(std::vector<uint8_t>& out) { encode(true, out); }

  // Checksums of the image's raw bytes, from the changes in closed form.
  uint32_t adler32() const;
  uint32_t crc32();

  // The event model of the image set last.
  const InkChanges& changes() const { return changes_; }

  // The raw bytes of the image set last (raw_size() of them), for fallbacks and tests.
  void render(uint8_t* out) const;

 private:
  void set_type(PixelType type, InkPolarity polarity);
  void encode(bool final, std::vector<uint8_t>& out);
  void prepare_crc();

  InkChanges changes_;
  PixelType type_ = PixelType::U8;
  InkPolarity polarity_ = InkPolarity::kDarkOnLight;
  uint32_t period_ = 0;
  uint64_t raw_size_ = 0;
  std::unique_ptr<uint16_t[]> tokens_;  // kind tokens (block_writer.hpp)
  BlockStats stats_;
  std::vector<uint64_t> row_bits_;   // the tokenizer's copy of the current row, one bit a pixel
  std::vector<uint8_t> rendered_;    // the image, drawn only when a block must be stored
  std::vector<uint8_t> mask_;
  std::unique_ptr<Encoder> wide_rows_;  // rows over 32 KiB: the row encoder, made when needed
  // CRC-32 operators for the current row length, rebuilt when it changes.
  uint64_t crc_row_bytes_ = 0;
  PixelType crc_type_ = PixelType::U8;
  InkPolarity crc_polarity_ = InkPolarity::kDarkOnLight;
  Crc32ZeroShift crc_row_shift_;
  uint32_t crc_blank_row_ = 0;        // register of a blank row from zero
  std::vector<uint32_t> crc_column_;  // register of one ink pixel's difference, per column
};

}  // namespace ohlc::deflate
