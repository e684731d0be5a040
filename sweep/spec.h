#pragma once
// A sweep file: one base benchmark, axes of `--set` overrides and seeds, expanded into runs with
// stable names. Read once, checked whole: an unknown key, an empty axis, zipped axes of unequal
// length, an axis or fixed override that sets the same key as another, or two runs that would get
// the same name is a one-line error naming it and what is allowed.
//
//   base: quickstart                  a benchmark name, or a .yaml path (relative to this file)
//   set: [train.steps=2000]           fixed overrides of every run (optional)
//   grid:                             every combination (first key slowest; optional)
//     train.lr: [1.0e-4, 3.0e-4, 1.0e-3]
//     model.n_layer: [2, 4]
//   zip:                              taken together, index by index (optional; times the grid)
//     task.d: [5, 10]
//     eval.examples: [11, 21]
//   seeds: 3                          seeds 0, 1, 2; or a list [1, 7, 9] (default: the base's seed)
//   parallel: 2                       local runs at once, each on its share of the CPUs (default 1)
//   retries: 1                        further attempts of a failed run (default 1)
//   out: results/sweeps/lr            the sweep's directory (default results/sweeps/<file stem>)
//   select: {axis: train.lr, set: standard, predictor: model}   what `collect` picks the best of
//                                     (default: train.lr when it is an axis; the first set; model)
//   slurm: {time: "01:00:00", cpus_per_task: 2, mem: 8G, partition: gpu, gpus: 1,
//           extra: ["--account=lab"]}
//
// A run is named by its axis values, "train.lr=0.001,model.n_layer=2,seed=1" (characters other
// than letters, digits and ".=,_+-" become '_'), and writes OUT/runs/<name>/results.h5. Its index
// (0-based, seeds fastest, then zip, then the grid) is what Slurm array tasks and MPI ranks take.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace icl {

struct SweepAxis {
  std::string key;                  // "train.lr"
  std::vector<std::string> values;  // as written in the file
};

struct SweepSlurm {
  std::string time = "01:00:00", mem, partition;
  int64_t cpus_per_task = 1, gpus = 0;
  std::vector<std::string> extra;  // further #SBATCH lines' options
  // Array tasks a job may have (Slurm's MaxArraySize: indices 0 .. M − 1); 0: ask the cluster
  // (sweep/slurm.h). A sweep with more runs gives each task every M-th run.
  int64_t max_array_size = 0;
};

struct SweepSelect {
  std::string axis;  // "" = no selection
  std::string set;   // "" = the first evaluation set
  std::string predictor = "model";
};

struct SweepRun {
  int64_t index = 0;
  std::string name;     // "train.lr=0.001,seed=1"
  std::string setting;  // the name without the seed: runs of one setting differ only in seed
  std::vector<std::pair<std::string, std::string>> values;  // axis key -> value, in axis order
  std::vector<std::string> sets;                            // every override, seed last
  uint64_t seed = 0;
  std::string path;  // OUT/runs/<name>/results.h5
};

struct SweepSpec {
  std::string file, name, text;  // the sweep file, its stem, its text
  std::string base;              // as icl run takes it (a path resolved against the file)
  std::vector<std::string> sets;
  std::vector<SweepAxis> grid, zip;
  std::vector<uint64_t> seeds;  // empty: the base config's own seed
  int64_t parallel = 1, retries = 1;
  std::string out;
  SweepSelect select;
  SweepSlurm slurm;
  std::vector<SweepRun> runs;  // expanded
};

// Reads, checks and expands a sweep file.
SweepSpec read_sweep(const std::string& path);

// Turns characters a file name should not hold into '_'.
std::string sweep_safe_name(const std::string& text);

}  // namespace icl
