// One thread that starts every OpenMP-parallel job of the addon.
//
// AsyncWorkers run on whichever libuv pool thread is free, and libgomp keeps a separate team of
// worker threads for every thread that starts a parallel region; teams left spinning after one
// call then compete for the cores with the next call's team (measured: two-thread async calls
// used ~1.4 cores instead of 2). Running the parallel part of each job on this single thread
// means one team, reused by every call.
#pragma once

#include <functional>

namespace ohlc::binding {

// Runs `job` on the compute thread and returns when it has finished (rethrowing its exception).
// Called from libuv worker threads, never from the JS thread.
void run_on_compute_thread(const std::function<void()>& job);

}  // namespace ohlc::binding
