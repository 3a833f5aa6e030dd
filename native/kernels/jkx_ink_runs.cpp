#include "kernels/jkx_ink_runs.hpp"

namespace ohlc {

void jkx_ink_runs(const JkxBar* bars, bool ma_drawn, JkxShape shape,
                  std::vector<deflate::InkRun>& runs) {
  runs.clear();
  const uint32_t len = shape.seq_len;
  const int32_t top = static_cast<int32_t>(shape.price_rows()) - 1;
  const int32_t h = static_cast<int32_t>(shape.height);
  auto add = [&](uint32_t column, int32_t first, int32_t last) {
    runs.push_back({column, static_cast<uint32_t>(first), static_cast<uint32_t>(last)});
  };
  // Segment i runs from bar i's column x_i = 3i + 1 to x_i + 3 = x_{i+1}: its columns j = 0..3
  // fall in bar i's columns x_i, x_i + 1 and bar i + 1's x_{i+1} - 1, x_{i+1}. Emitting each
  // bar's three columns in turn, with the segments that touch them, keeps the column order.
  auto segment = [&](uint32_t i, int32_t j) {
    if (!ma_drawn || i + 1 >= len) return;
    const JkxRowSpan s = jkx_ma_segment_column(j, bars[i].ma, bars[i + 1].ma, top);
    add(3 * i + 1 + static_cast<uint32_t>(j), s.first, s.last);
  };
  for (uint32_t i = 0; i < len; ++i) {
    const JkxBar& b = bars[i];
    const uint32_t x = 3 * i + 1;
    const int32_t open = top - b.open;
    add(x - 1, open, open);
    if (i > 0) segment(i - 1, 2);
    add(x, top - b.line_top, top - b.line_bottom);
    add(x, open, open);  // a malformed candle's open may lie off its line
    if (b.volume > 0) add(x, h - b.volume, h - 1);
    if (i > 0) segment(i - 1, 3);
    segment(i, 0);
    add(x + 1, top - b.close, top - b.close);
    segment(i, 1);
  }
}

}  // namespace ohlc
