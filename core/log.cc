#include "core/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace shoal::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::mutex g_mutex;
std::string g_component = "shoal";
constexpr const char* kLevelNames[] = {"DEBUG", "INFO", "WARN", "ERROR"};
}  // namespace

void SetLevel(Level level) { g_level = static_cast<int>(level); }

void SetComponent(std::string_view component) {
  std::lock_guard lock(g_mutex);
  g_component = component;
}

bool Enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

void Write(Level level, std::string_view message) {
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t t = system_clock::to_time_t(now);
  int ms = static_cast<int>(duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
  std::lock_guard lock(g_mutex);
  std::fprintf(stderr, "%s.%03d %s %s: %.*s\n", stamp, ms, kLevelNames[static_cast<int>(level)],
               g_component.c_str(), static_cast<int>(message.size()), message.data());
}

}  // namespace shoal::log
