// A jkx image (docs/IMAGE-JKX.md) as vertical ink runs, the form in which the geometry encoder
// (kernels/deflate/geometry_encoder.hpp) takes any two-level layout: the writer encodes these
// images straight from their bars, never drawing a pixel.
#pragma once

#include <vector>

#include "kernels/deflate/ink_changes.hpp"
#include "kernels/jkx_math.hpp"

namespace ohlc {

// The ink of one window (its bars as jkx_window_geometry gives them, `ma_drawn` its word on the
// line) as runs in column order, replacing `runs`: per bar, the open tick (two columns), the
// high-low line, the close tick, the volume bar, and per column of the moving-average line the
// rows jkx_ma_segment plots there. The pixels they cover are exactly those jkx_draw_bar inks.
void jkx_ink_runs(const JkxBar* bars, bool ma_drawn, JkxShape shape,
                  std::vector<deflate::InkRun>& runs);

}  // namespace ohlc
