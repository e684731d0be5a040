#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/rng.h"

namespace icl {

// Known-answer vectors of Philox4x32-10 from the Random123 distribution (kat_vectors).
TEST(Philox, KnownAnswers) {
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}),
            (Philox4x32Ctr{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  EXPECT_EQ(philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                          {0xffffffffu, 0xffffffffu}),
            (Philox4x32Ctr{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  EXPECT_EQ(philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
                          {0xa4093822u, 0x299f31d0u}),
            (Philox4x32Ctr{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

TEST(Rng, SameKeyAndIndexGiveSameDraws) {
  Rng a({7, 3}, 11), b({7, 3}, 11);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(a.normal(), b.normal());
}

TEST(Rng, IndexStreamAndSeedSeparateStreams) {
  auto first = [](RngKey k, uint64_t i) { return Rng(k, i).next_u64(); };
  const uint64_t base = first({1, 2}, 3);
  EXPECT_NE(base, first({1, 2}, 4));
  EXPECT_NE(base, first({1, 5}, 3));
  EXPECT_NE(base, first({9, 2}, 3));
  EXPECT_NE(base, first(RngKey{1, 2}.sub("fixed"), 3));
  EXPECT_NE(first({1, 2}, 1ull << 32), first({1, 2}, 0));  // upper index bits matter
}

TEST(Rng, UniformAndNormalMoments) {
  Rng rng({42, stream_id("moments")}, 0);
  const int n = 200000;
  double su = 0, su2 = 0, sn = 0, sn2 = 0, sn4 = 0;
  for (int i = 0; i < n; ++i) {
    const double u = rng.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    su += u;
    su2 += u * u;
    const double z = rng.normal();
    sn += z;
    sn2 += z * z;
    sn4 += z * z * z * z;
  }
  // Tolerances are about 5 standard errors of each estimate.
  EXPECT_NEAR(su / n, 0.5, 5 * std::sqrt(1.0 / 12 / n));
  EXPECT_NEAR(su2 / n, 1.0 / 3, 5 * std::sqrt(4.0 / 45 / n));
  EXPECT_NEAR(sn / n, 0.0, 5 * std::sqrt(1.0 / n));
  EXPECT_NEAR(sn2 / n, 1.0, 5 * std::sqrt(2.0 / n));
  EXPECT_NEAR(sn4 / n, 3.0, 5 * std::sqrt(96.0 / n));
}

TEST(Rng, BelowIsUniformAndInRange) {
  Rng rng({1, 1}, 0);
  const int n = 70000, m = 7;
  std::vector<int> counts(m, 0);
  for (int i = 0; i < n; ++i) {
    const uint64_t v = rng.below(m);
    ASSERT_LT(v, uint64_t(m));
    ++counts[size_t(v)];
  }
  // Chi-square with 6 degrees of freedom: 22.5 is its 0.999 quantile.
  double chi2 = 0;
  for (int c : counts) chi2 += (c - n / double(m)) * (c - n / double(m)) / (n / double(m));
  EXPECT_LT(chi2, 22.5);
  EXPECT_EQ(rng.below(1), 0u);
}

// The block fetch is only a faster way to make the same draws: the same words, and the stream
// continues where n single draws would have left it (also when n is not a multiple of 4 or 16).
TEST(Rng, BlockFetchEqualsSingleDraws) {
  for (const size_t n : {size_t(0), size_t(1), size_t(3), size_t(16), size_t(37), size_t(1000)})
    for (const int skip : {0, 1, 2, 3}) {
      Rng a({9, 4}, 11), b({9, 4}, 11);
      for (int i = 0; i < skip; ++i) (void)a.next_u32(), (void)b.next_u32();
      std::vector<uint32_t> block(n), single(n);
      a.next_u32s(block.data(), n);
      for (auto& w : single) w = b.next_u32();
      EXPECT_EQ(block, single) << "n " << n << " skip " << skip;
      EXPECT_EQ(a.next_u32(), b.next_u32()) << "n " << n << " skip " << skip;
      EXPECT_EQ(a.draws(), b.draws());
      const uint32_t hi = b.next_u32(), lo = b.next_u32();
      EXPECT_EQ(Rng::uniform_from(hi, lo), a.uniform());
    }
}

}  // namespace icl
