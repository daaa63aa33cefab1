// Minimal leveled logging to stderr: one line per message, with time and component.
// Daemons are supervised processes; their stderr is their log.
#pragma once

#include <sstream>
#include <string_view>

namespace shoal::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLevel(Level level);
void SetComponent(std::string_view component);  // e.g. "seeder", shown in every line
bool Enabled(Level level);
void Write(Level level, std::string_view message);

class Line {
 public:
  explicit Line(Level level) : level_(level) {}
  ~Line() { Write(level_, stream_.str()); }
  template <typename T>
  Line& operator<<(const T& v) {
    stream_ << v;
    return *this;
  }

 private:
  Level level_;
  std::ostringstream stream_;
};

}  // namespace shoal::log

// Usage: SHOAL_LOG(Info) << "x=" << x;  The for-form is safe inside an unbraced if/else.
#define SHOAL_LOG(level)                                                                           \
  for (bool shoal_log_once = ::shoal::log::Enabled(::shoal::log::Level::k##level); shoal_log_once; \
       shoal_log_once = false)                                                                     \
  ::shoal::log::Line(::shoal::log::Level::k##level)
