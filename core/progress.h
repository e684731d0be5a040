#pragma once
// A progress line for long work: "label  done/total  rate/s  ETA  extra". On a terminal it redraws
// in place (at most 10 times a second); in a log it writes a line every few seconds and at the end.
#include <chrono>
#include <cstdint>
#include <string>

namespace icl {

class Progress {
 public:
  Progress(std::string label, int64_t total, std::string unit = "it");
  void update(int64_t done, const std::string& extra = "");
  void finish(const std::string& extra = "");
  void finish_at(int64_t done, const std::string& extra = "");  // stopped before the total

 private:
  void draw(int64_t done, const std::string& extra, bool final);
  std::string label_, unit_;
  int64_t total_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_;
};

std::string format_duration(double seconds);  // "42s", "3m05s", "2h01m"

}  // namespace icl
