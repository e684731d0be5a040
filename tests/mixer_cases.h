#pragma once
// Every mixer of the recurrent stack with the options that change its arithmetic (feature map,
// eigenvalue range), at sizes small enough for gradient checks: the cases the recurrent-model
// tests and the GPU-against-CPU model test run.
#include <map>
#include <string>
#include <vector>

namespace icl::test {

inline const std::vector<std::map<std::string, std::string>> kMixerCases = {
    {{"mixer", "linear_attention"}},
    {{"mixer", "linear_attention"}, {"feature_map", "identity"}},
    {{"mixer", "retnet"}},
    {{"mixer", "gla"}},
    {{"mixer", "mamba"}, {"d_state", "3"}},
    {{"mixer", "mamba"}, {"d_state", "3"}, {"eigen", "negative"}},
    {{"mixer", "deltanet"}},
    {{"mixer", "deltanet"}, {"eigen", "negative"}},
    {{"mixer", "deltanet"}, {"short_conv", "true"}, {"beta_bias", "false"}, {"d_conv", "3"}},
    {{"mixer", "deltanet"},
     {"short_conv", "true"},
     {"beta_bias", "false"},
     {"d_conv", "3"},
     {"eigen", "negative"}},
    {{"mixer", "mamba1"}, {"d_state", "3"}, {"d_conv", "2"}},
    {{"mixer", "mamba1"}, {"d_state", "3"}, {"d_conv", "1"}, {"eigen", "negative"}},
    {{"mixer", "mlstm"}},
    {{"mixer", "hyena"}, {"filter_len", "50"}},
    {{"mixer", "lstm"}},
    {{"mixer", "gru"}},
};

}  // namespace icl::test
