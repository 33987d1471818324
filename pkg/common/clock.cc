#include "pkg/common/clock.h"

#include <thread>

namespace secretsync::common {
namespace {

class RealClock final : public Clock {
 public:
  SystemTime now() const override { return std::chrono::system_clock::now(); }
  MonotonicTime monotonicNow() const override { return std::chrono::steady_clock::now(); }
  void sleepFor(std::chrono::nanoseconds duration) override {
    std::this_thread::sleep_for(duration);
  }
};

}  // namespace

Clock& realClock() {
  // Function-local static: constructed on first use, never destroyed before last use.
  static RealClock* const clock = new RealClock();
  return *clock;
}

}  // namespace secretsync::common
