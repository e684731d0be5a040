// fuzz_results: the results-file readers behind `icl run --resume FILE` (run/run_file.h:
// check_resume, probe_run_file; train/checkpoint.h: read_checkpoint) and `icl eval --checkpoint
// FILE` (cli/cmd_eval.cpp: the root `config` attribute, the /checkpoint group, the model it
// describes, read_checkpoint, then a two-prompt evaluation). `icl report` reads results files in
// Python (report/plot_curves.py) and is not covered here.
//
// Why: these read files the user points at: an old run, a run of another model, a half-written or
// foreign file. Every one must give a one-line icl::Error naming what is missing or wrong, never an
// internal error, a crash or memory misuse (an attribute or dataset of an unexpected shape or type
// is read into a fixed-size buffer).
//
// Structure-aware: raw bytes are never handed to the HDF5 library (its own parser has known crashes
// on corrupt files that are not ours to fix). The input is decoded into operations that build a
// *valid* HDF5 file with fuzzed content, written to /dev/shm, then read:
//
//   input := op*                      (at most 96)
//   op    := u8 % 6, then
//     0 group     PATH
//     1 dataset   PATH TYPE RANK DIM* DATA
//     2 attr str  PATH NAME RANK DIM* DATA   (variable-length strings, DATA split at NUL)
//     3 attr i64  PATH NAME RANK DIM* DATA
//     4 attr f64  PATH NAME RANK DIM* DATA
//     5 soft link PATH PATH              (link, target; may dangle)
//   PATH, NAME := u8 b: b < 0xC0: a dictionary entry (the names our readers look for, including
//                 every parameter of fuzz/tiny_run.yaml's model), else u8 length + that many bytes
//   TYPE  := u8 % 5: float32, float64, int64, int32, variable-length string
//   RANK  := u8 % 4 (0: scalar)
//   DIM   := u8 d: d < 0xF0: d, else 2^(d - 0xF0 + 12) (large shapes, never written)
//   DATA  := u16 (little endian) length + bytes, cycled to fill the elements; length 0 writes
//            nothing (the fill value). Datasets over 2^16 elements are chunked and never written.
// fuzz/make_results_corpus.sh turns real runs of fuzz/tiny_run.yaml into such inputs.
#include <hdf5.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>

#include <fcntl.h>

#include <cstring>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "eval/streams.h"
#include "fuzz/fuzz_common.h"
#include "models/model.h"
#include "run/config_file.h"
#include "run/resolved_run.h"
#include "run/run_benchmark.h"
#include "run/run_file.h"
#include "train/checkpoint.h"

#ifndef ICL_FUZZ_DIR
#define ICL_FUZZ_DIR "fuzz"
#endif

namespace {

std::string g_file, g_out;
std::vector<std::string> g_dict;
icl::ResolvedRun g_run;     // fuzz/tiny_run.yaml: the config a --resume would come with
YAML::Node g_run_resolved;  // ... resolved, as cmd_run compares it with the file's

struct Reader {
  const uint8_t* p;
  size_t n;
  bool empty() const { return n == 0; }
  uint8_t u8() {
    if (!n) return 0;
    --n;
    return *p++;
  }
  uint16_t u16() { return uint16_t(u8() | (u8() << 8)); }
  std::string bytes(size_t len) {
    len = std::min(len, n);
    std::string s(reinterpret_cast<const char*>(p), len);
    p += len;
    n -= len;
    return s;
  }
  std::string name() {
    const uint8_t b = u8();
    if (b < 0xC0) return g_dict[b % g_dict.size()];
    return bytes(u8());
  }
};

// A dataspace of RANK DIM*; the element count goes to *count (saturated, for the size limits).
hid_t read_space(Reader& r, uint64_t* count) {
  const int rank = r.u8() % 4;
  *count = 1;
  if (rank == 0) return H5Screate(H5S_SCALAR);
  hsize_t dims[3];
  for (int i = 0; i < rank; ++i) {
    const uint8_t d = r.u8();
    dims[i] = d < 0xF0 ? d : hsize_t(1) << (d - 0xF0 + 12);
    *count =
        dims[i] && *count > (uint64_t(1) << 40) / dims[i] ? uint64_t(1) << 40 : *count * dims[i];
  }
  return H5Screate_simple(rank, dims, nullptr);
}

// DATA cycled into `count` elements of `size` bytes each.
std::vector<char> fill(const std::string& data, uint64_t count, size_t size) {
  std::vector<char> out(count * size);
  for (size_t i = 0; i < out.size(); ++i) out[i] = data[i % data.size()];
  return out;
}

// Variable-length strings: DATA's NUL-separated pieces, cycled; the char* point into `store`.
std::vector<const char*> strings(const std::string& data, uint64_t count,
                                 std::vector<std::string>& store) {
  store.clear();
  size_t pos = 0;
  while (true) {
    const size_t nul = data.find('\0', pos);
    store.push_back(data.substr(pos, nul - pos));
    if (nul == std::string::npos) break;
    pos = nul + 1;
  }
  std::vector<const char*> out(count);
  for (uint64_t i = 0; i < count; ++i) out[i] = store[i % store.size()].c_str();
  return out;
}

hid_t vlen_string_type() {
  const hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

// Builds the file the input describes. Operations HDF5 refuses (a name taken twice, a group
// under a dataset) are skipped: the file stays valid.
bool build_file(const uint8_t* data, size_t size) {
  const hid_t file = H5Fcreate(g_file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file < 0) return false;
  const hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  const hid_t str = vlen_string_type();
  const hid_t kTypes[] = {H5T_NATIVE_FLOAT, H5T_NATIVE_DOUBLE, H5T_NATIVE_INT64, H5T_NATIVE_INT32,
                          str};
  Reader r{data, size};
  std::vector<std::string> store;
  for (int op = 0; op < 96 && !r.empty(); ++op) {
    const int which = r.u8() % 6;
    switch (which) {
      case 0: {
        const std::string path = r.name();
        const hid_t g = H5Gcreate2(file, path.c_str(), lcpl, H5P_DEFAULT, H5P_DEFAULT);
        if (g >= 0) H5Gclose(g);
        break;
      }
      case 1: {
        const std::string path = r.name();
        const int t = r.u8() % 5;
        uint64_t count = 0;
        const hid_t space = read_space(r, &count);
        const std::string bytes = r.bytes(r.u16());
        const bool large = count > (1u << 16);
        const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        if (large) {  // chunked, so that a huge shape costs nothing on disk
          int rank = H5Sget_simple_extent_ndims(space);
          hsize_t chunk[3] = {1, 1, 1};
          H5Pset_chunk(dcpl, rank, chunk);
        }
        const hid_t set = H5Dcreate2(file, path.c_str(), kTypes[t], space, lcpl, dcpl, H5P_DEFAULT);
        if (set >= 0 && !large && !bytes.empty() && count > 0) {
          if (t == 4) {
            const auto v = strings(bytes, count, store);
            H5Dwrite(set, str, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
          } else {
            const auto v = fill(bytes, count, H5Tget_size(kTypes[t]));
            H5Dwrite(set, kTypes[t], H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
          }
        }
        if (set >= 0) H5Dclose(set);
        H5Pclose(dcpl);
        H5Sclose(space);
        break;
      }
      case 2:
      case 3:
      case 4: {
        const std::string path = r.name(), name = r.name();
        uint64_t count = 0;
        const hid_t space = read_space(r, &count);
        const std::string bytes = r.bytes(r.u16());
        const hid_t obj = H5Oopen(file, path.empty() ? "/" : path.c_str(), H5P_DEFAULT);
        if (obj >= 0 && count <= 4096) {
          const hid_t type = which == 2 ? str : which == 3 ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE;
          const hid_t a = H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT);
          if (a >= 0 && !bytes.empty() && count > 0) {
            if (which == 2) {
              const auto v = strings(bytes, count, store);
              H5Awrite(a, str, v.data());
            } else {
              const auto v = fill(bytes, count, 8);
              H5Awrite(a, type, v.data());
            }
          }
          if (a >= 0) H5Aclose(a);
        }
        if (obj >= 0) H5Oclose(obj);
        H5Sclose(space);
        break;
      }
      case 5: {
        const std::string link = r.name(), target = r.name();
        H5Lcreate_soft(target.c_str(), file, link.c_str(), lcpl, H5P_DEFAULT);
        break;
      }
    }
  }
  H5Tclose(str);
  H5Pclose(lcpl);
  return H5Fclose(file) >= 0;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::init_threads();
  // A dataset is checked against memory before it is read (io/h5.cpp); this budget keeps every
  // read below the allocator's 512 MiB per block (fuzz/fuzz_common.h), so an oversized shape is
  // the one-line error a user gets, not an abort.
  setenv("ICL_MAX_MEMORY", "256M", 1);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  g_file = "/dev/shm/fuzz_results_" + std::to_string(getpid()) + ".h5";
  g_out = "/dev/shm/fuzz_results_" + std::to_string(getpid()) + "_eval.h5";
  std::atexit([] {  // libFuzzer ends with exit(): nothing left in /dev/shm
    std::remove(g_file.c_str());
    std::remove(g_out.c_str());
  });
  const int null = open("/dev/null", O_WRONLY);  // eval prints its table on stdout
  if (null >= 0) dup2(null, STDOUT_FILENO);
  g_run = icl::load_run(ICL_FUZZ_DIR "/tiny_run.yaml");
  g_run_resolved = YAML::Load(g_run.yaml());
  const auto model = g_run.build_model();
  // What the readers look for (train/checkpoint.h, cli/cmd_eval.cpp, eval/results.h).
  g_dict = {"/",
            "config",
            "checkpoint",
            "checkpoint/params",
            "checkpoint/adam_m",
            "checkpoint/adam_v",
            "train",
            "train/step",
            "train/loss",
            "train/lr",
            "train/seconds",
            "train/grad_norm",
            "train/eval_step",
            "train/eval_error",
            "train/layer_step",
            "train/layer_grad_norm",
            "train/layer_variance",
            "step",
            "seed",
            "model",
            "model_config",
            "state_size",
            "parameters",
            "benchmark",
            "iclbench_version",
            "git_commit",
            "created",
            "device",
            "build_isa",
            "eval",
            "eval/standard",
            "checkpoint_step",
            "params",
            "adam_m",
            "adam_v"};
  for (const auto& p : model->parameters().all())
    for (const char* g : {"params", "adam_m", "adam_v"})
      g_dict.push_back(std::string("checkpoint/") + g + "/" + p->name);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 200000) return 0;
  if (!build_file(data, size)) return 0;
  // The probe behind output safety (is --out a results file of a run?) answers, never throws.
  (void)icl::probe_run_file(g_file);
  for (const bool force : {false, true}) {
    try {  // --resume's consistency check: this run's config against the file's
      (void)icl::check_resume(g_file, g_run_resolved, force);
    } catch (const icl::Error&) {
    }
  }
  try {  // --resume: this run's model, the file's checkpoint
    auto model = g_run.build_model();
    icl::TrainState state;
    icl::read_checkpoint(g_file, *model, state);
  } catch (const icl::Error&) {
  } catch (const std::bad_alloc&) {
    fuzz::out_of_memory("fuzz_results");
  }
  try {  // eval: the file's own config and model, evaluated on two short prompts
    icl::cli::cmd_eval({"--checkpoint", g_file, "--out", g_out, "--prompts", "2", "--examples", "2",
                        "--device", "cpu"});
  } catch (const icl::Error&) {
  } catch (const std::bad_alloc&) {
    fuzz::out_of_memory("fuzz_results");
  }
  return 0;
}
