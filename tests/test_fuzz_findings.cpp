// What the fuzz targets (fuzz/) found, one test each: every input here once escaped as something
// other than a one-line icl::Error (an exception naming no field, a write past a variable).
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "io/h5.h"
#include "models/model.h"
#include "run/config_file.h"
#include "run/resolved_run.h"
#include "train/checkpoint.h"

namespace icl {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A chunked dataset of shape `dims` that is never written: it claims the shape and stores nothing.
void unwritten_dataset(hid_t loc, const std::string& name, hid_t type,
                       const std::vector<hsize_t>& dims) {
  const std::vector<hsize_t> chunk(dims.size(), 1);
  const hid_t space = H5Screate_simple(int(dims.size()), dims.data(), nullptr);
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, int(dims.size()), chunk.data());
  const hid_t set = H5Dcreate2(loc, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  ASSERT_GE(set, 0);
  H5Dclose(set);
  H5Pclose(dcpl);
  H5Sclose(space);
}

// fuzz_config: a list or a map as a key (YAML's "? key") reached yaml-cpp's string conversion,
// which threw YAML::BadConversion ("bad conversion", no field named).
TEST(FuzzFindings, ConfigKeyThatIsNotANameIsAOneLineError) {
  const std::string base = "task: {name: linear_regression, d: 2}\n";
  const YAML::Node in_eval = YAML::Load(base + "eval:\n  ? [prompts, 1]\n  : 3\n");
  EXPECT_EQ(error_of([&] { resolve_run(in_eval, "t", "t.yaml"); }),
            "eval: a key must be a name, got a list (line 3)");
  const YAML::Node top = YAML::Load(base + "? {seed: 1}\n: 2\neval: {}\n");
  EXPECT_EQ(error_of([&] { resolve_run(top, "t", "t.yaml"); }),
            "config: a key must be a name, got a map (line 2)");
  const YAML::Node in_sets = YAML::Load(base + "eval:\n  sets:\n    ? [a]\n    : {}\n");
  EXPECT_EQ(error_of([&] { resolve_run(in_sets, "t", "t.yaml"); }),
            "eval.sets: a key must be a name, got a list (line 4)");
  // load_run checks duplicate keys first, over the whole tree: the same answer there.
  EXPECT_EQ(error_of([&] { refuse_duplicate_keys(in_eval, "t.yaml"); }),
            "eval: a key must be a name, got a list (line 3)");
}

class H5File : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "fuzz_findings_" + std::to_string(getpid()) + ".h5";
    file_ = h5::create_file(path_);
  }
  void TearDown() override {
    file_.close();
    std::remove(path_.c_str());
  }
  // An attribute of `n` values (a 1-D array) of `type` on the root, from `data`.
  void array_attr(const char* name, hid_t type, hsize_t n, const void* data) {
    const hid_t space = H5Screate_simple(1, &n, nullptr);
    const hid_t a = H5Acreate2(file_.id(), name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(a, 0);
    ASSERT_GE(H5Awrite(a, type, data), 0);
    H5Aclose(a);
    H5Sclose(space);
  }
  std::string path_;
  h5::Handle file_;
};

// fuzz_results: `config` (or `model_config`) as an array of strings was read into one char*, and
// AddressSanitizer reported the write past it (stack-buffer-overflow in read_attr_string).
TEST_F(H5File, StringAttributeOfSeveralValuesIsAnError) {
  const hid_t str = H5Tcopy(H5T_C_S1);
  H5Tset_size(str, H5T_VARIABLE);
  const char* values[] = {"seed: 1", "seed: 2", "seed: 3"};
  array_attr("config", str, 3, values);
  H5Tclose(str);
  EXPECT_EQ(error_of([&] { h5::read_attr_string(file_.id(), "config"); }),
            "HDF5: attribute config holds 3 values, expected one");
}

// The same for checkpoint/step as an array of integers (read into one int64_t), and for an empty
// one.
TEST_F(H5File, IntegerAttributeOfOtherThanOneValueIsAnError) {
  const int64_t steps[] = {1, 2, 3, 4};
  array_attr("step", H5T_NATIVE_INT64, 4, steps);
  EXPECT_EQ(error_of([&] { h5::read_attr_int(file_.id(), "step"); }),
            "HDF5: attribute step holds 4 values, expected one");
  array_attr("empty", H5T_NATIVE_INT64, 0, steps);
  EXPECT_EQ(error_of([&] { h5::read_attr_int(file_.id(), "empty"); }),
            "HDF5: attribute empty holds 0 values, expected one");
}

// A dataset whose shape multiplies past size_t (chunked, so it costs nothing on disk) threw
// std::length_error from the read buffer, or wrapped to a small count.
TEST_F(H5File, DatasetTooLargeToReadIsAnError) {
  unwritten_dataset(file_.id(), "loss", H5T_NATIVE_FLOAT,
                    {hsize_t(1) << 30, hsize_t(1) << 30, hsize_t(1) << 30});
  EXPECT_EQ(error_of([&] { h5::read<float>(file_.id(), "loss"); }),
            "HDF5: dataset /loss is too large to read (3 dimensions of up to 1073741824 values)");
}

// A chunked dataset may claim a shape that fits size_t but no memory (2^40 floats, 4 TB) and store
// nothing: reading it allocated the whole buffer first (bad_alloc, or under AddressSanitizer an
// abort). It is checked against the process's memory before allocating.
TEST_F(H5File, DatasetLargerThanMemoryIsAnError) {
  unwritten_dataset(file_.id(), "loss", H5T_NATIVE_FLOAT, {hsize_t(1) << 20, hsize_t(1) << 20});
  EXPECT_EQ(h5::element_count(file_.id(), "loss"), int64_t(1) << 40);
  const char* old = std::getenv("ICL_MAX_MEMORY");
  const std::string saved = old ? old : "";
  setenv("ICL_MAX_MEMORY", "1G", 1);
  const std::string error = error_of([&] { h5::read<float>(file_.id(), "loss"); });
  old ? setenv("ICL_MAX_MEMORY", saved.c_str(), 1) : unsetenv("ICL_MAX_MEMORY");
  EXPECT_TRUE(
      error.starts_with("HDF5 dataset /loss: 1048576 x 1048576 values need about 4.4 TB, 1.1 GB is "
                        "available"))
      << error;
}

// fuzz_results: a checkpoint whose parameter (or training-log column) claims such a shape. The
// reader knows the size it needs and checks it before reading anything.
TEST(FuzzFindingsCheckpoint, OversizedDatasetsAreRefusedBeforeReading) {
  const std::string path =
      fmt::format("{}fuzz_findings_ckpt_{}.h5", ::testing::TempDir(), getpid());
  auto model = make_model("transformer", {{"n_layer", "1"}, {"n_embd", "8"}, {"n_head", "2"}},
                          ModelIO{3, 1, 8});
  model->init(1);
  TrainState state;
  for (int64_t s = 1; s <= 3; ++s) {
    state.log.step.push_back(s);
    state.log.loss.push_back(1.0);
    state.log.lr.push_back(1e-3);
    state.log.seconds.push_back(0.1);
    state.log.grad_norm.push_back(1.0);
  }
  state.step = 3;
  const std::string first = model->parameters().all().front()->name;
  const size_t first_size = model->parameters().all().front()->value.size();
  // Replaces `name` (under `group`) by an unwritten dataset of 2^40 values.
  const auto huge = [](hid_t group, const std::string& name, hid_t type) {
    ASSERT_GE(H5Ldelete(group, name.c_str(), H5P_DEFAULT), 0);
    unwritten_dataset(group, name, type, {hsize_t(1) << 20, hsize_t(1) << 20});
  };
  const auto write = [&](bool huge_param, bool huge_log) {
    std::remove(path.c_str());
    h5::Handle f = h5::create_file(path);
    write_train_log(f.id(), state.log);
    write_checkpoint(f.id(), *model, state, 1);
    if (huge_param) {
      const h5::Handle g = h5::open_group(f.id(), "checkpoint/params");
      huge(g.id(), first, H5T_NATIVE_FLOAT);
    }
    if (huge_log) {
      const h5::Handle g = h5::open_group(f.id(), "train");
      huge(g.id(), "loss", H5T_NATIVE_DOUBLE);
    }
  };
  TrainState read;
  write(false, false);
  EXPECT_EQ(error_of([&] { read_checkpoint(path, *model, read); }), "(no error)");
  EXPECT_EQ(read.step, 3);
  write(true, false);
  // fmt, not operator+: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string.
  EXPECT_EQ(error_of([&] { read_checkpoint(path, *model, read); }),
            fmt::format("cannot resume from {}: params/{} has 1099511627776 values, the model "
                        "needs {}",
                        path, first, first_size));
  write(false, true);
  EXPECT_EQ(error_of([&] { read_checkpoint(path, *model, read); }),
            fmt::format("cannot resume from {}: training log column loss has 1099511627776 "
                        "values, checkpoint is at step 3",
                        path));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace icl
