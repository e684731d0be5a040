// A run's checkpoint file is kept up to date in place (train/checkpoint_file.h): a checkpoint
// appends the new /train entries and writes the arrays over the old ones. These tests measure the
// bytes a checkpoint writes (the kernel's count of this process's write calls, /proc/self/io), show
// that the entries already written stay where they are, byte for byte, that the file holds the same
// datasets and attributes as one written whole, and that SIGKILL at random moments during the saves
// always leaves a file that opens and holds the last complete checkpoint.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "io/atomic_output.h"
#include "io/h5.h"
#include "models/model.h"
#include "run/run_file.h"
#include "tests/h5_diff.h"
#include "tests/train_fixture.h"
#include "train/checkpoint.h"
#include "train/checkpoint_file.h"

namespace icl {
namespace {

namespace fs = std::filesystem;
using test::Dir;
using Clock = std::chrono::steady_clock;

constexpr int64_t kEvalEvery = 10;
const char* const kLogNames[] = {"step",      "loss",      "lr",        "seconds",
                                 "grad_norm", "eval_step", "eval_error"};

std::unique_ptr<Model> small_model(int64_t n_embd) {
  auto m = make_model("transformer",
                      {{"n_layer", "2"}, {"n_embd", std::to_string(n_embd)}, {"n_head", "2"}},
                      ModelIO{3, 1, 16});
  m->init(7);
  return m;
}

// The state of a made-up run at `step`: every value a function of the step, so that a file can be
// checked against the step it claims to hold.
void set_state(Model& model, TrainState& st, int64_t step) {
  for (auto& p : model.parameters().all())
    for (size_t i = 0; i < p->value.size(); ++i) {
      p->value[i] = float(step) + float(i % 1000) * 1e-3f;
      p->m[i] = -p->value[i];
      p->v[i] = 2.0f * p->value[i];
    }
  TrainLog& log = st.log;
  for (int64_t s = int64_t(log.step.size()) + 1; s <= step; ++s) {
    log.step.push_back(s);
    log.loss.push_back(1.0 / double(s));
    log.lr.push_back(1e-3 * double(s % 7));
    log.seconds.push_back(0.01 * double(s));
    log.grad_norm.push_back(0.5 * double(s));
    if (s % kEvalEvery == 0) {
      log.eval_step.push_back(s);
      log.eval_error.push_back(1.0 / double(s + 1));
    }
  }
  st.step = step;
}

void header(hid_t root, uint64_t seed) {
  h5::attr(root, "config", std::string("benchmark: checkpoint_append\n"));
  h5::attr(root, "seed", int64_t(seed));
}

// Bytes this process has passed to write(2) and pwrite(2) so far; -1 where the kernel does not
// count them.
int64_t written_bytes() {
  std::ifstream io("/proc/self/io");
  std::string key;
  int64_t value = 0;
  while (io >> key >> value)
    if (key == "wchar:") return value;
  return -1;
}

ino_t inode(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

int64_t file_size(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? int64_t(st.st_size) : -1;
}

// Where each /train dataset's chunks lie in the file, and their bytes as stored.
struct Chunk {
  hsize_t offset = 0, size = 0;
  haddr_t addr = 0;
  std::string bytes;
};
struct LogMap {
  ino_t file = 0;
  std::map<std::string, std::pair<int64_t, std::vector<Chunk>>> sets;  // name -> (length, chunks)
};

LogMap log_map(const std::string& path) {
  LogMap out;
  out.file = inode(path);
  std::ifstream raw(path, std::ios::binary);
  const h5::Handle f = h5::open_file(path);
  for (const char* name : kLogNames) {
    const h5::Handle d(H5Dopen2(f.id(), (std::string("train/") + name).c_str(), H5P_DEFAULT),
                       H5Dclose);
    const h5::Handle space(H5Dget_space(d.id()), H5Sclose);
    hsize_t n = 0, chunks = 0;
    H5Sget_simple_extent_dims(space.id(), &n, nullptr);
    EXPECT_GE(H5Dget_num_chunks(d.id(), space.id(), &chunks), 0) << name << " is not chunked";
    auto& [length, list] = out.sets[name];
    length = int64_t(n);
    for (hsize_t i = 0; i < chunks; ++i) {
      Chunk c;
      unsigned mask = 0;
      H5Dget_chunk_info(d.id(), space.id(), i, &c.offset, &mask, &c.addr, &c.size);
      c.bytes.resize(c.size);
      raw.seekg(std::streamoff(c.addr));
      raw.read(c.bytes.data(), std::streamsize(c.size));
      list.push_back(std::move(c));
    }
  }
  return out;
}

// Every chunk that was full in `before` is at the same address with the same bytes in `after`.
void expect_full_chunks_kept(const LogMap& before, const LogMap& after, int64_t chunk_values) {
  for (const auto& [name, set] : before.sets) {
    const auto& [length, chunks] = set;
    const auto& now = after.sets.at(name).second;
    int full = 0;
    for (const Chunk& c : chunks) {
      if (int64_t(c.offset) + chunk_values > length) continue;
      ++full;
      const auto it = std::find_if(now.begin(), now.end(),
                                   [&](const Chunk& x) { return x.offset == c.offset; });
      ASSERT_NE(it, now.end()) << name << " lost its chunk at " << c.offset;
      EXPECT_EQ(it->addr, c.addr) << name << ": the chunk at " << c.offset << " moved";
      EXPECT_TRUE(it->bytes == c.bytes) << name << ": the chunk at " << c.offset << " changed";
    }
    if (name != "eval_step" && name != "eval_error") {
      EXPECT_GT(full, 100) << name;
    }
  }
}

// Datasets of a file and their stored element types, for comparing with a file written whole.
std::map<std::string, std::string> dataset_types(const std::string& path) {
  std::map<std::string, std::string> out;
  const h5::Handle f = h5::open_file(path);
  H5Ovisit2(
      f.id(), H5_INDEX_NAME, H5_ITER_INC,
      [](hid_t loc, const char* name, const H5O_info_t* info, void* data) -> herr_t {
        if (info->type != H5O_TYPE_DATASET) return 0;
        const hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
        const hid_t t = H5Dget_type(d);
        (*static_cast<std::map<std::string, std::string>*>(data))[name] =
            fmt::format("class {} size {} order {}", int(H5Tget_class(t)), H5Tget_size(t),
                        int(H5Tget_order(t)));
        H5Tclose(t);
        H5Dclose(d);
        return 0;
      },
      &out, H5O_INFO_BASIC);
  return out;
}

TEST(CheckpointAppend, ASaveAppendsTheNewEntriesAndWritesTheArraysInPlace) {
  if (written_bytes() < 0) GTEST_SKIP() << "this kernel does not count written bytes";
  Dir d("append");
  const std::string out = d / "run.h5";
  const uint64_t seed = 11;
  const auto model = small_model(16);
  const int64_t params = model->parameters().count();
  const int64_t arrays = 3 * params * int64_t(sizeof(float));
  // A long log (40000 steps) and a checkpoint every 100 steps.
  const int64_t first = 40000, every = 100;
  TrainState st;
  struct Save {
    int64_t bytes, size;
    bool in_place;
    LogMap map;
  };
  std::vector<Save> saves;
  {
    CheckpointFile file(out, [&](hid_t root) { header(root, seed); });
    for (int i = 0; i < 8; ++i) {
      set_state(*model, st, first + i * every);
      const int64_t before = written_bytes();
      file.save(*model, st, seed);
      const int64_t bytes = written_bytes() - before;
      saves.push_back({bytes, file_size(out), file.last_save_in_place(), log_map(out)});
      std::printf("save %d at step %ld: %ld bytes written, file %ld bytes%s\n", i, long(st.step),
                  long(bytes), long(saves.back().size),
                  saves.back().in_place ? ", in place" : ", whole");
    }
    // The file a whole write of the same state gives: the same datasets, shapes, types, values
    // and attributes.
    {
      h5::Handle f = h5::create_file(d / "whole.h5");
      header(f.id(), seed);
      write_train_log(f.id(), st.log);
      write_checkpoint(f.id(), *model, st, seed);
    }
    EXPECT_EQ(test::h5_differences(d / "whole.h5", out), std::vector<std::string>{});
    EXPECT_GT(test::h5_item_count(out), 20u);
    EXPECT_EQ(dataset_types(d / "whole.h5"), dataset_types(out));
    // While training, only the two hidden slots sit beside the file.
    int hidden = 0;
    for (const auto& e : fs::directory_iterator(d.p))
      hidden += e.path().filename().string().starts_with(".run.h5.tmp-");
    EXPECT_EQ(hidden, 2);
  }
  // The first two saves write whole files (the published one and the second slot); the first
  // is as large as the file, which shows that the count sees the writes.
  EXPECT_FALSE(saves[0].in_place);
  EXPECT_FALSE(saves[1].in_place);
  EXPECT_GE(saves[0].bytes, saves[0].size * 9 / 10);
  // Row bytes: five 8-byte columns per step, two more per evaluation.
  const int64_t row = 5 * 8, eval_row = 2 * 8;
  for (size_t i = 2; i < saves.size(); ++i) {
    const Save& s = saves[i];
    const Save& prev = saves[i - 2];  // the same slot, two checkpoints earlier
    EXPECT_TRUE(s.in_place) << i;
    EXPECT_EQ(s.map.file, prev.map.file) << i << ": not the same file";
    // The slot is two checkpoints behind: 2 * every new steps. Each dataset rewrites at most the
    // two 256-value chunks those entries fall in (2 KiB each); the rest is HDF5 metadata (object
    // headers with the new extents, chunk index nodes, the superblock's end of file).
    const int64_t entries = 2 * every * row + 2 * every / kEvalEvery * eval_row;
    const int64_t chunks = 7 * 2 * 256 * 8;
    const int64_t metadata = 16 * 1024;
    EXPECT_GE(s.bytes, arrays) << i;
    EXPECT_LE(s.bytes, arrays + entries + chunks + metadata) << i;
    // Far less than the whole file, which a rewrite would write.
    EXPECT_LT(s.bytes * 5, s.size) << i;
    // The file grows by the new chunks only: the arrays stay where they were.
    EXPECT_LE(s.size - prev.size, entries + chunks + metadata) << i;
    expect_full_chunks_kept(prev.map, s.map, 256);
  }
  std::printf("arrays %ld bytes, file %ld bytes, steady save %ld..%ld bytes\n", long(arrays),
              long(saves.back().size), long(saves[2].bytes), long(saves.back().bytes));
  // Reading it back gives the state saved; the hidden slots are gone with the object.
  auto back = small_model(16);
  TrainState read;
  read_checkpoint(out, *back, read);
  EXPECT_EQ(read.step, st.step);
  EXPECT_EQ(read.log.loss, st.log.loss);
  EXPECT_EQ(read.log.eval_error, st.log.eval_error);
  for (size_t i = 0; i < back->parameters().all().size(); ++i)
    EXPECT_EQ(back->parameters().all()[i]->v, model->parameters().all()[i]->v);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(d.p)) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"run.h5", "whole.h5"}));
}

// A slot that cannot be changed in place (here: a reader still holds it open, and HDF5 refuses to
// open it for writing) is written whole instead, under a new inode the reader does not see.
TEST(CheckpointAppend, ASlotHeldOpenByAReaderIsWrittenWhole) {
  Dir d("held");
  const std::string out = d / "run.h5";
  const auto model = small_model(8);
  TrainState st;
  CheckpointFile file(out, [&](hid_t root) { header(root, 3); });
  set_state(*model, st, 10);
  file.save(*model, st, 3);
  {
    const h5::Handle reader = h5::open_file(out);  // the slot the third save would update
    set_state(*model, st, 20);
    file.save(*model, st, 3);
    set_state(*model, st, 30);
    file.save(*model, st, 3);
    EXPECT_FALSE(file.last_save_in_place());
    EXPECT_EQ(h5::read_attr_int(h5::open_group(reader.id(), "checkpoint").id(), "step"), 10);
  }
  set_state(*model, st, 40);
  file.save(*model, st, 3);
  EXPECT_TRUE(file.last_save_in_place());
  set_state(*model, st, 50);
  file.save(*model, st, 3);
  EXPECT_TRUE(file.last_save_in_place());
  TrainState read;
  read_checkpoint(out, *small_model(8), read);
  EXPECT_EQ(read.step, 50);
  EXPECT_EQ(read.log.step.size(), 50u);
}

// SIGKILL at random moments while a child process saves checkpoint after checkpoint: the file
// must always open (our readers and a plain H5Fopen), hold a complete checkpoint of that child's
// run whose arrays and log are those of its step, and that step must be the last save that
// completed or the one in progress (killed after it was published).
TEST(CheckpointAppend, SigkillDuringSavesLeavesTheLastCompleteCheckpoint) {
  Dir d("kill");
  const std::string out = d / "run.h5";
  const int64_t every = 50;
  const auto model = small_model(32);  // made before fork: the child needs no thread pool
  struct Shared {
    std::atomic<int64_t> done_step, saves, nanoseconds;
    std::atomic<int> in_save;
  };
  void* mem =
      ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  auto* shared = new (mem) Shared{};
  std::mt19937_64 rng(20260423);
  const int kills = 60;
  int during_save = 0, during_in_place = 0, published_unreported = 0;
  for (int k = 0; k < kills; ++k) {
    shared->done_step = 0;
    shared->saves = 0;
    shared->nanoseconds = 0;
    shared->in_save = 0;
    const uint64_t seed = 1000 + uint64_t(k);
    const pid_t pid = fork();
    if (pid == 0) {
      try {
        CheckpointFile file(out, [&](hid_t root) { header(root, seed); });
        TrainState st;
        for (int64_t step = every;; step += every) {
          set_state(*model, st, step);
          shared->in_save = 1;
          const auto t0 = Clock::now();
          file.save(*model, st, seed);
          shared->nanoseconds += (Clock::now() - t0).count();
          shared->done_step = step;  // before in_save drops: a kill between still reads right
          shared->in_save = 0;
          ++shared->saves;
        }
      } catch (...) {
        _exit(3);
      }
    }
    ASSERT_GT(pid, 0);
    // Past the first two (whole) saves; then a kill somewhere within the next two saves' time.
    const int64_t wait_saves = 2 + k % 3;
    const auto limit = Clock::now() + std::chrono::seconds(60);
    while (shared->saves < wait_saves && Clock::now() < limit)
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    ASSERT_GE(shared->saves, wait_saves) << "the child did not save";
    const double mean = double(shared->nanoseconds) / double(shared->saves);
    std::this_thread::sleep_for(std::chrono::nanoseconds(
        int64_t(std::uniform_real_distribution<double>(0.0, 2.0)(rng) * mean)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;
    const bool in_save = shared->in_save != 0;
    const int64_t done = shared->done_step;
    during_save += in_save;
    during_in_place += in_save && shared->saves >= 2;

    // Our readers.
    auto back = small_model(32);
    TrainState read;
    ASSERT_NO_THROW(read_checkpoint(out, *back, read)) << "kill " << k;
    EXPECT_TRUE(read.step == done || (in_save && read.step == done + every))
        << "kill " << k << ": step " << read.step << ", last completed save " << done;
    published_unreported += read.step == done + every;
    TrainState want;
    auto expect = small_model(32);
    set_state(*expect, want, read.step);
    EXPECT_EQ(read.log.step, want.log.step) << "kill " << k;
    EXPECT_EQ(read.log.loss, want.log.loss) << "kill " << k;
    EXPECT_EQ(read.log.eval_step, want.log.eval_step) << "kill " << k;
    for (size_t i = 0; i < back->parameters().all().size(); ++i) {
      const Parameter& got = *back->parameters().all()[i];
      const Parameter& ref = *expect->parameters().all()[i];
      ASSERT_TRUE(got.value == ref.value && got.m == ref.m && got.v == ref.v)
          << "kill " << k << ": " << got.name << " is not the checkpoint of step " << read.step;
    }
    const RunFile rf = read_run_file(out, "kill test");
    EXPECT_EQ(rf.checkpoint, read.step);
    // A plain HDF5 reader, and the run it belongs to.
    const hid_t f = H5Fopen(out.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    ASSERT_GE(f, 0) << "kill " << k;
    H5Fclose(f);
    const h5::Handle file = h5::open_file(out);
    EXPECT_EQ(h5::read_attr_int(file.id(), "seed"), int64_t(seed));
    EXPECT_EQ(h5::read_attr_int(h5::open_group(file.id(), "checkpoint").id(), "seed"),
              int64_t(seed));
  }
  std::printf("%d kills: %d during a save (%d during an in-place one), %d after publishing\n",
              kills, during_save, during_in_place, published_unreported);
  // The kills must have hit the saves, the in-place ones included, or this proved nothing.
  EXPECT_GE(during_save, kills / 2);
  EXPECT_GE(during_in_place, kills / 3);
  ::munmap(mem, sizeof(Shared));

  // The killed children's hidden slots are removed by the next output to the same name.
  bool stale = false;
  for (const auto& e : fs::directory_iterator(d.p))
    stale |= e.path().filename().string().starts_with(".run.h5.tmp-");
  EXPECT_TRUE(stale) << "a killed child left no hidden slot: nothing to clean up was tested";
  { AtomicH5Output next(out); }
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(d.p)) left.push_back(e.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{"run.h5"});
}

// The real pipeline: a run stopped early with a checkpoint at every step (all but the first two
// written in place) and resumed to the end equals an uninterrupted run.
TEST(CheckpointAppend, AResumedRunFromAnInPlaceCheckpointEqualsAWholeRun) {
  Dir d("pipeline");
  test::run({"train.checkpoint_every=1"}, d / "whole.h5");
  test::run({"train.checkpoint_every=1"}, d / "half.h5", "", 9);
  {
    const h5::Handle f = h5::open_file(d / "half.h5");
    EXPECT_EQ(h5::length(f.id(), "train/step"), 9);
    const h5::Handle set(H5Dopen2(f.id(), "train/loss", H5P_DEFAULT), H5Dclose);
    const h5::Handle dcpl(H5Dget_create_plist(set.id()), H5Pclose);
    EXPECT_EQ(H5Pget_layout(dcpl.id()), H5D_CHUNKED) << "the log was not written extendable";
  }
  test::run({"train.checkpoint_every=1"}, d / "resumed.h5", d / "half.h5");
  // The evaluation log differs by design: a run stopped early evaluates at its last step (9),
  // and the resumed run keeps that entry (as it did when every checkpoint was written whole).
  EXPECT_EQ(test::h5_differences(d / "whole.h5", d / "resumed.h5",
                                 {"/train/seconds", "/@created", "/@resume_log", "/train/eval_step",
                                  "/train/eval_error"}),
            std::vector<std::string>{});
  {
    const h5::Handle w = h5::open_file(d / "whole.h5"), r = h5::open_file(d / "resumed.h5");
    EXPECT_EQ(h5::read<int64_t>(w.id(), "train/eval_step"), (std::vector<int64_t>{5, 10, 12}));
    EXPECT_EQ(h5::read<int64_t>(r.id(), "train/eval_step"), (std::vector<int64_t>{5, 9, 10, 12}));
  }
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(d.p)) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"half.h5", "resumed.h5", "whole.h5"}));
}

}  // namespace
}  // namespace icl
