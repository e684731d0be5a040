#pragma once
// A config section (train:, eval:, rollout:, a set's spectrum:) declared once, as tasks and models
// declare their parameters with ParamSpec. One list of fields, each bound to a member of the
// section's struct, gives:
//   parse()     the struct from a map of raw values, defaults from the struct's own initialisers,
//               and the one-line errors (unknown key with the allowed ones, type, range);
//   resolved()  every key with its value in declaration order (the resolved YAML in results.h5);
//   specs()     the keys with type, default, range and help (`icl list -v`);
//   effect()    what changing a key does to a run being resumed (run/run_file.h).
// A field marked custom (train.curriculum: ramps of task parameters) is only declared here: its
// owner parses and writes it, and resolved() leaves its slot empty in the order.
//
// Adding a key is one line in the section's declaration, beside the struct member it fills.
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/params.h"

namespace icl {

// What changing a key does to a run resumed from a checkpoint.
enum class Effect {
  Trains,    // the weights would differ: refused on --resume unless --force
  Extends,   // the run trains further (or stops earlier) on the same path (train.steps)
  Measures,  // what is evaluated or how often it is saved, never the weights
};

template <class T>
class Section {
 public:
  struct Field {
    ParamSpec spec;  // def: the struct's default-initialised value
    Effect effect = Effect::Trains;
    bool custom = false;
    std::function<ParamValue(const T&)> get;
    std::function<void(T&, const ParamValue&)> set;
  };

  explicit Section(std::string name) : name_(std::move(name)) {}

  // `acc` is a member pointer (&T::steps) or a callable returning a reference into T
  // ([](auto& t) -> auto& { return t.schedule.lr; }).
  template <class A>
  Section& integer(const char* key, A acc, double lo, double hi, const char* help,
                   Effect e = Effect::Trains) {
    return add(ParamSpec::integer(key, 0, help, lo, hi), acc, e);
  }
  template <class A>
  Section& real(const char* key, A acc, double lo, double hi, const char* help,
                Effect e = Effect::Trains) {
    return add(ParamSpec::real(key, 0.0, help, lo, hi), acc, e);
  }
  template <class A>
  Section& boolean(const char* key, A acc, const char* help, Effect e = Effect::Trains) {
    return add(ParamSpec::boolean(key, false, help), acc, e);
  }
  template <class A>
  Section& choice(const char* key, A acc, std::vector<std::string> options, const char* help,
                  Effect e = Effect::Trains) {
    return add(ParamSpec::choice(key, "", std::move(options), help), acc, e);
  }
  // A key parsed and written by the section's owner; `help` says what it holds.
  Section& custom(const char* key, const char* help, Effect e = Effect::Trains) {
    Field f;
    f.spec = ParamSpec::choice(key, "", {}, help);
    f.effect = e;
    f.custom = true;
    fields_.push_back(std::move(f));
    return *this;
  }

  const std::string& name() const { return name_; }
  const std::vector<Field>& fields() const { return fields_; }

  // The keys parse() reads itself (a custom key is the owner's).
  std::vector<std::string> custom_keys() const {
    std::vector<std::string> out;
    for (const auto& f : fields_)
      if (f.custom) out.push_back(f.spec.name);
    return out;
  }

  // Fills `out` (whose members hold the defaults) from raw values; `where` names the section in
  // errors ("train", "eval.sets.long.spectrum"). Unknown keys are refused first, listing the
  // allowed ones; custom keys are accepted and left to the owner.
  void parse(const std::map<std::string, std::string>& raw, const std::string& where,
             T& out) const {
    for (const auto& [key, value] : raw)
      if (!find(key)) fail("{}: unknown key '{}' (allowed: {})", where, key, keys());
    for (const auto& f : fields_) {
      if (f.custom) continue;
      if (const auto it = raw.find(f.spec.name); it != raw.end())
        f.set(out, parse_param(f.spec, it->second, where + "." + f.spec.name));
    }
  }
  T parse(const std::map<std::string, std::string>& raw, const std::string& where) const {
    T out{};
    parse(raw, where, out);
    return out;
  }

  // Every key in declaration order with its value; a custom key's value is empty.
  std::vector<std::pair<std::string, std::optional<ParamValue>>> resolved(const T& t) const {
    std::vector<std::pair<std::string, std::optional<ParamValue>>> out;
    for (const auto& f : fields_)
      out.emplace_back(f.spec.name, f.custom ? std::nullopt : std::optional(f.get(t)));
    return out;
  }

  ParamSpecs specs() const {
    ParamSpecs out;
    for (const auto& f : fields_) out.push_back(f.spec);
    return out;
  }

  const Field* find(const std::string& key) const {
    for (const auto& f : fields_)
      if (f.spec.name == key) return &f;
    return nullptr;
  }

  std::string keys() const {
    std::string out;
    for (const auto& f : fields_) out += (out.empty() ? "" : ", ") + f.spec.name;
    return out;
  }

 private:
  // The struct's default-initialised values, made once and kept (read only). On the heap and never
  // destroyed: GCC 12 warns falsely ("may be used uninitialized") about the inlined destructor of
  // a std::string member of a local or static T here.
  static const T& defaults() {
    static const T* const d = new T{};
    return *d;
  }

  template <class A>
  static decltype(auto) access(A acc, T& t) {
    if constexpr (std::is_member_object_pointer_v<A>)
      return (t.*acc);
    else
      return acc(t);
  }

  template <class A>
  Section& add(ParamSpec spec, A acc, Effect e) {
    using V = std::remove_cvref_t<decltype(access(acc, std::declval<T&>()))>;
    static_assert(std::is_same_v<V, int64_t> || std::is_same_v<V, double> ||
                      std::is_same_v<V, bool> || std::is_same_v<V, std::string>,
                  "a section field is an int64_t, double, bool or std::string member");
    spec.def = ParamValue(access(acc, const_cast<T&>(defaults())));
    Field f;
    f.spec = std::move(spec);
    f.effect = e;
    f.get = [acc](const T& t) { return ParamValue(access(acc, const_cast<T&>(t))); };
    f.set = [acc](T& t, const ParamValue& v) { access(acc, t) = std::get<V>(v); };
    fields_.push_back(std::move(f));
    return *this;
  }

  std::string name_;
  std::vector<Field> fields_;
};

}  // namespace icl
