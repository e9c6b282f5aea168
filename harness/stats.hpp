// min / median / max of repeated measurements: the only summary the benchmarks print,
// because on a shared machine a mean hides the noise the reader needs to see.
#pragma once

#include <vector>

namespace cr3rig::bench {

struct Summary {
    double min = 0, median = 0, max = 0;
};

Summary summarize(std::vector<double> samples);

}  // namespace cr3rig::bench
