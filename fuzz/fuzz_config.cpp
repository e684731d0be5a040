// fuzz_config: the benchmark config reader, as `icl run CONFIG --set k=v ...` drives it.
//
// Why: the config and its --set overrides are the main thing users type, and every path through
// validation must end in either a config or a one-line icl::Error naming the field. yaml-cpp's own
// exceptions (bad conversion, invalid node), std::out_of_range from a lookup, an ICL_ASSERT or a
// crash anywhere in task/baseline/model validation would reach the user as "internal error".
//
// Input: YAML config text, then up to 6 --set assignments, separated by NUL bytes. The steps are
// load_run's (run/resolved_run.cpp) with the file replaced by the text: YAML syntax, duplicate
// keys, the overrides in order, resolve_run. A config that validates must also survive the trip
// through results.h5: ResolvedRun::yaml() is what a run stores and what `icl eval` and
// `--resume` parse again, so it must parse back to the same resolved text.
#include <yaml-cpp/yaml.h>

#include "core/error.h"
#include "eval/streams.h"
#include "fuzz/fuzz_common.h"
#include "run/config_file.h"
#include "run/resolved_run.h"
#include "run/run_benchmark.h"

namespace {

[[noreturn]] void finding(const std::string& what, const std::string& text) {
  std::fprintf(stderr, "fuzz_config: %s\n--- resolved config ---\n%s\n", what.c_str(),
               text.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::init_threads();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 8192) return 0;  // configs are a few hundred bytes; longer inputs only slow it down
  const std::vector<std::string> parts = fuzz::split(data, size, '\0', 7);
  const std::string source = "fuzz.yaml";
  std::string resolved;
  try {
    YAML::Node root;
    try {
      root = YAML::Load(parts[0]);
    } catch (const YAML::Exception&) {
      return 0;  // load_run: "config ...: not valid YAML (... at line N)"
    }
    icl::refuse_duplicate_keys(root, source);
    for (size_t i = 1; i < parts.size(); ++i) icl::apply_override(root, parts[i]);
    // Not through load_run's fallback catch of YAML::Exception: a yaml-cpp exception out of
    // validation is a message without the field, so it must fail here.
    const icl::ResolvedRun cfg = icl::resolve_run(root, "fuzz", source);
    resolved = cfg.yaml();
  } catch (const icl::Error&) {
    return 0;
  } catch (const std::bad_alloc&) {
    return fuzz::out_of_memory("fuzz_config");
  }

  // The round trip (cli/cmd_eval.cpp reads the stored config exactly so).
  try {
    YAML::Node again = YAML::Load(resolved);
    const std::string name = again["benchmark"].as<std::string>("");
    again.remove("benchmark");
    const icl::ResolvedRun cfg2 = icl::resolve_run(again, name, "results.h5");
    const std::string resolved2 = cfg2.yaml();
    if (resolved2 != resolved)
      finding("the stored config parses to a different config:\n" + resolved2, resolved);
  } catch (const icl::Error& e) {
    finding(std::string("the stored config of a valid config is refused: ") + e.what(), resolved);
  } catch (const YAML::Exception& e) {
    finding(std::string("the stored config of a valid config is not valid YAML: ") + e.what(),
            resolved);
  } catch (const std::bad_alloc&) {
    return fuzz::out_of_memory("fuzz_config");
  }
  return 0;
}
