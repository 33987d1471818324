#include "pkg/common/secret_string.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <sstream>
#include <string>
#include <utility>

#include "gtest/gtest.h"
#include "pkg/common/secure_wipe.h"

// This binary replaces the global operator new/delete so a test can look at a block's bytes at
// the moment it is freed, while it is still ours: the proof that a SecretString's buffer is zero
// when released, without reading freed memory. Only the block a test names is copied.
namespace {

constexpr size_t kMaxCaptured = 4096;
std::atomic<const void*> g_watched{nullptr};
unsigned char g_captured[kMaxCaptured];
std::atomic<size_t> g_captured_size{0};
std::atomic<bool> g_captured_flag{false};

void captureIfWatched(void* block, size_t size) {
  if (block == nullptr || block != g_watched.load()) {
    return;
  }
  const size_t n = std::min(size, kMaxCaptured);
  std::memcpy(g_captured, block, n);
  g_captured_size = n;
  g_captured_flag = true;
  g_watched = nullptr;
}

void* allocate(size_t size) {
  void* block = std::malloc(size == 0 ? 1 : size);
  if (block == nullptr) {
    throw std::bad_alloc();
  }
  return block;
}

}  // namespace

void* operator new(size_t size) { return allocate(size); }
void* operator new[](size_t size) { return allocate(size); }
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](size_t size, const std::nothrow_t&) noexcept {
  return std::malloc(size == 0 ? 1 : size);
}
// The unsized forms do not know the block's size: they capture nothing, and a test relying on
// them would fail (nothing captured), not pass.
void operator delete(void* block) noexcept { std::free(block); }
void operator delete[](void* block) noexcept { std::free(block); }
void operator delete(void* block, const std::nothrow_t&) noexcept { std::free(block); }
void operator delete[](void* block, const std::nothrow_t&) noexcept { std::free(block); }
void operator delete(void* block, size_t size) noexcept {
  captureIfWatched(block, size);
  std::free(block);
}
void operator delete[](void* block, size_t size) noexcept {
  captureIfWatched(block, size);
  std::free(block);
}

namespace secretsync::common {
namespace {

// A value too long for std::string's inline buffer, so it lives in its own heap block.
std::string longValue(char fill) { return std::string(200, fill); }

bool allZero(const unsigned char* bytes, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    if (bytes[i] != 0) {
      return false;
    }
  }
  return true;
}

bool allZero(const char* bytes, size_t size) {
  return allZero(reinterpret_cast<const unsigned char*>(bytes), size);
}

// Arms the hook for the heap block holding `value`'s bytes.
void watch(const std::string& value) {
  g_captured_flag = false;
  g_captured_size = 0;
  g_watched = value.data();
}

// The block was freed while watched, and every byte of it was zero then.
void expectFreedClean(size_t at_least) {
  ASSERT_TRUE(g_captured_flag.load()) << "the watched block was not freed (or not with its size)";
  ASSERT_GE(g_captured_size.load(), at_least);
  EXPECT_TRUE(allZero(g_captured, g_captured_size.load()));
}

TEST(SecureWipeTest, WipeStringZeroesTheWholeCapacityAndKeepsTheBuffer) {
  std::string value = longValue('s');
  value.resize(20);  // shrinking keeps the old bytes in the tail: they must go too
  const char* buffer = value.data();
  const size_t capacity = value.capacity();
  ASSERT_GE(capacity, 200u);
  wipeString(value);
  EXPECT_TRUE(value.empty());
  EXPECT_EQ(value.data(), buffer);
  EXPECT_EQ(value.capacity(), capacity);
  EXPECT_TRUE(allZero(buffer, capacity));
}

TEST(SecureWipeTest, SecureWipeZeroesExactlyTheRange) {
  unsigned char bytes[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  secureWipe(bytes + 2, 4);
  const unsigned char expected[8] = {1, 2, 0, 0, 0, 0, 7, 8};
  EXPECT_EQ(std::memcmp(bytes, expected, sizeof(bytes)), 0);
}

TEST(SecretStringTest, HeapBufferIsZeroWhenFreed) {
  auto secret = std::make_unique<SecretString>(longValue('a'));
  const size_t capacity = secret->reveal().capacity();
  watch(secret->reveal());
  secret.reset();
  expectFreedClean(capacity);
}

TEST(SecretStringTest, InlineBufferIsZeroAfterDestruction) {
  // A short value lives inside the object (std::string's small-string buffer): destroy the object
  // in storage of our own and look at that storage, which is still ours.
  alignas(SecretString) unsigned char storage[sizeof(SecretString)];
  auto* secret = new (storage) SecretString(std::string("tok-12345"));
  const char* bytes = secret->reveal().data();
  ASSERT_GE(reinterpret_cast<const unsigned char*>(bytes), storage);
  ASSERT_LT(reinterpret_cast<const unsigned char*>(bytes), storage + sizeof(storage));
  secret->~SecretString();
  EXPECT_TRUE(allZero(bytes, 9));
}

TEST(SecretStringTest, MoveAssignmentWipesTheOldValue) {
  SecretString target(longValue('o'));
  const size_t capacity = target.reveal().capacity();
  watch(target.reveal());
  SecretString source(longValue('n'));
  target = std::move(source);
  // std::string's move assignment hands our old buffer to the source; it is freed with it.
  source = SecretString();
  { SecretString drop(std::move(source)); }
  expectFreedClean(capacity);
  EXPECT_EQ(target.reveal(), longValue('n'));
}

TEST(SecretStringTest, CopyAssignmentOverALongerValueLeavesNoOldTail) {
  SecretString target(longValue('o'));
  const char* old_buffer = target.reveal().data();
  const size_t old_capacity = target.reveal().capacity();
  watch(target.reveal());
  const SecretString shorter(std::string(40, 'n'));
  target = shorter;
  EXPECT_EQ(target.reveal(), std::string(40, 'n'));
  if (target.reveal().data() == old_buffer) {
    // The buffer was reused: past the new value (and its terminator) only zeros.
    EXPECT_TRUE(allZero(old_buffer + 41, old_capacity - 41));
    g_watched = nullptr;
  } else {
    expectFreedClean(old_capacity);
  }
}

TEST(SecretStringTest, MovedFromIsEmptyAndItsInlineBytesAreWiped) {
  SecretString source(std::string("short-jwt"));
  const char* inline_bytes = source.reveal().data();
  SecretString target(std::move(source));
  EXPECT_EQ(target.reveal(), "short-jwt");
  EXPECT_TRUE(source.empty());  // NOLINT(bugprone-use-after-move): the state is the contract
  EXPECT_TRUE(allZero(inline_bytes, 9));
}

TEST(SecretStringTest, ConstructionFromAnRvalueWipesWhatTheMoveLeftInTheSource) {
  std::string raw = "secret-id";  // inline: std::string's move copies it and leaves the bytes
  const char* inline_bytes = raw.data();
  const SecretString secret(std::move(raw));
  EXPECT_EQ(secret.reveal(), "secret-id");
  EXPECT_TRUE(allZero(inline_bytes, 9));
}

TEST(SecretStringTest, CopiesAreIndependentAndEachIsWiped) {
  auto original = std::make_unique<SecretString>(longValue('c'));
  auto copy = std::make_unique<SecretString>(*original);
  EXPECT_EQ(*copy, *original);
  EXPECT_NE(copy->reveal().data(), original->reveal().data());
  const size_t capacity = copy->reveal().capacity();
  watch(copy->reveal());
  copy.reset();
  expectFreedClean(capacity);
  EXPECT_EQ(original->reveal(), longValue('c'));
}

TEST(SecretStringTest, PrintsTheMarkerOnly) {
  std::ostringstream out;
  out << SecretString(std::string("hunter2"));
  EXPECT_EQ(out.str(), SecretString::kRedacted);
}

}  // namespace
}  // namespace secretsync::common
