// The `icl` command, driven as a user would: the real binary (ICL_BINARY) in a fresh temporary
// directory per test, stdout and stderr captured separately. Every bad input must give exit code 1
// (2 for an unknown command), exactly one stderr line "icl: error: ..." naming the offending thing
// and what is allowed, and leave no output file (final or temporary) behind. The positive tests
// check the files `icl run` and `icl generate` write, and that a seed fixes them bit for bit.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/device.h"
#include "eval/streams.h"
#include "io/h5.h"
#include "run/run_benchmark.h"
#include "tests/cli_helpers.h"

namespace {

namespace fs = std::filesystem;
using icl::test::listing;
using icl::test::Result;
using icl::test::shell_quote;
using icl::test::slurp;
using testing::HasSubstr;
using testing::Not;
using testing::StartsWith;

// A fresh directory per test: work/ is the command's working directory (and where its outputs go),
// cap/ holds the captured stdout and stderr so that they never show up in work/.
class CliTest : public testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    root_ = fs::temp_directory_path() / fmt::format("icl_cli_{}_{}_{}_{}", info->test_suite_name(),
                                                    info->name(), ::getpid(), counter++);
    fs::remove_all(root_);
    fs::create_directories(work());
    fs::create_directories(root_ / "cap");
  }
  void TearDown() override {
    std::error_code ec;
    // A test may have made a directory read-only; make everything removable again.
    for (auto it = fs::recursive_directory_iterator(root_, ec); !ec && it != fs::end(it);
         it.increment(ec))
      if (it->is_directory(ec))
        fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(root_, ec);
  }

  fs::path work() const { return root_ / "work"; }

  void write_file(const std::string& name, const std::string& text) {
    std::ofstream(work() / name) << text;
  }

  // `env`: a prefix of the command line, e.g. "env -u OMP_WAIT_POLICY".
  Result icl(const std::vector<std::string>& args, const std::string& env = "") {
    // fmt, not operator+: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string.
    std::string cmd =
        fmt::format("cd {} && {} {}", shell_quote(work().string()), env, shell_quote(ICL_BINARY));
    for (const auto& a : args) cmd += fmt::format(" {}", shell_quote(a));
    const fs::path out = root_ / "cap" / "stdout", err = root_ / "cap" / "stderr";
    cmd +=
        fmt::format(" >{} 2>{} </dev/null", shell_quote(out.string()), shell_quote(err.string()));
    const int status = std::system(cmd.c_str());
    Result r;
    r.code = status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  // Runs a command that must fail as a user error and checks the whole contract: the exit code,
  // one stderr line "icl: error: ..." containing every one of `needles`, and no file created
  // anywhere in the working directory (neither `out_name` nor a ".<out_name>.tmp-<pid>").
  void expect_user_error(const std::vector<std::string>& args,
                         const std::vector<std::string>& needles,
                         const std::string& out_name = "X.h5", int code = 1) {
    const std::set<std::string> before = listing(work());
    const Result r = icl(args);
    std::string cmdline = "icl";
    for (const auto& a : args) cmdline += " " + a;
    SCOPED_TRACE(cmdline);
    EXPECT_EQ(r.code, code) << "stderr: " << r.err;
    EXPECT_THAT(r.err, StartsWith("icl: error: "));
    ASSERT_FALSE(r.err.empty());
    EXPECT_EQ(r.err.back(), '\n') << "stderr does not end with a newline: " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1)
        << "stderr must be exactly one line, got:\n"
        << r.err;
    for (const auto& n : needles) EXPECT_THAT(r.err, HasSubstr(n));
    EXPECT_FALSE(fs::exists(work() / out_name)) << out_name << " was written";
    const std::set<std::string> after = listing(work());
    for (const auto& f : after) {
      EXPECT_TRUE(before.count(f)) << "left behind: " << f;
      EXPECT_EQ(f.find(".tmp-"), std::string::npos) << "temporary file left behind: " << f;
    }
    EXPECT_EQ(before, after);
  }

  fs::path root_;
};

// The suites are named by what they exercise; all share the fixture above.
using CliErrors = CliTest;
using CliRun = CliTest;
using CliGenerate = CliTest;
using CliMisc = CliTest;

constexpr const char* kValidTaskAndEval =
    "task: {name: linear_regression, d: 5}\n"
    "eval: {prompts: 8, examples: 5}\n";

// ------------------------------------------------------------------------------------------------
// Bad input: one test each.

TEST_F(CliErrors, UnknownTask) {
  expect_user_error({"generate", "no_such_task", "--prompts", "4", "--out", "X.h5"},
                    {"unknown task 'no_such_task'", "known tasks:", "linear_regression"});
}

TEST_F(CliErrors, UnknownBaseline) {
  write_file("bad_baseline.yaml", std::string("seed: 0\n") + kValidTaskAndEval +
                                      "baselines: [least_squares, no_such_baseline]\n");
  expect_user_error(
      {"run", "bad_baseline.yaml", "--out", "X.h5", "--no-figures"},
      {"unknown baseline 'no_such_baseline'", "known baselines:", "least_squares", "ridge"});
}

TEST_F(CliErrors, UnknownBenchmark) {
  expect_user_error({"run", "no/such_benchmark", "--out", "X.h5", "--no-figures"},
                    {"unknown benchmark 'no/such_benchmark'", "known benchmarks:", "quickstart",
                     "garg2022/linear_regression_baselines"});
}

TEST_F(CliErrors, MissingConfigFile) {
  expect_user_error({"run", "not_there.yaml", "--out", "X.h5", "--no-figures"},
                    {"not_there.yaml", "does not exist"});
}

// A key given twice is an error naming it and both lines, at the top level, inside a section and
// inside a list entry (yaml-cpp alone keeps both and answers with the first).
TEST_F(CliErrors, DuplicateConfigKeys) {
  write_file("dup_top.yaml", std::string("seed: 1\nseed: 2\n") + kValidTaskAndEval);
  expect_user_error({"run", "dup_top.yaml", "--out", "X.h5", "--no-figures"},
                    {"dup_top.yaml", "seed is given twice (lines 1 and 2)"});
  write_file("dup_section.yaml",
             "task:\n  name: linear_regression\n  d: 3\n  d: 4\neval: {prompts: 8}\n"
             "baselines: [least_squares]\n");
  expect_user_error({"run", "dup_section.yaml", "--out", "X.h5", "--no-figures"},
                    {"task.d is given twice (lines 3 and 4)"});
  write_file("dup_list.yaml", std::string(kValidTaskAndEval) +
                                  "baselines:\n  - {name: ridge, lambda: 1, lambda: 2}\n");
  expect_user_error({"run", "dup_list.yaml", "--out", "X.h5", "--no-figures"},
                    {"baselines.0.lambda is given twice"});
}

// Every subcommand validates the same way: a seed out of run's range is refused by generate too
// (Boost alone wrapped -1 to 2^64 - 1), --device is checked also where nothing trains, and an
// empty --out is refused rather than replaced by the default name.
TEST_F(CliErrors, ArgumentsAreValidatedAlikeInEverySubcommand) {
  for (const char* seed : {"-1", "1e19", "x", "1000000000000000001"})
    expect_user_error(
        {"generate", "linear_regression", "--prompts", "4", "--seed", seed, "--out", "X.h5"},
        {"--seed", "0 to 1e18", seed});
  expect_user_error({"run", "linear_regression_baselines_small", "--device", "tpu", "--out", "X.h5",
                     "--no-figures"},
                    {"--device", "auto|cpu|cuda", "tpu"});
  expect_user_error({"run", "linear_regression_baselines_small", "--out", "", "--no-figures"},
                    {"--out", "must name a file"});
  EXPECT_FALSE(fs::exists(work() / "results"));
}

// icl report onto a place it cannot write: one line naming it, no Python traceback.
TEST_F(CliErrors, ReportToAnUnwritablePlaceIsOneLine) {
  ASSERT_EQ(icl({"run", "linear_regression_baselines_small", "--set", "eval.prompts=16", "--out",
                 "r.h5", "--no-figures"})
                .code,
            0);
  write_file("afile", "x");
  expect_user_error({"report", "r.h5", "--out", "afile/figs"},
                    {"report: cannot write the figures to afile/figs", "Not a directory"});
}

// Standard output that cannot be written is an error (exit 1, one line), not a silent success.
TEST_F(CliErrors, StandardOutputWriteErrorsAreErrors) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  const std::string cmd = fmt::format("{} list >/dev/full 2>{}", shell_quote(ICL_BINARY),
                                      shell_quote((root_ / "cap" / "err").string()));
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  const std::string err = slurp(root_ / "cap" / "err");
  EXPECT_THAT(err, StartsWith("icl: error: cannot write to standard output"));
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

TEST_F(CliErrors, UnknownTopLevelConfigKey) {
  write_file("unknown_key.yaml", std::string("foo: 1\n") + kValidTaskAndEval);
  expect_user_error({"run", "unknown_key.yaml", "--out", "X.h5", "--no-figures"},
                    {"unknown key 'foo'", "allowed:", "description", "task", "eval", "baselines"});
}

TEST_F(CliErrors, UnknownTaskParameterViaSet) {
  expect_user_error({"run", "linear_regression_baselines_small", "--set", "task.foo=1", "--out",
                     "X.h5", "--no-figures"},
                    {"task", "unknown parameter 'foo'", "allowed:", "d,", "x_cov", "query"});
}

TEST_F(CliErrors, WrongTypeTaskParameter) {
  expect_user_error({"run", "linear_regression_baselines_small", "--set", "task.d=abc", "--out",
                     "X.h5", "--no-figures"},
                    {"task.d", "expected an integer", "[1, 4096]", "'abc'"});
}

TEST_F(CliErrors, WrongTypeEvalPrompts) {
  expect_user_error({"run", "linear_regression_baselines_small", "--set", "eval.prompts=1.5",
                     "--out", "X.h5", "--no-figures"},
                    {"eval.prompts", "expected an integer", "[1,", "'1.5'"});
}

TEST_F(CliErrors, WrongTypeInGenerateSet) {
  expect_user_error(
      {"generate", "linear_regression", "--set", "d=abc", "--prompts", "4", "--out", "X.h5"},
      {"linear_regression.d", "expected an integer", "[1, 4096]", "'abc'"});
}

TEST_F(CliErrors, NegativeDimension) {
  expect_user_error({"run", "linear_regression_baselines_small", "--set", "task.d=-3", "--out",
                     "X.h5", "--no-figures"},
                    {"task.d", "must be an integer in [1, 4096]", "got -3"});
}

TEST_F(CliErrors, ZeroExamplesInRun) {
  expect_user_error({"run", "linear_regression_baselines_small", "--set", "eval.examples=0",
                     "--out", "X.h5", "--no-figures"},
                    {"eval.examples", "integer in [1,", "got 0"});
}

TEST_F(CliErrors, ZeroExamplesInGenerate) {
  expect_user_error(
      {"generate", "linear_regression", "--prompts", "4", "--examples", "0", "--out", "X.h5"},
      {"--examples", ">= 1", "got 0"});
}

TEST_F(CliErrors, ZeroPromptsInGenerate) {
  expect_user_error({"generate", "linear_regression", "--prompts", "0", "--out", "X.h5"},
                    {"--prompts", ">= 1", "got 0"});
}

// A directory on the way to the output cannot be created (a regular file stands there, or a name
// is too long): one line naming it, and the directories made before the failing one are removed
// again.
TEST_F(CliErrors, OutputDirCannotBeCreatedInGenerate) {
  write_file("file", "x");
  expect_user_error({"generate", "linear_regression", "--prompts", "4", "--out", "file/sub/x.h5"},
                    {"file/sub/x.h5", "cannot create directory file/sub"});
  const std::string long_name(300, 'n');
  expect_user_error(
      {"generate", "linear_regression", "--prompts", "4", "--out", "new/" + long_name + "/x.h5"},
      {"cannot create directory new/nnn", "File name too long"});
}

TEST_F(CliErrors, OutputDirCannotBeCreatedInRun) {
  write_file("file", "x");
  expect_user_error({"run", "linear_regression_baselines_small", "--set", "eval.prompts=64",
                     "--out", "file/x.h5", "--no-figures"},
                    {"file/x.h5", "file is not a directory"});
}

// --out onto something that is not a regular file is refused, never replaced: a FIFO, a character
// device (a copy of /dev/null made here, so that a regression cannot replace the real one), and a
// read-only file (as root too, where the permission bits do not stop a write).
TEST_F(CliErrors, OutputOntoASpecialOrReadOnlyFileIsRefused) {
  ASSERT_EQ(::mkfifo((work() / "fifo.h5").c_str(), 0644), 0);
  expect_user_error({"generate", "linear_regression", "--prompts", "4", "--out", "fifo.h5"},
                    {"fifo.h5", "FIFO, not a regular file"}, "none.h5");
  EXPECT_TRUE(fs::is_fifo(work() / "fifo.h5"));
  if (::mknod((work() / "null.h5").c_str(), S_IFCHR | 0666, ::makedev(1, 3)) == 0) {
    expect_user_error({"generate", "linear_regression", "--prompts", "4", "--out", "null.h5"},
                      {"null.h5", "character device, not a regular file"}, "none.h5");
    EXPECT_TRUE(fs::is_character_file(work() / "null.h5"));
  }
  write_file("ro.h5", "old");
  fs::permissions(work() / "ro.h5", fs::perms::owner_read | fs::perms::group_read);
  expect_user_error({"generate", "linear_regression", "--prompts", "4", "--out", "ro.h5"},
                    {"ro.h5", "read-only (mode 440)"}, "none.h5");
  EXPECT_EQ(slurp(work() / "ro.h5"), "old");
}

// A symbolic link is written through: the file it names gets the new contents and keeps its mode,
// and the link stays a link.
TEST_F(CliRun, OutputThroughASymlinkReplacesItsTargetAndKeepsItsMode) {
  write_file("real.h5", "old");
  fs::permissions(work() / "real.h5", fs::perms::owner_read | fs::perms::owner_write);
  fs::create_symlink("real.h5", work() / "link.h5");
  const Result r = icl({"generate", "linear_regression", "--prompts", "4", "--out", "link.h5"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::is_symlink(work() / "link.h5"));
  EXPECT_TRUE(icl::h5::is_hdf5((work() / "real.h5").string()));
  EXPECT_EQ(fs::status(work() / "real.h5").permissions(),
            fs::perms::owner_read | fs::perms::owner_write);
}

// A file name up to the system's limit works: the temporary file's suffix must not push it over.
TEST_F(CliErrors, OutputNamesUpToTheLimitWork) {
  const std::string name = std::string(252, 'n') + ".h5";  // 255 characters
  const Result r = icl({"generate", "linear_regression", "--prompts", "4", "--out", name});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(icl::h5::is_hdf5((work() / name).string()));
  EXPECT_EQ(listing(work()), std::set<std::string>{name});  // and no temporary left behind
}

// A killed run's temporary file is removed by the next output to the same name once its process is
// gone; a live process's is left alone.
TEST_F(CliErrors, StaleTemporariesOfDeadProcessesAreRemoved) {
  pid_t dead = 0;
  for (pid_t p = 4000000; p > 3000000 && !dead; p -= 997)
    if (::kill(p, 0) != 0 && errno == ESRCH) dead = p;
  ASSERT_NE(dead, 0);
  const std::string stale = fmt::format(".x.h5.tmp-{}-0", dead);
  const std::string live = fmt::format(".x.h5.tmp-{}-0", ::getpid());
  write_file(stale, "partial");
  write_file(live, "in progress");
  const Result r = icl({"generate", "linear_regression", "--prompts", "4", "--out", "x.h5"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(fs::exists(work() / stale));
  EXPECT_TRUE(fs::exists(work() / live));
}

// A fresh clone has no results/: missing directories on the way to --out are created.
TEST_F(CliErrors, MissingOutputDirectoriesAreCreated) {
  const Result r = icl({"generate", "linear_regression", "--prompts", "4", "--out", "a/b/x.h5"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(icl::h5::is_hdf5((work() / "a/b/x.h5").string()));
}

// Makes work()/ro read-only; false when this process can write there anyway (root, or
// CAP_DAC_OVERRIDE), in which case the caller skips: permissions cannot produce the error.
bool make_read_only_dir(const fs::path& dir) {
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                           fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  const fs::path probe = dir / "probe";
  const bool writable = bool(std::ofstream(probe));
  if (writable) fs::remove(probe);
  return !writable;
}

TEST_F(CliErrors, OutputDirReadOnlyInGenerate) {
  if (!make_read_only_dir(work() / "ro"))
    GTEST_SKIP() << "this process can write into a read-only directory (running as root?), so "
                    "the read-only output case cannot be exercised";
  expect_user_error({"generate", "linear_regression", "--prompts", "4", "--out", "ro/x.h5"},
                    {"ro/x.h5", "not writable"}, "ro/x.h5");
}

TEST_F(CliErrors, OutputDirReadOnlyInRun) {
  if (!make_read_only_dir(work() / "ro"))
    GTEST_SKIP() << "this process can write into a read-only directory (running as root?), so "
                    "the read-only output case cannot be exercised";
  expect_user_error({"run", "linear_regression_baselines_small", "--set", "eval.prompts=64",
                     "--out", "ro/x.h5", "--no-figures"},
                    {"ro/x.h5", "not writable"}, "ro/x.h5");
}

TEST_F(CliErrors, OutputIsADirectory) {
  fs::create_directories(work() / "adir.h5");
  expect_user_error({"generate", "linear_regression", "--prompts", "4", "--out", "adir.h5"},
                    {"adir.h5", "is a directory"}, "adir.h5/x");
}

TEST_F(CliErrors, ReportOfNonHdf5File) {
  write_file("notes.txt", "this is not an HDF5 file\n");
  expect_user_error({"report", "notes.txt"}, {"notes.txt", "not an HDF5 file"});
  EXPECT_FALSE(fs::exists(work() / "notes_figures"));
}

TEST_F(CliErrors, ReportOfMissingFile) {
  expect_user_error({"report", "missing.h5"}, {"missing.h5", "does not exist"});
  EXPECT_FALSE(fs::exists(work() / "missing_figures"));
}

TEST_F(CliErrors, ReportOfAFileWithoutResults) {
  ASSERT_EQ(icl({"generate", "linear_regression", "--prompts", "2", "--out", "P.h5"}).code, 0);
  expect_user_error({"report", "P.h5"}, {"P.h5", "has no /eval results"}, "X.h5");
  EXPECT_FALSE(fs::exists(work() / "P_figures"));
}

TEST_F(CliErrors, UnknownCommand) {
  expect_user_error(
      {"frobnicate"},
      {"unknown command 'frobnicate'", "commands:", "list", "run", "generate", "report"}, "X.h5",
      2);
}

TEST_F(CliErrors, BadCommandLineExitsTwo) {
  expect_user_error({"run"}, {"run:", "benchmark", "icl run --help"}, "X.h5", 2);
  expect_user_error({"run", "linear_regression_baselines_small", "--bogus", "--out", "X.h5"},
                    {"bogus"}, "X.h5", 2);
  expect_user_error({"generate", "linear_regression", "--prompts", "abc", "--out", "X.h5"},
                    {"prompts"}, "X.h5", 2);
}

TEST_F(CliErrors, BadModelConfigurations) {
  expect_user_error({"run", "quickstart", "--set", "model.name=lstm9", "--out", "X.h5"},
                    {"unknown model 'lstm9'", "known models:", "transformer"});
  expect_user_error({"run", "quickstart", "--set", "model.n_head=3", "--out", "X.h5"},
                    {"model.n_head", "must divide n_embd = 64", "got 3"});
  expect_user_error({"run", "quickstart", "--set", "model.placement=sandwich", "--out", "X.h5"},
                    {"model.placement", "pre|post|peri|mix"});
  // quickstart's model: n_embd 64; 64 heads of width 1 leave nothing to pair.
  expect_user_error(
      {"run", "quickstart", "--set", "model.pos=rope", "--set", "model.n_head=64", "--out", "X.h5"},
      {"model.pos", "rope", "head width n_embd / n_head must be even", "64 / 64 = 1"});
  expect_user_error({"run", "quickstart", "--set", "model.pos=alibi", "--out", "X.h5"},
                    {"model.pos", "learned|rope|none"});
  expect_user_error({"run", "quickstart", "--set", "train.steps=0", "--out", "X.h5"},
                    {"train.steps", "integer in [1,", "got 0"});
  expect_user_error({"run", "quickstart", "--resume", "missing.h5", "--out", "X.h5"},
                    {"--resume: missing.h5", "not a readable HDF5 file"});
}

TEST_F(CliErrors, BadDeviceChoices) {
  expect_user_error({"run", "quickstart", "--device", "tpu", "--out", "X.h5"},
                    {"device: must be one of auto|cpu|cuda, got 'tpu'"});
  expect_user_error({"run", "quickstart", "--set", "train.precision=bf16", "--out", "X.h5"},
                    {"train.precision", "tf32|fp32", "bf16"});
  if (icl::cuda_device_count() > 0) return;  // with a GPU, --device cuda is no error
  expect_user_error({"run", "quickstart", "--device", "cuda", "--out", "X.h5"}, {"device cuda: "});
}

TEST_F(CliErrors, EvalWithoutACheckpoint) {
  ASSERT_EQ(icl({"generate", "linear_regression", "--prompts", "2", "--out", "P.h5"}).code, 0);
  expect_user_error({"eval", "--checkpoint", "P.h5", "--out", "X.h5"},
                    {"P.h5", "holds no checkpoint"});
  expect_user_error({"eval", "--checkpoint", "nothing.h5", "--out", "X.h5"},
                    {"nothing.h5", "not a readable HDF5 file"});
}

// Train a tiny model for a few steps, then evaluate it under a distribution shift with `icl eval`.
TEST_F(CliRun, EvalOfATrainedCheckpointUnderAShift) {
  const Result r =
      icl({"run", "quickstart", "--set", "train.steps=6", "--set", "train.batch_size=4", "--set",
           "eval.prompts=16", "--set", "train.eval_prompts=8", "--out", "run.h5", "--no-figures"});
  ASSERT_EQ(r.code, 0) << r.err;
  const Result e = icl({"eval", "--checkpoint", "run.h5", "--set", "x_cov=skewed", "--prompts",
                        "16", "--name", "skewed", "--out", "shift.h5"});
  ASSERT_EQ(e.code, 0) << e.err;
  const icl::h5::Handle f = icl::h5::open_file((work() / "shift.h5").string());
  EXPECT_TRUE(icl::h5::exists(f.id(), "eval/skewed/transformer/mean"));
  EXPECT_TRUE(icl::h5::exists(f.id(), "eval/skewed/least_squares/mean"));
  EXPECT_EQ(icl::h5::read<double>(f.id(), "eval/skewed/transformer/mean").size(), 15u);
  EXPECT_FALSE(icl::h5::exists(f.id(), "eval/skewed/transformer/per_prompt"));
  // --per-prompt keeps every prompt's score beside each mean: [prompts, points].
  ASSERT_EQ(
      icl({"eval", "--checkpoint", "run.h5", "--prompts", "16", "--per-prompt", "--out", "pp.h5"})
          .code,
      0);
  const icl::h5::Handle pp = icl::h5::open_file((work() / "pp.h5").string());
  const auto per_prompt = icl::h5::read<double>(pp.id(), "eval/eval/transformer/per_prompt");
  const auto mean = icl::h5::read<double>(pp.id(), "eval/eval/transformer/mean");
  ASSERT_EQ(per_prompt.size(), 16 * mean.size());
  for (size_t k = 0; k < mean.size(); ++k) {
    double m = 0;
    for (size_t p = 0; p < 16; ++p) m += per_prompt[p * mean.size() + k];
    EXPECT_NEAR(m / 16, mean[k], 1e-12 * (1 + std::abs(mean[k]))) << k;
  }
  expect_user_error({"eval", "--checkpoint", "run.h5", "--set", "d=7", "--out", "X.h5"},
                    {"inputs of another width"});
  // Bad arguments are refused before any work, and the trained run is never overwritten by its
  // own evaluation (also not through a symbolic link to it).
  const std::string before = slurp(work() / "run.h5");
  for (const char* n : {"0", "-1"})
    expect_user_error({"eval", "--checkpoint", "run.h5", "--prompts", n, "--out", "X.h5"},
                      {"--prompts", ">= 1", fmt::format("got {}", n)});
  expect_user_error({"eval", "--checkpoint", "run.h5", "--examples", "-3", "--out", "X.h5"},
                    {"--examples", ">= 1", "got -3"});
  expect_user_error({"eval", "--checkpoint", "run.h5", "--name", "a/b", "--out", "X.h5"},
                    {"--name", "without '/'", "a/b"});
  expect_user_error({"eval", "--checkpoint", "run.h5", "--out", "run.h5"},
                    {"--out", "run.h5 is the checkpoint being evaluated"}, "none.h5");
  fs::create_symlink("run.h5", work() / "alias.h5");
  expect_user_error({"eval", "--checkpoint", "run.h5", "--out", "alias.h5"},
                    {"--out", "is the checkpoint being evaluated"}, "none.h5");
  EXPECT_EQ(slurp(work() / "run.h5"), before);
}

// A bandit benchmark end to end: the regret table on stdout, /bandit in results.h5 (the same curve
// as a rollout in-process on the benchmark's stream), and the regret figure.
TEST_F(CliRun, BanditBenchmarkWritesRegretCurvesAndAFigure) {
  const Result r = icl({"run", "lin2024/linear_bandit_baselines", "--set", "bandit.horizon=40",
                        "--set", "rollout.environments=30", "--out", "b.h5"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("cumulative regret (mean ± SEM)"));
  EXPECT_THAT(r.out, HasSubstr("linucb"));
  const icl::h5::Handle f = icl::h5::open_file((work() / "b.h5").string());
  const auto mean = icl::h5::read<double>(f.id(), "bandit/linucb/mean");
  ASSERT_EQ(mean.size(), 40u);
  EXPECT_EQ(icl::h5::read<int64_t>(f.id(), "bandit/step").back(), 40);
  const icl::BanditSetup setup = icl::make_bandit_setup({{"setup", "lin"}, {"horizon", "40"}});
  const icl::RegretCurve c = icl::rollout(
      setup, icl::bandit_stream(0),
      icl::make_bandit_policy("linucb", {{"lambda", "1"}, {"alpha", "2"}}, "linucb"), {30, 30});
  EXPECT_EQ(mean, c.mean);
  EXPECT_LT(mean.back(), icl::h5::read<double>(f.id(), "bandit/random/mean").back());
  EXPECT_TRUE(fs::exists(work() / "b_figures" / "bandit_regret.png"));
  expect_user_error(
      {"run", "lin2024/linear_bandit_baselines", "--set", "bandit.arms=0", "--out", "X.h5"},
      {"bandit.arms"});
  expect_user_error({"run", "lin2024/linear_bandit_baselines", "--until", "3", "--out", "X.h5"},
                    {"trains no model"});
}

TEST_F(CliErrors, NonScalarConfigFieldsNameTheField) {
  expect_user_error(
      {"run", "linear_regression_baselines_small", "--set", "description=[1, 2]", "--out", "X.h5"},
      {"description: expected a string, got a list"});
  expect_user_error({"run", "linear_regression_baselines_small", "--set",
                     "eval.sets.standard.task.name=[a]", "--out", "X.h5"},
                    {"eval.sets.standard.task.name: expected a string"});
}

// ------------------------------------------------------------------------------------------------
// Resume consistency and the rule that a good results file is replaced only by a finished run or a
// checkpoint of the run it holds (README, "Output files, resume and interruption").

// A few steps of quickstart, checkpointed every 2.
const std::vector<std::string> kShortRun = {"--set",        "train.steps=8",
                                            "--set",        "train.checkpoint_every=2",
                                            "--set",        "eval.sets.standard.prompts=16",
                                            "--no-figures", "--device",
                                            "cpu"};

std::vector<std::string> short_run(std::vector<std::string> args) {
  std::vector<std::string> a = {"run", "quickstart"};
  a.insert(a.end(), kShortRun.begin(), kShortRun.end());
  a.insert(a.end(), args.begin(), args.end());
  return a;
}

std::string resume_log(const fs::path& file) {
  const icl::h5::Handle f = icl::h5::open_file(file.string());
  return icl::h5::exists_attr(f.id(), "resume_log")
             ? icl::h5::read_attr_string(f.id(), "resume_log")
             : "";
}

TEST_F(CliErrors, ResumeRefusesAConfigThatTrainsDifferently) {
  ASSERT_EQ(icl(short_run({"--until", "4", "--out", "R.h5"})).code, 0);
  const std::string before = slurp(work() / "R.h5");
  const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> cases = {
      {{"--seed", "7"}, {"seed 0 -> 7"}},
      {{"--set", "train.lr=0.01"}, {"train.lr 0.001 -> 0.01"}},
      {{"--set", "train.batch_size=8"}, {"train.batch_size 64 -> 8"}},
      {{"--set", "train.schedule=constant"}, {"train.schedule cosine -> constant"}},
      {{"--set", "train.weight_decay=0.1"}, {"train.weight_decay 0 -> 0.1"}},
      {{"--set", "task.noise_std=0.5"}, {"task.noise_std 0 -> 0.5"}},
      {{"--set", "model.norm=rmsnorm"}, {"model.norm layernorm -> rmsnorm"}},
      {{"--set", "train.precision=fp32"}, {"train.precision tf32 -> fp32"}},
  };
  for (const auto& [change, needles] : cases) {
    std::vector<std::string> args = short_run({"--resume", "R.h5", "--out", "R.h5"});
    args.insert(args.end(), change.begin(), change.end());
    std::vector<std::string> n = {"--resume: this config trains differently from the run in R.h5",
                                  "--force"};
    n.insert(n.end(), needles.begin(), needles.end());
    expect_user_error(args, n);
  }
  EXPECT_EQ(slurp(work() / "R.h5"), before) << "a refused resume changed the checkpoint";
  expect_user_error(short_run({"--force", "--out", "X.h5"}), {"--force", "--resume"});
}

// Sizes and values that cannot work are refused before training starts (no header line), naming
// the setting: not after hours of training, at evaluation.
TEST_F(CliErrors, RunChecksMemoryAndFinitenessBeforeTraining) {
  expect_user_error(short_run({"--set", "eval.sets.standard.prompts=1000000000", "--out", "X.h5"}),
                    {"eval.sets.standard.prompts 1000000000", "need about", "is available"});
  expect_user_error(short_run({"--set", "task.w_std=1e15", "--set", "task.x_scale=1e15", "--set",
                               "task.y_scale=1e15", "--out", "X.h5"}),
                    {"non-finite", "w_std=1e+15"});
}

TEST_F(CliRun, ResumeRecordsAllowedAndForcedChanges) {
  ASSERT_EQ(icl(short_run({"--until", "4", "--out", "R.h5"})).code, 0);
  EXPECT_EQ(resume_log(work() / "R.h5"), "");
  // More steps and another evaluation: allowed, and recorded.
  Result r = icl(short_run({"--resume", "R.h5", "--out", "R.h5", "--until", "6", "--set",
                            "train.steps=10", "--set", "eval.sets.standard.prompts=24"}));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(resume_log(work() / "R.h5"),
            "resumed at step 4 from R.h5; changed: train.steps 8 -> 10, "
            "eval.sets.standard.prompts 16 -> 24");
  // A training change goes through only with --force, says so, and is recorded after the first.
  r = icl(short_run({"--resume", "R.h5", "--out", "R.h5", "--set", "train.steps=10", "--set",
                     "train.lr=0.002", "--force"}));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("icl: note: --force: continuing a run trained with other settings "
                               "(train.lr 0.001 -> 0.002)"));
  EXPECT_EQ(resume_log(work() / "R.h5"),
            "resumed at step 4 from R.h5; changed: train.steps 8 -> 10, "
            "eval.sets.standard.prompts 16 -> 24\n"
            "resumed at step 6 from R.h5; changed: eval.sets.standard.prompts 24 -> 16; "
            "forced with --force: train.lr 0.001 -> 0.002");
  const icl::h5::Handle f = icl::h5::open_file((work() / "R.h5").string());
  EXPECT_TRUE(icl::h5::exists(f.id(), "eval/standard"));
  EXPECT_EQ(icl::h5::read_attr_int(icl::h5::open_group(f.id(), "checkpoint").id(), "step"), 10);
}

// A run killed after its first checkpoints leaves the good file it was to replace as it was: the
// checkpoints went beside it, to X.partial.h5, from where the run continues and completes.
TEST_F(CliRun, AFailedRunLeavesTheGoodFileItWasToReplace) {
  ASSERT_EQ(icl(short_run({"--out", "X.h5"})).code, 0);
  const std::string good = slurp(work() / "X.h5");
  std::string cmd = fmt::format("cd {}; {}", shell_quote(work().string()), shell_quote(ICL_BINARY));
  for (const auto& a : short_run({"--seed", "1", "--set", "train.steps=4000", "--set",
                                  "train.checkpoint_every=1", "--out", "X.h5"}))
    cmd += fmt::format(" {}", shell_quote(a));
  cmd +=
      " >/dev/null 2>../cap/err & pid=$!; for i in $(seq 2000); do [ -e X.partial.h5 ] && "
      "break; sleep 0.01; done; kill -KILL $pid; wait $pid; echo $? > ../cap/code";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_EQ(slurp(root_ / "cap" / "code"), "137\n");
  EXPECT_THAT(slurp(root_ / "cap" / "err"),
              HasSubstr("icl: note: X.h5 already holds results, kept until this run completes; "
                        "checkpoints go to X.partial.h5"));
  EXPECT_EQ(slurp(work() / "X.h5"), good) << "the good results file was replaced";
  ASSERT_TRUE(fs::exists(work() / "X.partial.h5"));
  // The killed run's unfinished temporary (the next run to X.h5 would clean it up; done here so
  // that the error checks below see an unchanged directory).
  for (const auto& e : fs::directory_iterator(work()))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) fs::remove(e.path());
  // Starting that run over would drop its checkpoint: refused, naming how to continue.
  expect_user_error(short_run({"--seed", "1", "--set", "train.steps=4000", "--out", "X.h5"}),
                    {"X.partial.h5 holds this run's checkpoint at step", "--resume X.partial.h5"},
                    "none.h5");
  // Another run again may not take the place either.
  expect_user_error(short_run({"--seed", "2", "--out", "X.h5"}),
                    {"X.partial.h5 holds the unfinished checkpoint", "another run writing X.h5"},
                    "none.h5");
  // Continued to the end (4000 steps cut to 8 is an allowed change of train.steps), it completes:
  // X.h5 is now this run's results and the partial file is gone.
  const Result r = icl(short_run({"--seed", "1", "--resume", "X.partial.h5", "--out", "X.h5"}));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(slurp(work() / "X.h5"), good);
  EXPECT_FALSE(fs::exists(work() / "X.partial.h5"));
  const icl::h5::Handle f = icl::h5::open_file((work() / "X.h5").string());
  EXPECT_EQ(icl::h5::read_attr_int(f.id(), "seed"), 1);
  EXPECT_TRUE(icl::h5::exists(f.id(), "eval/standard"));
}

// SIGINT while training: the step it stopped at is saved, one line says where, and the process
// ends by the signal (status 130 in a shell), so scripts see an interruption, not success.
TEST_F(CliRun, InterruptSavesACheckpointOfTheStepReached) {
  std::string cmd = fmt::format("cd {}; {}", shell_quote(work().string()), shell_quote(ICL_BINARY));
  for (const auto& a : short_run(
           {"--set", "train.steps=4000", "--set", "train.checkpoint_every=1000", "--out", "X.h5"}))
    cmd += fmt::format(" {}", shell_quote(a));
  cmd +=
      " >/dev/null 2>../cap/err & pid=$!; for i in $(seq 2000); do grep -q 'icl run' "
      "../cap/err && break; sleep 0.01; done; sleep 0.5; kill -INT $pid; wait $pid; "
      "echo $? > ../cap/code";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_EQ(slurp(root_ / "cap" / "code"), "130\n");
  const std::string err = slurp(root_ / "cap" / "err");
  const size_t at = err.rfind("icl: interrupted by SIGINT at step ");
  ASSERT_NE(at, std::string::npos) << err;
  const int64_t step = std::stoll(err.substr(at + 35));
  EXPECT_GT(step, 0);
  EXPECT_LT(step, 1000) << "the run should have been stopped before its first regular checkpoint";
  EXPECT_THAT(err.substr(at), HasSubstr("checkpoint saved in X.h5 (continue with --resume X.h5)"));
  const icl::h5::Handle f = icl::h5::open_file((work() / "X.h5").string());
  EXPECT_EQ(icl::h5::read_attr_int(icl::h5::open_group(f.id(), "checkpoint").id(), "step"), step);
  EXPECT_FALSE(icl::h5::exists(f.id(), "eval"));
}

// SIGTERM in the middle of a run removes the temporary file (destructors do not run then).
TEST_F(CliRun, TerminatedRunLeavesNothingBehind) {
  // "cd; icl &", not "cd && icl &": the latter backgrounds the cd too.
  const std::string cmd = "cd " + shell_quote(work().string()) + "; " + shell_quote(ICL_BINARY) +
                          " run garg2022/linear_regression_baselines --set eval.prompts=100000"
                          " --out X.h5 --no-figures >/dev/null 2>&1 & pid=$!; sleep 1; "
                          "ls -a | grep -c tmp- > ../cap/during; kill -TERM $pid; wait $pid; "
                          "echo $? > ../cap/code";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_EQ(slurp(root_ / "cap" / "during"), "1\n") << "the run had not opened its output yet";
  EXPECT_EQ(slurp(root_ / "cap" / "code"), "143\n");  // 128 + SIGTERM: the default disposition
  EXPECT_TRUE(listing(work()).empty()) << "left behind: " << *listing(work()).begin();
}

// ------------------------------------------------------------------------------------------------
// Commands that work.

std::vector<std::string> children(hid_t loc, const std::string& group) {
  const icl::h5::Handle g = icl::h5::open_group(loc, group);
  H5G_info_t info;
  EXPECT_GE(H5Gget_info(g.id(), &info), 0);
  std::vector<std::string> out;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    char buf[512];
    const ssize_t n = H5Lget_name_by_idx(g.id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, buf,
                                         sizeof buf, H5P_DEFAULT);
    EXPECT_GT(n, 0);
    if (n > 0) out.emplace_back(buf, size_t(n));
  }
  return out;
}

// Every /eval/<set>/<predictor>/{mean,lo,hi} of a results file, keyed by its path.
std::map<std::string, std::vector<double>> eval_curves(const fs::path& file) {
  std::map<std::string, std::vector<double>> out;
  const icl::h5::Handle f = icl::h5::open_file(file.string());
  for (const auto& set : children(f.id(), "eval"))
    for (const auto& pred : children(f.id(), "eval/" + set)) {
      if (pred == "n_examples") continue;
      for (const char* stat : {"mean", "lo", "hi"}) {
        const std::string path = "eval/" + set + "/" + pred + "/" + stat;
        out[path] = icl::h5::read<double>(f.id(), path);
      }
    }
  return out;
}

TEST_F(CliRun, QuickstartWritesResults) {
  const Result r = icl({"run", "linear_regression_baselines_small", "--set", "eval.prompts=64",
                        "--out", "OUT.h5", "--no-figures"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.err, Not(HasSubstr("error")));
  EXPECT_THAT(r.out, HasSubstr("wrote OUT.h5"));
  const fs::path file = work() / "OUT.h5";
  ASSERT_TRUE(fs::exists(file));
  EXPECT_GT(H5Fis_hdf5(file.c_str()), 0);
  EXPECT_FALSE(fs::exists(work() / "OUT_figures")) << "--no-figures drew figures";
  for (const auto& f : listing(work()))
    EXPECT_EQ(f.find(".tmp-"), std::string::npos) << "temporary file left behind: " << f;

  const icl::h5::Handle h = icl::h5::open_file(file.string());
  std::vector<int64_t> dims;
  const auto mean = icl::h5::read<double>(h.id(), "eval/standard/least_squares/mean", &dims);
  EXPECT_EQ(dims, std::vector<int64_t>{25});
  ASSERT_EQ(mean.size(), 25u);
  // Least squares on d = 10: error 1 with no examples, exactly 0 (up to rounding) from k = d on.
  EXPECT_NEAR(mean[0], 1.0, 0.3);
  EXPECT_LT(mean[12], 1e-6);
  EXPECT_EQ(icl::h5::read<int64_t>(h.id(), "eval/standard/n_examples").size(), 25u);
  EXPECT_EQ(icl::h5::read_attr_string(h.id(), "benchmark"), "linear_regression_baselines_small");
  for (const char* label : {"least_squares", "averaging"})
    EXPECT_TRUE(icl::h5::exists(h.id(), std::string("eval/standard/") + label + "/hi")) << label;
}

TEST_F(CliRun, SameSeedGivesIdenticalResults) {
  const std::vector<std::string> base = {"run",          "linear_regression_baselines_small",
                                         "--set",        "eval.prompts=64",
                                         "--no-figures", "--out"};
  auto with = [&](std::vector<std::string> extra, const std::string& out) {
    std::vector<std::string> a = base;
    a.push_back(out);
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  ASSERT_EQ(icl(with({}, "a.h5")).code, 0);
  ASSERT_EQ(icl(with({}, "b.h5")).code, 0);
  ASSERT_EQ(icl(with({"--seed", "1"}, "c.h5")).code, 0);
  const auto a = eval_curves(work() / "a.h5"), b = eval_curves(work() / "b.h5"),
             c = eval_curves(work() / "c.h5");
  ASSERT_EQ(a.size(), 4u * 3u)
      << "4 baselines x {mean, lo, hi} in linear_regression_baselines_small";
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [path, v] : a) {
    ASSERT_TRUE(b.count(path)) << path;
    EXPECT_EQ(v.size(), 25u) << path;
    EXPECT_EQ(v, b.at(path)) << path << " differs between two runs with the same seed";
  }
  ASSERT_EQ(c.size(), a.size());
  for (const auto& [path, v] : a) {
    if (path.ends_with("/mean")) {
      EXPECT_NE(v, c.at(path)) << path << " ignores --seed";
    }
  }
}

// The figure script draws one PNG and one PDF per evaluation set (needs the OS's python3-matplotlib
// and python3-h5py, which scripts/install-deps.sh installs).
TEST_F(CliRun, ReportDrawsEveryEvaluationSet) {
  ASSERT_EQ(icl({"run", "garg2022/linear_regression_shifts", "--set", "eval.prompts=16", "--set",
                 "eval.bootstrap=20", "--out", "S.h5", "--no-figures"})
                .code,
            0);
  const Result r = icl({"report", "S.h5", "--out", "figs"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* set : {"standard", "skewed", "orthogonal", "noisy", "random_quadrants"})
    for (const char* ext : {".png", ".pdf"}) {
      const fs::path f = work() / "figs" / (std::string(set) + ext);
      EXPECT_TRUE(fs::exists(f)) << f;
      EXPECT_GT(fs::exists(f) ? fs::file_size(f) : 0, 1000u) << f;
    }
}

TEST_F(CliMisc, ListShowsTasksBaselinesAndBenchmarks) {
  const Result r = icl({"list"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  // xgboost is listed whether or not this build has it (without it, with what to install).
  for (const char* s : {"tasks:", "baselines:", "benchmarks", "linear_regression", "least_squares",
                        "xgboost", "garg2022/linear_regression_baselines", "quickstart"})
    EXPECT_THAT(r.out, HasSubstr(s));
}

TEST_F(CliMisc, HelpForEverySubcommand) {
  for (const std::string cmd : {"list", "run", "generate", "report"}) {
    SCOPED_TRACE(cmd);
    const Result r = icl({cmd, "--help"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(r.out, StartsWith("usage: icl " + cmd));
    EXPECT_EQ(r.err, "");
  }
  const Result top = icl({"--help"});
  EXPECT_EQ(top.code, 0);
  EXPECT_THAT(top.out, HasSubstr("usage: icl <command>"));
  EXPECT_TRUE(listing(work()).empty());
}

TEST_F(CliGenerate, WritesPromptArrays) {
  const Result r = icl({"generate", "linear_regression", "--set", "d=5", "--prompts", "3",
                        "--examples", "7", "--out", "P.h5"});
  ASSERT_EQ(r.code, 0) << r.err;
  const fs::path file = work() / "P.h5";
  ASSERT_TRUE(icl::h5::is_hdf5(file.string()));
  const icl::h5::Handle h = icl::h5::open_file(file.string());
  std::vector<int64_t> dims;
  EXPECT_EQ(icl::h5::read<float>(h.id(), "xs", &dims).size(), 3u * 7u * 5u);
  EXPECT_EQ(dims, (std::vector<int64_t>{3, 7, 5}));
  icl::h5::read<float>(h.id(), "ys", &dims);
  EXPECT_EQ(dims, (std::vector<int64_t>{3, 7, 1}));
  icl::h5::read<float>(h.id(), "truth", &dims);
  EXPECT_EQ(dims, (std::vector<int64_t>{3, 5}));
  EXPECT_FALSE(icl::h5::exists(h.id(), "xq")) << "standard queries are the context points";
  EXPECT_EQ(icl::h5::read_attr_string(h.id(), "task"), "linear_regression");
  EXPECT_FALSE(icl::h5::exists(h.id(), "loss_mask")) << "every example is trained on";

  // The nearest-neighbour task's random prefix is not trained on: the file says which examples.
  const Result nn = icl({"generate", "nearest_neighbour", "--set", "random_prefix=3", "--prompts",
                         "2", "--examples", "5", "--out", "N.h5"});
  ASSERT_EQ(nn.code, 0) << nn.err;
  const icl::h5::Handle hn = icl::h5::open_file((work() / "N.h5").string());
  EXPECT_EQ(icl::h5::read<uint8_t>(hn.id(), "loss_mask", &dims),
            (std::vector<uint8_t>{0, 0, 0, 1, 1, 0, 0, 0, 1, 1}));
  EXPECT_EQ(dims, (std::vector<int64_t>{2, 5}));
}

TEST_F(CliGenerate, SeedDeterminesPrompts) {
  auto gen = [&](const std::string& out, const std::string& seed) {
    const Result r = icl({"generate", "linear_regression", "--set", "d=5", "--prompts", "3",
                          "--examples", "7", "--seed", seed, "--out", out});
    EXPECT_EQ(r.code, 0) << r.err;
    const icl::h5::Handle h = icl::h5::open_file((work() / out).string());
    return icl::h5::read<float>(h.id(), "xs");
  };
  const auto a = gen("a.h5", "0"), b = gen("b.h5", "0"), c = gen("c.h5", "1");
  ASSERT_EQ(a.size(), 105u);
  ASSERT_EQ(b.size(), a.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0)
      << "same seed, different xs";
  ASSERT_EQ(c.size(), a.size());
  EXPECT_NE(std::memcmp(a.data(), c.data(), a.size() * sizeof(float)), 0)
      << "--seed 1 gave the same xs as seed 0";
}

// Maze export: the raw mazes beside their tokens. Each maze is a spanning tree of the n×n grid
// (n² − 1 passages, none through the border), its path runs from origin to target through open
// passages, and the tokens spell the same origin and target; mlm_u prompts share the mazes.
TEST_F(CliGenerate, ExportsRawMazes) {
  auto gen = [&](const std::string& out, const std::string& objective) {
    const Result r =
        icl({"generate", "maze", "--set", "max_n=6", "--set", std::string("objective=") + objective,
             "--prompts", "5", "--examples", "4", "--out", out});
    EXPECT_EQ(r.code, 0) << r.err;
    return icl::h5::open_file((work() / out).string());
  };
  const icl::h5::Handle h = gen("M.h5", "next_token"), u = gen("U.h5", "mlm_u");
  const int n = 4;
  std::vector<int64_t> dims;
  const auto open = icl::h5::read<uint8_t>(h.id(), "maze/open", &dims);
  EXPECT_EQ(dims, (std::vector<int64_t>{5, n, n}));
  const auto origin = icl::h5::read<int32_t>(h.id(), "maze/origin");
  const auto target = icl::h5::read<int32_t>(h.id(), "maze/target");
  const auto path = icl::h5::read<int32_t>(h.id(), "maze/path", &dims);
  EXPECT_EQ(dims, (std::vector<int64_t>{5, n * n}));
  const auto length = icl::h5::read<int32_t>(h.id(), "maze/path_length");
  const auto tokens = icl::h5::read<int32_t>(h.id(), "tokens", &dims);
  const int64_t T = dims[1];
  ASSERT_EQ(origin.size(), 5u);
  ASSERT_EQ(length.size(), 5u);
  for (size_t b = 0; b < 5; ++b) {
    int passages = 0;
    for (int c = 0; c < n * n; ++c) {
      const uint8_t o = open[b * n * n + size_t(c)];
      EXPECT_FALSE((o & 1) && c % n == n - 1) << "east passage out of the grid";
      EXPECT_FALSE((o & 2) && c / n == n - 1) << "south passage out of the grid";
      passages += (o & 1) + ((o >> 1) & 1);
    }
    EXPECT_EQ(passages, n * n - 1);
    const int32_t* p = path.data() + b * n * n;
    ASSERT_GE(length[b], 2);
    EXPECT_EQ(p[0], origin[b]);
    EXPECT_EQ(p[length[b] - 1], target[b]);
    for (int k = 0; k + 1 < length[b]; ++k) {
      const int lo = std::min(p[k], p[k + 1]), hi = std::max(p[k], p[k + 1]);
      const uint8_t o = open[b * n * n + size_t(lo)];
      EXPECT_TRUE((hi == lo + 1 && (o & 1)) || (hi == lo + n && (o & 2))) << b << " step " << k;
    }
    for (int k = length[b]; k < n * n; ++k) EXPECT_EQ(p[k], -1);
    // ORIGIN o TARGET t in the tokens: cell (r, c) is token r·max_n + c.
    const int32_t* row = tokens.data() + int64_t(b) * T;
    const int32_t origin_marker = 36 + 2;  // max_n² cells, then ADJ, SEP, ORIGIN
    const int64_t at = std::find(row, row + T, origin_marker) - row;
    ASSERT_LT(at + 3, T);
    EXPECT_EQ(row[at + 1], origin[b] / n * 6 + origin[b] % n);
    EXPECT_EQ(row[at + 3], target[b] / n * 6 + target[b] % n);
  }
  EXPECT_EQ(icl::h5::read<uint8_t>(u.id(), "maze/open"), open);
  EXPECT_EQ(icl::h5::read<int32_t>(u.id(), "maze/path"), path);
}

// core/threads.h through the binary: idle OpenMP threads spin only briefly unless the environment
// names a policy (main re-executes itself with GOMP_SPINCOUNT set), and --threads sets the count
// that the results file records.
TEST_F(CliMisc, IdleThreadsSpinBrieflyAndThreadsSetsTheCount) {
  const std::string clean = "env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u ICL_WAIT_POLICY_SET ";
  Result r = icl({"version"}, clean + "OMP_NUM_THREADS=2");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("cpu threads: 2 (OMP_NUM_THREADS), OMP_WAIT_POLICY=unset, "
                               "GOMP_SPINCOUNT=500"));
  r = icl({"version"}, clean + "OMP_WAIT_POLICY=active");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("OMP_WAIT_POLICY=active, GOMP_SPINCOUNT=unset"));
  r = icl({"version"}, clean + "GOMP_SPINCOUNT=7");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("OMP_WAIT_POLICY=unset, GOMP_SPINCOUNT=7"));
  r = icl({"version"}, "env OMP_NUM_THREADS=lots");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("cpu threads: OMP_NUM_THREADS: must be a positive integer"));

  r = icl({"run", "linear_regression_baselines_small", "--set", "eval.prompts=8", "--threads", "3",
           "--out", "t.h5", "--no-figures"});
  ASSERT_EQ(r.code, 0) << r.err;
  const icl::h5::Handle f = icl::h5::open_file((work() / "t.h5").string());
  EXPECT_EQ(icl::h5::read_attr_int(f.id(), "cpu_threads"), 3);
  expect_user_error({"run", "linear_regression_baselines_small", "--threads", "0", "--out", "X.h5",
                     "--no-figures"},
                    {"--threads", ">= 1", "0"});
  // libgomp may warn about the value too (its own line, before ours); the command refuses it.
  r = icl({"generate", "linear_regression", "--prompts", "2", "--out", "X.h5"},
          "env OMP_NUM_THREADS=x");
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("icl: error: OMP_NUM_THREADS: must be a positive integer"));
  EXPECT_FALSE(fs::exists(work() / "X.h5"));
}

// icl sweep through the binary: --dry-run lists the runs and runs nothing; a whole local sweep
// runs, merges and draws; --slurm --no-submit writes the job-array script; options that need
// --slurm are refused without it; collect with nothing finished is one line.
TEST_F(CliMisc, SweepListsRunsRunsThemAndWritesASlurmScript) {
  write_file("s.yaml",
             "base: linear_regression_baselines_small\n"
             "set: [eval.prompts=16, eval.bootstrap=20]\n"
             "grid: {task.d: [2, 3]}\n"
             "seeds: 2\n"
             "out: sw\n");
  Result r = icl({"sweep", "s.yaml", "--dry-run"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("sweep s.yaml: 4 runs of linear_regression_baselines_small"));
  EXPECT_THAT(r.out, HasSubstr("   3  task.d=3,seed=1  [to run]  --set eval.prompts=16"));
  EXPECT_FALSE(fs::exists(work() / "sw"));
  expect_user_error({"sweep", "collect", "s.yaml"}, {"none of the 4 runs of s.yaml has finished"});
  expect_user_error({"sweep", "s.yaml", "--time", "1:00"}, {"--time", "only", "--slurm"});
  expect_user_error({"sweep", "s.yaml", "--max-array-size", "2"},
                    {"--max-array-size", "only", "--slurm"});
  expect_user_error({"sweep", "s.yaml", "--slurm", "--no-submit", "--max-array-size", "0"},
                    {"--max-array-size: must be >= 1, got 0"});
  // A model without blocks cannot give per-layer statistics: refused before training.
  write_file("lsa.yaml",
             "task: {name: linear_regression, d: 3}\n"
             "eval: {prompts: 16, examples: 6, bootstrap: 20}\n"
             "model: {name: lsa}\n"
             "train: {steps: 4, batch_size: 4, layer_stats_every: 2}\n");
  expect_user_error({"run", "lsa.yaml", "--out", "X.h5", "--device", "cpu"},
                    {"train.layer_stats_every: model lsa has no blocks"});

  r = icl({"sweep", "s.yaml", "--slurm", "--no-submit", "--cpus-per-task", "3"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("#SBATCH --array=0-3\n#SBATCH --cpus-per-task=3\n"));
  EXPECT_EQ(slurp(work() / "sw" / "sweep.sbatch"), r.out);
  EXPECT_TRUE(fs::is_directory(work() / "sw" / "slurm"));

  r = icl({"sweep", "s.yaml", "--parallel", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("[4/4] task.d=3,seed=1: finished"));
  EXPECT_THAT(r.out, HasSubstr("wrote sw/sweep.h5 (4 of 4 runs)"));
  EXPECT_TRUE(fs::exists(work() / "sw" / "figures" / "sweep.png"));
  r = icl({"sweep", "s.yaml", "--dry-run"});
  EXPECT_THAT(r.out, HasSubstr("   3  task.d=3,seed=1  [finished]"));
}

// SIGTERM to a sweep reaches its running runs, which save their checkpoints and stop; the sweep
// ends by the signal, and the same sweep started again resumes the run where it stopped.
TEST_F(CliMisc, ASweepStoppedBySigtermLeavesItsRunsResumable) {
  write_file("s.yaml",
             "base: quickstart\n"
             "set: [train.steps=1000000, eval.prompts=8, eval.bootstrap=20, model.n_layer=1]\n"
             "out: sw\n");
  const fs::path log = work() / "sw" / "runs" / "seed=0" / "log.txt";
  const pid_t pid = icl::test::spawn_icl(work(), {"sweep", "s.yaml"});
  // Until the run has trained a few steps (its progress goes to its log).
  for (int i = 0; i < 600 && (!fs::exists(log) || fs::file_size(log) < 200); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_TRUE(icl::test::wait_for(pid, 120, &status));
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << slurp(work() / "stderr");
  EXPECT_THAT(slurp(work() / "stderr"), HasSubstr("sweep interrupted: 0 run(s) finished"));
  const Result r = icl({"sweep", "s.yaml", "--dry-run"});
  EXPECT_THAT(r.out, HasSubstr("   0  seed=0  [resumes at step ")) << r.out;
}

}  // namespace
