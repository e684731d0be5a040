#pragma once
// Memory checked before allocating: a size a user sets (prompts, examples, batch size) is turned
// into an estimate of bytes and compared with what the process may still allocate, so that a size
// that cannot fit is a one-line icl::Error naming the setting, not std::bad_alloc or an OOM kill
// after hours of work.
//
// Available memory is the smallest of MemAvailable (/proc/meminfo) and, for every cgroup (v2 or v1)
// above this process that sets a memory limit, that limit minus its usage. The environment variable
// ICL_MAX_MEMORY (bytes, with an optional K, M, G or T suffix, powers of 1024) replaces it: the
// tests and fuzzers use it for a small, deterministic budget.
#include <cstdint>
#include <initializer_list>
#include <string>

namespace icl::memory {

// Bytes this process may still allocate (above). icl::Error naming ICL_MAX_MEMORY when it is set
// to something that is not a size.
int64_t available();
// Where available() comes from, for messages: "ICL_MAX_MEMORY", "free memory" or "cgroup memory
// limit".
std::string available_source();

// "6.7 TB", "21.3 GB", "512 B" (decimal units, as df and free -H print them).
std::string format_bytes(double bytes);

// "154.6 G", "7.9 M", "512" (decimal units): a count of parameters in messages.
std::string format_count(double n);

// An estimate in bytes as a double (models/footprint.h) to int64, saturating: a size past int64
// is still more than any budget.
int64_t to_bytes(double bytes);

// ICL_MAX_MEMORY's grammar: digits with an optional K/M/G/T suffix (powers of 1024). Returns -1
// when `text` is not such a size (or does not fit 64 bits).
int64_t parse_size(const std::string& text);

// The product (sum) of non-negative sizes; a result past int64 is an icl::Error "<what>: ...
// overflows", `what` naming the setting the sizes come from.
int64_t checked_product(std::initializer_list<int64_t> factors, const std::string& what);
int64_t checked_sum(std::initializer_list<int64_t> terms, const std::string& what);

// Throws icl::Error "<what> need about <bytes>, <available> is available (<source>)" when `bytes`
// exceeds available(). `what` names the setting and the sizes it stands for, e.g. "--prompts:
// 1000000000 prompts of linear_regression (K=40, d=20)".
void check_fits(int64_t bytes, const std::string& what);

// While one is alive, available() and check_fits() see a 1/n share of the budget, and messages
// say why ("a 1/4 share: 4 replicas train at once"): n runs of one process that will run at once
// are each checked against their share before any starts (train.replicas, run/replicas.h). Made
// and ended on one thread while no other thread checks memory; they do not nest.
class Share {
 public:
  Share(int64_t n, const std::string& why);
  ~Share();
  Share(const Share&) = delete;
  Share& operator=(const Share&) = delete;
};

}  // namespace icl::memory
