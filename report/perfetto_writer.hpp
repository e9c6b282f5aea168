// `cr3rig trace --to perfetto`: Chrome trace-event JSON (the object form, with
// `traceEvents` and `displayTimeUnit`), which the Perfetto UI and chrome://tracing open.
// One process (the guest), one thread per task; each task's CR3 tenures are complete
// ("X") slices named by pgd; reads, writes, injections, flushes and page faults are
// thread-scoped instant ("i") events; each fault storm is one slice, with its count in
// args, on a thread of its own next to its task (a storm can span other tasks' events,
// so it would not nest inside the task's tenure slices); findings are global instants.
#pragma once

#include <ostream>

#include "report/history.hpp"

namespace cr3rig::report {

void write_perfetto_json(const History& history, std::ostream& out);

}  // namespace cr3rig::report
