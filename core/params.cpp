#include "core/params.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "core/error.h"

namespace icl {

ParamSpec ParamSpec::integer(std::string n, int64_t d, std::string h, double lo, double hi) {
  return {std::move(n), ParamType::Int, d, std::move(h), lo, hi, {}};
}
ParamSpec ParamSpec::real(std::string n, double d, std::string h, double lo, double hi) {
  return {std::move(n), ParamType::Real, d, std::move(h), lo, hi, {}};
}
ParamSpec ParamSpec::boolean(std::string n, bool d, std::string h) {
  return {std::move(n), ParamType::Bool, d, std::move(h), 0, 0, {}};
}
ParamSpec ParamSpec::choice(std::string n, std::string d, std::vector<std::string> options,
                            std::string h) {
  return {std::move(n), ParamType::Choice, std::move(d), std::move(h), 0, 0, std::move(options)};
}

const ParamValue& ParamSet::get(const std::string& name) const {
  auto it = values_.find(name);
  ICL_ASSERT(it != values_.end());
  return it->second;
}
int64_t ParamSet::i(const std::string& name) const { return std::get<int64_t>(get(name)); }
double ParamSet::r(const std::string& name) const { return std::get<double>(get(name)); }
bool ParamSet::b(const std::string& name) const { return std::get<bool>(get(name)); }
const std::string& ParamSet::s(const std::string& name) const {
  return std::get<std::string>(get(name));
}

std::string to_string(const ParamValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>)
          return x ? "true" : "false";
        else if constexpr (std::is_same_v<T, std::string>)
          return x;
        else
          return fmt::format("{}", x);
      },
      v);
}

static std::string range_text(const ParamSpec& s) {
  const bool lo = std::isfinite(s.min), hi = std::isfinite(s.max);
  if (lo && hi) return fmt::format(" in [{}, {}]", s.min, s.max);
  if (lo) return fmt::format(" >= {}", s.min);
  if (hi) return fmt::format(" <= {}", s.max);
  return "";
}

static std::string type_text(const ParamSpec& s) {
  switch (s.type) {
    case ParamType::Int:
      return "integer" + range_text(s);
    case ParamType::Real:
      return "number" + range_text(s);
    case ParamType::Bool:
      return "true|false";
    case ParamType::Choice: {
      std::string out = "one of ";
      for (size_t k = 0; k < s.choices.size(); ++k) out += (k ? "|" : "") + s.choices[k];
      return out;
    }
  }
  return "";
}

std::string describe(const ParamSpec& s) {
  return fmt::format("{} ({}, default {}{}): {}", s.name, type_text(s), to_string(s.def),
                     s.training_only ? ", training prompts only" : "", s.help);
}

void check_param(const ParamSpec& s, const ParamValue& v, const std::string& where) {
  auto out_of_range = [&](double x) { return x < s.min || x > s.max || std::isnan(x); };
  switch (s.type) {
    case ParamType::Int:
      if (out_of_range(double(std::get<int64_t>(v))))
        fail("{}: must be an {}, got {}", where, type_text(s), to_string(v));
      break;
    case ParamType::Real:
      if (!std::isfinite(std::get<double>(v)) || out_of_range(std::get<double>(v)))
        fail("{}: must be a finite {}, got {}", where, type_text(s), to_string(v));
      break;
    case ParamType::Bool:
      break;
    case ParamType::Choice: {
      const auto& x = std::get<std::string>(v);
      bool ok = false;
      for (const auto& c : s.choices) ok |= (c == x);
      if (!ok) fail("{}: must be {}, got '{}'", where, type_text(s), x);
      break;
    }
  }
}

ParamValue parse_param(const ParamSpec& s, const std::string& text, const std::string& where) {
  ParamValue v;
  const char* b = text.c_str();
  char* end = nullptr;
  errno = 0;
  switch (s.type) {
    case ParamType::Int: {
      const long long x = std::strtoll(b, &end, 10);
      if (text.empty() || *end != '\0' || errno == ERANGE)
        fail("{}: expected an {}, got '{}'", where, type_text(s), text);
      v = int64_t(x);
      break;
    }
    case ParamType::Real: {
      const double x = std::strtod(b, &end);
      if (text.empty() || *end != '\0' || errno == ERANGE)
        fail("{}: expected a {}, got '{}'", where, type_text(s), text);
      v = x;
      break;
    }
    case ParamType::Bool:
      if (text == "true" || text == "True" || text == "yes" || text == "1")
        v = true;
      else if (text == "false" || text == "False" || text == "no" || text == "0")
        v = false;
      else
        fail("{}: expected true|false, got '{}'", where, text);
      break;
    case ParamType::Choice:
      v = text;
      break;
  }
  check_param(s, v, where);
  return v;
}

std::string names_of(const ParamSpecs& specs) {
  std::string out;
  for (const auto& s : specs) out += (out.empty() ? "" : ", ") + s.name;
  return out.empty() ? "none" : out;
}

ParamSet resolve_params(const ParamSpecs& specs, const std::map<std::string, std::string>& raw,
                        const std::string& where) {
  ParamSet set;
  for (const auto& [name, text] : raw) {
    const ParamSpec* spec = nullptr;
    for (const auto& s : specs)
      if (s.name == name) spec = &s;
    if (!spec) fail("{}: unknown parameter '{}' (allowed: {})", where, name, names_of(specs));
    set.set(name, parse_param(*spec, text, where + "." + name));
  }
  for (const auto& s : specs)
    if (!set.has(s.name)) set.set(s.name, s.def);
  return set;
}

std::string derived_label(const std::string& name, const ParamSpecs& specs,
                          const std::map<std::string, std::string>& raw, const ParamSet& params) {
  std::string args;
  for (const auto& spec : specs)
    if (raw.count(spec.name))
      args.append(args.empty() ? "" : ",")
          .append(spec.name)
          .append("=")
          .append(to_string(params.values().at(spec.name)));
  return args.empty() ? name : name + "(" + args + ")";
}

}  // namespace icl
