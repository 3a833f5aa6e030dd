// The event model of a two-level image (background and ink), for encoders that work from
// geometry instead of pixels. A layout describes its ink as vertical runs, one column and a span
// of rows each; InkChanges turns them into what a row-by-row encoder needs:
//   - every pixel that differs from the pixel above it (row 0: from background), in stream order
//     (row-major), with the direction of the flip;
//   - for every row that has such a change, the span of columns its ink covers afterwards
//     (rows between two changed rows repeat the one above exactly).
// Work and memory are proportional to the runs, the image's height and one row of bits; the
// pixels are never visited.
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
  uint64_t pixel;  // row * width + column
  uint32_t row;
  uint32_t column_ink;  // column << 1 | to_ink (plain bits: a bit-field store stalls the loads after it)
  uint32_t column() const { return column_ink >> 1; }
  // 1: background above, ink here; 0: the reverse.
  uint32_t to_ink() const { return column_ink & 1; }
};

// A row with changes; its content holds until the next ChangedRow.
struct ChangedRow {
  uint32_t row;
  uint32_t first_change;  // its changes: changes()[first_change, end_change)
  uint32_t end_change;
  int32_t first_ink;      // leftmost ink column afterwards; width when the row is blank
  int32_t last_ink;       // rightmost ink column; -1 when blank
  uint32_t next_inked;    // index of the first later ChangedRow with ink; rows().size() if none
};

class InkChanges {
 public:
  // Runs must be in non-decreasing column order (several per column, overlapping or touching,
  // are fine: a pixel is ink when any run covers it), with column < width and
  // top <= bottom < height. width >= 1, height >= 1, width * height < 2^62. Throws
  // std::invalid_argument otherwise, and leaves the previous image in place.
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
  // Always starts with row 0 (with no changes when row 0 is blank).
  const ChangedRow* rows() const { return rows_.data(); }
  size_t row_count() const { return n_rows_; }

  // The image itself, one byte per pixel (bg or ink), for fallbacks and tests.
  void render(uint8_t bg, uint8_t ink, uint8_t* out) const;

 private:
  struct Event {
    uint32_t row;
    uint32_t column;
    int32_t delta;  // +1 a run starts, -1 one ended on the row above
  };

  uint32_t width_ = 0, height_ = 0;
  // Sized to the most an image needed so far; the counts say how much is this image's.
  std::vector<InkChange> changes_;
  std::vector<ChangedRow> rows_;
  size_t n_changes_ = 0, n_rows_ = 0;
  // Scratch kept between images.
  std::vector<InkRun> bar_runs_;
  std::vector<Event> events_, sorted_;
  std::vector<uint32_t> row_start_;
  std::vector<int32_t> cover_;
  std::vector<uint64_t> bits_;
};

}  // namespace ohlc::deflate
