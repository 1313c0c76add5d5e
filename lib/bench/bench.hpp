// The gpubench tool: read the node document, benchmark the selected devices,
// add the bench section, write the document (or a table, or CSV).
#pragma once

#include "bench/options.hpp"
#include "core/error.hpp"

namespace gpukit {

// The run configuration the options ask for; a usage error names a bad value.
Result<RunConfig> make_run_config(const BenchOptions& options);

// Exit status: 0 all ran or were skipped with a reason; 1 a result failed
// (validation); 4 a deadline expired (what was measured is written out).
// Errors: 2 bad input, 3 a requested device or backend is missing.
Result<int> run_bench(BenchOptions& options);

}  // namespace gpukit
