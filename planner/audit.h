// The audit log: who (a certificate's CN) did what, when, to which hosts. Append-only, keyed
// by time then a counter so entries keep their order.
#pragma once

#include <string>

#include "planner/store.h"

namespace shoal::planner {

class Audit {
 public:
  explicit Audit(Store& store) : store_(store) {}
  void Record(const std::string& who, const std::string& action, const std::string& detail);

 private:
  Store& store_;
  uint64_t counter_ = 0;
};

}  // namespace shoal::planner
