#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/rng.h"
#include "core/vec_math.h"

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

// normals() is n calls of normal(), bit for bit, and leaves the same state: with and without a
// spare pending at entry, odd and even n, and n beyond one internal block of pairs.
TEST(Rng, NormalsEqualSingleDraws) {
  for (const size_t n : {size_t(0), size_t(1), size_t(2), size_t(21), size_t(128), size_t(301)})
    for (const int pending : {0, 1}) {
      Rng a({5, 8}, 3), b({5, 8}, 3);
      for (int i = 0; i < pending; ++i) (void)a.normal(), (void)b.normal();
      std::vector<double> block(n), single(n);
      a.normals(block.data(), n);
      for (auto& z : single) z = b.normal();
      EXPECT_EQ(block, single) << "n " << n << " pending " << pending;
      EXPECT_EQ(a.normal(), b.normal()) << "n " << n << " pending " << pending;
      EXPECT_EQ(a.next_u32(), b.next_u32());
    }
}

// normals_from() makes of fetched words what normals() makes of the same stream: counts below one
// SIMD vector, between vectors, and across its internal chunk of 64 pairs.
TEST(Rng, NormalsFromWordsEqualNormals) {
  for (const size_t pairs : {size_t(1), size_t(11), size_t(64), size_t(65), size_t(130)}) {
    Rng a({6, 2}, 9), b({6, 2}, 9);
    std::vector<uint32_t> words(4 * pairs);
    a.next_u32s(words.data(), words.size());
    std::vector<double> from_words(2 * pairs), drawn(2 * pairs);
    Rng::normals_from(words.data(), pairs, from_words.data());
    b.normals(drawn.data(), drawn.size());
    EXPECT_EQ(from_words, drawn) << "pairs " << pairs;
  }
}

// The Box–Muller pair equals its definition with libm's log, sin and cos to rounding, over the
// whole range of u, including u → 0 and u → 1 (the tails and the log's argument near 1).
TEST(Rng, NormalMatchesLibmBoxMuller) {
  Rng rng({3, 3}, 0), words({3, 3}, 0);
  double worst = 0.0;
  for (int i = 0; i < 100000; ++i) {
    const uint32_t w0 = words.next_u32(), w1 = words.next_u32(), w2 = words.next_u32(),
                   w3 = words.next_u32();
    const double r = std::sqrt(-2.0 * std::log(1.0 - Rng::uniform_from(w0, w1)));
    const double t = 2.0 * 3.14159265358979323846 * Rng::uniform_from(w2, w3);
    const double z0 = rng.normal(), z1 = rng.normal();
    worst = std::max({worst, std::abs(z0 - r * std::cos(t)), std::abs(z1 - r * std::sin(t))});
  }
  EXPECT_LT(worst, 1e-13);
}

TEST(VecMath, LogSeriesMatchesLibm) {
  Rng rng({1, 2}, 0);
  double worst = 0.0;
  auto check = [&](double x) {
    const double ref = std::log(x);
    worst = std::max(worst, std::abs(log_series(x) - ref) / std::max(1.0, std::abs(ref)));
  };
  for (int i = 0; i < 100000; ++i)
    check(std::ldexp(0.5 + rng.uniform(), int(rng.below(200)) - 100));
  for (double x : {1.0, 1.0 - 0x1.0p-53, 1.0 + 0x1.0p-52, 0x1.0p-53, 1.4142135623730951,
                   0.7071067811865476, 1e-300, 1e300})
    check(x);
  EXPECT_LT(worst, 4e-16);
  EXPECT_EQ(log_series(1.0), 0.0);
}

}  // namespace icl
