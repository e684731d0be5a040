#include "run/replicas.h"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <new>

#include <fmt/format.h>

#include "core/device.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/memory.h"
#include "core/progress.h"
#include "core/threads.h"

namespace icl {

namespace fs = std::filesystem;

std::string replica_path(const std::string& out, const Replica& r, bool by_lr) {
  const fs::path p(out);
  const std::string stem = p.extension() == ".h5" ? p.stem().string() : p.filename().string();
  std::string name = fmt::format("{}.seed{}", stem, r.seed);
  if (by_lr) name += fmt::format(".lr{}", r.lr);
  return (p.parent_path() / (name + ".h5")).string();
}

std::string replica_label(const Replica& r) { return fmt::format("seed {}, lr {}", r.seed, r.lr); }

std::string ReplicaPlacement::text() const {
  if (gpu) return "one after another on the GPU (replicas do not yet run side by side there)";
  if (workers == 1) return "one after another on one CPU thread";
  return fmt::format("{} at a time, one CPU thread each", workers);
}

ReplicaPlacement replica_placement(const std::vector<ReplicaJob>& jobs) {
  ReplicaPlacement p;
  // A bandit model trains on the CPU whatever the device; a cuda without a GPU is its one-line
  // error here, before any work.
  for (const auto& j : jobs)
    if (j.run->has_model() && !j.run->bandit && check_device(j.req.options.device)) p.gpu = true;
  if (!p.gpu) p.workers = std::max(1, std::min(int(jobs.size()), threads::in_use()));
  return p;
}

namespace {

// The one line that shows every replica's training: on a terminal redrawn in place at most four
// times a second, in a log a line every few seconds. Lines the runs print go through say(), which
// clears the progress line first. Safe to call from every worker.
class Lines {
 public:
  Lines(const std::vector<int64_t>& totals, bool on)
      : on_(on),
        tty_(::isatty(STDERR_FILENO) != 0),
        totals_(totals),
        steps_(totals.size()),
        start_(Clock::now()) {}

  void say(const std::function<void()>& print) {
    const std::lock_guard<std::mutex> held(m_);
    clear();
    print();
    std::fflush(stderr);
  }

  // Replica i reached `step` (of totals[i]); `trained`: a step was trained in this process.
  void step(size_t i, int64_t step) {
    steps_[i].store(step);
    ++trained_;
    maybe_draw();
  }
  void done() {
    ++done_;
    maybe_draw();
  }
  void finish() {
    if (!on_) return;
    const std::lock_guard<std::mutex> held(m_);
    draw(true);
  }

 private:
  using Clock = std::chrono::steady_clock;

  void clear() {
    if (on_ && tty_ && drawn_) std::fputs("\r\033[K", stderr);
    drawn_ = false;
  }
  void maybe_draw() {
    if (!on_) return;
    const int64_t now = (Clock::now() - start_).count();
    const int64_t every =
        std::chrono::duration_cast<Clock::duration>(std::chrono::milliseconds(tty_ ? 250 : 5000))
            .count();
    int64_t last = last_.load();
    if (now - last < every || !last_.compare_exchange_strong(last, now)) return;
    const std::unique_lock<std::mutex> held(m_, std::try_to_lock);
    if (held.owns_lock()) draw(false);
  }
  // "replicas  3/8 done  step 1200/8000 (slowest)  41.3 steps/s  ETA 2m10s"
  void draw(bool final) {
    int64_t slowest = -1, total = 0, remaining = 0;
    for (size_t i = 0; i < totals_.size(); ++i) {
      const int64_t s = steps_[i].load();
      remaining += std::max<int64_t>(0, totals_[i] - s);
      if (s < totals_[i] && (slowest < 0 || s < slowest)) {
        slowest = s;
        total = totals_[i];
      }
    }
    const double t = std::chrono::duration<double>(Clock::now() - start_).count();
    const double rate = t > 0 ? double(trained_.load()) / t : 0.0;
    // The slowest replica still training; none at the end (a failed one stopped early).
    const std::string at =
        slowest < 0 || final ? "" : fmt::format("  step {}/{} (slowest)", slowest, total);
    const std::string eta = final      ? "in " + format_duration(t)
                            : rate > 0 ? "ETA " + format_duration(double(remaining) / rate)
                                       : "ETA ?";
    const std::string line = fmt::format("replicas  {}/{} done{}  {:.1f} steps/s  {}", done_.load(),
                                         totals_.size(), at, rate, eta);
    if (tty_)
      std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? "\n" : "");
    else
      std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
    drawn_ = tty_ && !final;
  }

  const bool on_, tty_;
  const std::vector<int64_t> totals_;
  std::vector<std::atomic<int64_t>> steps_;
  std::atomic<int64_t> trained_{0}, last_{0};
  std::atomic<int> done_{0};
  const Clock::time_point start_;
  std::mutex m_;
  bool drawn_ = false;  // a terminal line is on screen, to clear before another line
};

// Runs one prepared job to its outcome; never throws (it runs on a worker thread).
ReplicaOutcome run_job(FileRun& file) {
  ReplicaOutcome o;
  try {
    o.result = file.run();
    o.status = ReplicaOutcome::Completed;
  } catch (const icl::Interrupted& e) {
    o.status = ReplicaOutcome::Interrupted;
    o.signal = e.signal();
    o.message = e.what();
  } catch (const Error& e) {
    o.status = ReplicaOutcome::Failed;
    o.message = e.what();
  } catch (const std::bad_alloc&) {
    o.status = ReplicaOutcome::Failed;
    o.message =
        "out of memory: an allocation failed; reduce the sizes set (prompts, examples, "
        "batch_size, dimensions) or train.replicas";
  } catch (const std::exception& e) {
    o.status = ReplicaOutcome::Failed;
    o.message = fmt::format("internal error: {}", e.what());
  }
  return o;
}

}  // namespace

std::vector<ReplicaOutcome> run_replicas(std::vector<ReplicaJob> jobs, const ReplicaOptions& opt) {
  const ReplicaPlacement place = replica_placement(jobs);
  std::vector<int64_t> totals;
  for (const auto& j : jobs) {
    const int64_t steps = j.run->has_model() ? j.run->train.steps : 0;
    const int64_t until = j.req.options.until;
    totals.push_back(until > 0 ? std::min(until, steps) : steps);
  }
  Lines lines(totals, opt.progress);
  for (size_t i = 0; i < jobs.size(); ++i) {
    RunRequest& req = jobs[i].req;
    req.options.progress = false;  // the line above shows every replica
    if (auto f = req.options.on_start) req.options.on_start = [&lines, f] { lines.say(f); };
    if (auto f = req.on_note)
      req.on_note = [&lines, f](const std::string& l) { lines.say([&] { f(l); }); };
    req.options.on_step = [&lines, i](int64_t step) { lines.step(i, step); };
  }

  // Every job's checks and output before any work, each memory check against the share of the
  // replicas that will train beside it.
  std::vector<std::unique_ptr<FileRun>> files;
  {
    std::unique_ptr<memory::Share> share;
    if (place.workers > 1)
      share = std::make_unique<memory::Share>(
          place.workers, fmt::format("{} replicas train at once", place.workers));
    try {
      for (const auto& j : jobs) files.push_back(std::make_unique<FileRun>(*j.run, j.req));
    } catch (...) {
      // Last opened first, so that the first output, which made any missing directory, finds it
      // empty again and removes it.
      while (!files.empty()) files.pop_back();
      throw;
    }
  }
  if (opt.on_start) opt.on_start(place);

  std::vector<ReplicaOutcome> out(jobs.size());
  const auto work = [&](size_t i) {
    if (interrupt::requested()) {  // a signal came before this replica's turn
      files[i].reset();
    } else {
      out[i] = run_job(*files[i]);
      files[i].reset();  // closed (a failed run's temporary removed) as soon as it ends
    }
    lines.done();
  };
  if (place.workers == 1) {
    for (size_t i = 0; i < jobs.size(); ++i) work(i);
  } else {
    const int64_t n = int64_t(jobs.size());
    // monotonic: the replicas start in order. OpenMP 5 makes plain dynamic nonmonotonic, which
    // LLVM's runtime (the clang builds) implements by stealing from per-thread ranges, so there
    // replica 2 could start while replica 1 waited for a worker.
#pragma omp parallel for schedule(monotonic : dynamic, 1) num_threads(place.workers)
    for (int64_t i = 0; i < n; ++i) {
      // This replica's own parallel loops (nested regions) run on its worker alone; the results
      // are those of any thread count (core/blocks.h), and its file records 1 in cpu_threads.
      omp_set_num_threads(1);
      work(size_t(i));
    }
  }
  lines.finish();
  return out;
}

}  // namespace icl
