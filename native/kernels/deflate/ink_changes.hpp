// The event model of a two-level image (background and ink), for encoders that work from
// geometry instead of pixels. A layout describes its ink as vertical runs, one column and a span
// of rows each; InkChanges turns them into what a row-by-row encoder needs:
//   - every pixel that differs from the pixel above it (row 0: from background), in stream order
//     (row-major), with the direction of the flip;
//   - per row, the leftmost and rightmost ink column and the next row below with any ink.
// Work is proportional to the runs, their lengths (a fill per run) and the height; memory to the
// changes, the height (12 bytes a row) and the width. Pixels are never visited.
//
// Another layout plugs in by describing its ink as runs, nothing else: e.g. a 3-pixel bar with a
// moving-average line and a volume strip gives, per bar, the high-low column's run and one-row
// runs for its ticks; per column of the average line, the run between its rows at this column
// and the next (so the line stays joined); per bar in the strip, the run from the volume's top
// row to the strip's bottom. Overlaps (the average line crossing a bar) are fine. Then
// GeometryEncoder::set_runs(runs, count, width, height, type, /*period=*/3) encodes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/raster_math.hpp"

namespace ohlc::deflate {

// Rows top..bottom (inclusive) of `column` are ink.
struct InkRun {
  uint32_t column;
  uint32_t top;
  uint32_t bottom;
};

// A pixel that differs from the one above it.
struct InkChange {
  uint64_t pixel;       // row * width + column
  uint32_t row;
  uint32_t column_ink;  // column << 1 | to_ink (plain bits: a bit-field store stalls the loads after it)
  uint32_t column() const { return column_ink >> 1; }
  // 1: background above, ink here; 0: the reverse.
  uint32_t to_ink() const { return column_ink & 1; }
};

class InkChanges {
 public:
  // Runs must be in non-decreasing column order (several per column, overlapping or touching,
  // are fine: a pixel is ink when any run covers it), with column < width and
  // top <= bottom < height. 1 <= width < 2^31, 1 <= height, width * height < 2^62. Throws
  // std::invalid_argument otherwise, and then keeps the previous image.
  void build(const InkRun* runs, size_t count, uint32_t width, uint32_t height);

  // The default OHLC layout (docs/IMAGE.md): bar j inks column 4j from line_top to line_bottom,
  // column 4j+1 at open and 4j+2 at close; 4j+3 stays background. `bars` are seq_len entries
  // as window_bar_rows gives them (every row in 0..height-1, line_top <= line_bottom).
  void build_bars(const BarRows* bars, uint32_t seq_len, uint32_t height);

  uint32_t width() const { return width_; }
  uint32_t height() const { return height_; }
  // In stream order.
  const InkChange* changes() const { return changes_.data(); }
  size_t change_count() const { return n_changes_; }
  // Per row: leftmost and rightmost ink column (width and -1 when the row is blank), and the
  // first row below it with ink (height when none).
  const int32_t* first_ink() const { return first_ink_.data(); }
  const int32_t* last_ink() const { return last_ink_.data(); }
  const uint32_t* next_inked_row() const { return next_inked_.data(); }

  // The image itself, one byte per pixel (bg or ink), for fallbacks and tests.
  void render(uint8_t bg, uint8_t ink, uint8_t* out) const;

 private:
  void reset(size_t changes, uint32_t width, uint32_t height);
  void build_checked(const InkRun* runs, size_t count, uint32_t width, uint32_t height);
  void finish(size_t n, uint32_t width, uint32_t height);

  uint32_t width_ = 0, height_ = 0;
  // Sized to the most an image needed so far; n_changes_ says how much is this image's.
  std::vector<InkChange> changes_;
  size_t n_changes_ = 0;
  std::vector<int32_t> first_ink_, last_ink_;
  std::vector<uint32_t> next_inked_;
  // Scratch kept between images.
  std::vector<InkRun> bar_runs_, merged_;
  std::vector<InkChange> unsorted_;
  std::vector<uint32_t> row_start_;
};

}  // namespace ohlc::deflate
