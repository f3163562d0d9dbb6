// AddressSanitizer + UndefinedBehaviorSanitizer driver for the training kernels (run by
// native/sanitize-kernels.sh). Every buffer is a heap vector of exactly the size kernels.h
// documents, so any read or write past a shape's end aborts; the conv is also checked against
// naive loops, and both compiled variants (avx2 where the CPU has it, baseline) are exercised.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "../../native/kernels.h"

namespace kn = seismo::kernels;

static std::mt19937 rng(7);
static std::vector<float> Random(int64_t n) {
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = u(rng);
  return v;
}
static void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "FAILED: %s\n", what);
    std::exit(1);
  }
}
static bool Finite(const std::vector<float>& v) {
  for (float x : v)
    if (!std::isfinite(x)) return false;
  return true;
}

static void Lstm(const kn::KernelTable& k, int64_t B, int64_t T, int64_t F, int64_t H, kn::GateActivation gate, bool rs, bool rep = false,
                 bool want_dx = true) {
  kn::LstmDims d{B, T, F, H, gate, rs, rep};
  auto x = Random(kn::LstmInputRows(d) * F), w = Random(F * 4 * H), u = Random(H * 4 * H), b = Random(4 * H);
  std::vector<float> y(B * (rs ? T : 1) * H), state(kn::LstmStateFloats(d)), fscratch(kn::LstmForwardScratchFloats(d));
  k.lstm_forward({d, x.data(), w.data(), u.data(), b.data(), y.data(), state.data(), fscratch.data()});
  auto dy = Random(static_cast<int64_t>(y.size()));
  std::vector<float> dx(x.size()), dw(w.size()), du(u.size()), db(b.size()), bscratch(kn::LstmBackwardScratchFloats(d));
  k.lstm_backward({d, x.data(), w.data(), u.data(), state.data(), dy.data(), want_dx ? dx.data() : nullptr, dw.data(), du.data(), db.data(), bscratch.data()});
  Check(Finite(y) && Finite(dx) && Finite(dw) && Finite(du) && Finite(db), "lstm outputs finite");
}

static void Conv(const kn::KernelTable& k, int64_t N, int64_t T, int64_t Cin, int64_t Cout, int64_t K, int64_t D) {
  kn::ConvDims d{N, T, Cin, Cout, K, D};
  auto x = Random(N * T * Cin), w = Random(K * Cin * Cout), b = Random(Cout);
  std::vector<float> y(N * T * Cout), scratch(kn::ConvScratchFloats(d));
  k.conv_forward({d, x.data(), w.data(), b.data(), y.data(), scratch.data()});
  for (int64_t n = 0; n < N; n++)
    for (int64_t t = 0; t < T; t++)
      for (int64_t o = 0; o < Cout; o++) {
        double s = b[o];
        for (int64_t j = 0; j < K; j++) {
          const int64_t src = t - (K - 1 - j) * D;
          if (src < 0) continue;
          for (int64_t i = 0; i < Cin; i++) s += double(x[(n * T + src) * Cin + i]) * w[(j * Cin + i) * Cout + o];
        }
        Check(std::fabs(s - y[(n * T + t) * Cout + o]) <= 1e-4 * (1 + std::fabs(s)), "conv forward matches naive loops");
      }
  auto dy = Random(N * T * Cout);
  std::vector<float> dx(x.size()), dw(w.size()), db(b.size());
  k.conv_backward({d, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data(), scratch.data()});
  Check(Finite(dx) && Finite(dw) && Finite(db), "conv gradients finite");
}

int main() {
  std::vector<const kn::KernelTable*> tables{&kn::baseline::Table()};
  if (kn::CpuHasAvx2()) tables.push_back(&kn::avx2::Table());
  if (kn::CpuHasAvx512()) tables.push_back(&kn::avx512::Table());
  for (const kn::KernelTable* k : tables) {
    for (auto gate : {kn::GateActivation::Sigmoid, kn::GateActivation::HardSigmoid})
      for (bool rs : {true, false}) {
        Lstm(*k, 1, 1, 1, 1, gate, rs);
        Lstm(*k, 3, 7, 5, 9, gate, rs);
        Lstm(*k, 2, 13, 8, 32, gate, rs);
        Lstm(*k, 3, 7, 5, 9, gate, rs, true);      // repeated input x [B, F]
        Lstm(*k, 4, 16, 32, 16, gate, rs, true, false);
        Lstm(*k, 2, 5, 3, 8, gate, rs, false, false);  // no dx
      }
    Conv(*k, 1, 1, 1, 1, 1, 1);
    Conv(*k, 2, 9, 3, 5, 3, 4);
    Conv(*k, 3, 40, 4, 7, 2, 64);
    Conv(*k, 2, 70, 5, 3, 4, 16);
    std::printf("ok: %s kernels\n", k->isa);
  }
  return 0;
}
