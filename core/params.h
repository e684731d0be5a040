#pragma once
// Typed, validated parameters for tasks and baselines (and later models).
//
// A component declares its parameters once (name, type, default, range or allowed choices, one line
// of help). Config values are resolved against that declaration: an unknown name, a wrong type or
// an out-of-range value is an icl::Error naming the parameter and what is allowed. The resolved
// set, defaults included, is what results.h5 records, so a run is described completely.
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace icl {

enum class ParamType { Int, Real, Bool, Choice };

using ParamValue = std::variant<int64_t, double, bool, std::string>;

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::Real;
  ParamValue def;
  std::string help;
  double min = -std::numeric_limits<double>::infinity();  // inclusive bounds (Int and Real)
  double max = std::numeric_limits<double>::infinity();
  std::vector<std::string> choices;  // Choice only
  // Shapes training prompts only (Boolean label noise): an evaluation built from a run's task
  // takes the default instead, unless the evaluation sets the parameter itself (run/resolved_run.h,
  // evaluation_params).
  bool training_only = false;

  ParamSpec only_for_training() const {
    ParamSpec s = *this;
    s.training_only = true;
    return s;
  }

  static ParamSpec integer(std::string n, int64_t d, std::string h, double lo = 0,
                           double hi = std::numeric_limits<double>::infinity());
  static ParamSpec real(std::string n, double d, std::string h,
                        double lo = -std::numeric_limits<double>::infinity(),
                        double hi = std::numeric_limits<double>::infinity());
  static ParamSpec boolean(std::string n, bool d, std::string h);
  static ParamSpec choice(std::string n, std::string d, std::vector<std::string> options,
                          std::string h);
};

using ParamSpecs = std::vector<ParamSpec>;
// Parameters as given (a config's text, --set values), before they are resolved against specs.
using RawParams = std::map<std::string, std::string>;

class ParamSet {
 public:
  int64_t i(const std::string& name) const;
  double r(const std::string& name) const;
  bool b(const std::string& name) const;
  const std::string& s(const std::string& name) const;

  void set(const std::string& name, ParamValue v) { values_[name] = std::move(v); }
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  const std::map<std::string, ParamValue>& values() const { return values_; }

 private:
  const ParamValue& get(const std::string& name) const;
  std::map<std::string, ParamValue> values_;
};

// Human-readable value ("0.1", "true", "skewed").
std::string to_string(const ParamValue& v);
std::string describe(const ParamSpec& spec);  // "d (int >= 1, default 20): dimension of x"

// Parses `text` as the spec's type and checks the range; `where` prefixes messages ("task.d").
ParamValue parse_param(const ParamSpec& spec, const std::string& text, const std::string& where);
void check_param(const ParamSpec& spec, const ParamValue& v, const std::string& where);

// Resolves raw (name -> text) pairs against specs: defaults fill the rest.
// "name" or "name(k=v,...)" listing the parameters given explicitly (raw), with their resolved
// values: the default label of a configured component (baselines, bandit policies).
std::string derived_label(const std::string& name, const ParamSpecs& specs,
                          const std::map<std::string, std::string>& raw, const ParamSet& params);

ParamSet resolve_params(const ParamSpecs& specs, const std::map<std::string, std::string>& raw,
                        const std::string& where);

std::string names_of(const ParamSpecs& specs);  // "d, noise_std, ..." for error messages

}  // namespace icl
