// AddressSanitizer + UndefinedBehaviorSanitizer driver for the native LSTM-AE scorer (run by
// native/sanitize-kernels.sh). Every array is a heap vector of exactly the size lstm_ae_score.h
// documents, so a read or write past any shape's end aborts. Shapes hit the tails of every packet
// (odd units and channels), stacked layers, both gate kinds, W of 1 and 2, batches across the
// chunk size and not a multiple of any block, shared spans and windows scored on their own;
// every variant this CPU runs is checked against a float64 loop of the graph's definitions.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "../../native/lstm_ae_score.h"

namespace la = seismo::lstm_ae;

static std::mt19937 rng(11);
static std::vector<float> Random(int64_t n, float scale) {
  std::uniform_real_distribution<float> u(-scale, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = u(rng);
  return v;
}
static void Check(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "FAILED: %s\n", what.c_str());
    std::exit(1);
  }
}

struct Layer {
  int64_t F, H;
  std::vector<float> W, R, B;
  la::Gate gate;
};

static std::vector<std::vector<double>> RunLayer(const Layer& l, const std::vector<std::vector<double>>& in) {
  std::vector<std::vector<double>> out;
  std::vector<double> h(l.H), c(l.H), z(4 * l.H);
  auto f = [&](double v) { return l.gate == la::Gate::Sigmoid ? 1 / (1 + std::exp(-v)) : std::min(1.0, std::max(0.0, 0.2 * v + 0.5)); };
  for (const auto& x : in) {
    for (int64_t r = 0; r < 4 * l.H; r++) {
      double s = double(l.B[r]) + l.B[4 * l.H + r];
      for (int64_t k = 0; k < l.F; k++) s += double(l.W[r * l.F + k]) * x[k];
      for (int64_t k = 0; k < l.H; k++) s += double(l.R[r * l.H + k]) * h[k];
      z[r] = s;
    }
    for (int64_t j = 0; j < l.H; j++) {
      c[j] = f(z[2 * l.H + j]) * c[j] + f(z[j]) * std::tanh(z[3 * l.H + j]);
      h[j] = f(z[l.H + j]) * std::tanh(c[j]);
    }
    out.push_back(h);
  }
  return out;
}

static void Case(int64_t W, int64_t C, std::vector<int64_t> enc, std::vector<int64_t> dec, la::Gate gate, bool bias, int64_t rows, std::vector<int64_t> starts) {
  std::vector<Layer> E, D;
  int64_t F = C;
  for (int64_t h : enc) E.push_back({F, h, Random(4 * h * F, 0.6f), Random(4 * h * h, 0.6f), Random(8 * h, 0.6f), gate}), F = h;
  for (int64_t h : dec) D.push_back({F, h, Random(4 * h * F, 0.6f), Random(4 * h * h, 0.6f), Random(8 * h, 0.6f), gate}), F = h;
  std::vector<float> K = Random(F * C, 0.6f), Kb = Random(C, 0.6f), mean = Random(C, 1.f), sd = Random(C, 1.f);
  for (float& s : sd) s = 0.5f + std::fabs(s);
  la::NetSpec spec{W, C, mean.data(), sd.data(), {}, {}, K.data(), bias ? Kb.data() : nullptr};
  for (auto& l : E) spec.encoder.push_back({l.F, l.H, l.W.data(), l.R.data(), l.B.data(), gate});
  for (auto& l : D) spec.decoder.push_back({l.F, l.H, l.W.data(), l.R.data(), l.B.data(), gate});
  const int64_t n = static_cast<int64_t>(starts.size());
  std::vector<float> frames = Random(rows * C, 3.f);
  // float64 reference of every window.
  std::vector<double> refScore(n), refChannel(n * C);
  for (int64_t i = 0; i < n; i++) {
    std::vector<std::vector<double>> x(W, std::vector<double>(C));
    for (int64_t t = 0; t < W; t++)
      for (int64_t c = 0; c < C; c++) x[t][c] = (double(frames[(starts[i] + t) * C + c]) - mean[c]) / sd[c];
    auto s = x;
    for (auto& l : E) s = RunLayer(l, s);
    const auto code = s.back();
    s.assign(W, code);
    for (auto& l : D) s = RunLayer(l, s);
    for (int64_t c = 0; c < C; c++) {
      double e = 0;
      for (int64_t t = 0; t < W; t++) {
        double r = bias ? Kb[c] : 0;
        for (int64_t k = 0; k < F; k++) r += s[t][k] * K[k * C + c];
        e += (r - x[t][c]) * (r - x[t][c]);
      }
      refChannel[i * C + c] = e / W / C;
      refScore[i] += refChannel[i * C + c];
    }
  }
  for (const std::string& isa : la::SupportedIsas()) {
    auto scorer = la::MakeScorer(spec, isa);
    std::vector<float> score(n), channel(n * C), activity(n * C), rec(n * W * C);
    la::ScoreArgs a{frames.data(), rows, starts.data(), n, score.data(), channel.data(), W >= 3 ? activity.data() : nullptr, rec.data()};
    scorer->Score(a);
    a.reconstruction = nullptr;
    scorer->Score(a);  // scratch reused, nothing asked of the reconstruction
    for (int64_t i = 0; i < n; i++) {
      Check(std::fabs(score[i] - refScore[i]) <= 1e-5 * std::max(1.0, std::fabs(refScore[i])), isa + ": score of window " + std::to_string(i));
      for (int64_t c = 0; c < C; c++) Check(std::fabs(channel[i * C + c] - refChannel[i * C + c]) <= 1e-5 * std::max(1.0, refChannel[i * C + c]), isa + ": channel score");
    }
    std::vector<int64_t> bad = {0, rows - W + 1};
    la::ScoreArgs b{frames.data(), rows, bad.data(), 2, score.data(), channel.data(), nullptr, nullptr};
    bool threw = false;
    try {
      scorer->Score(b);
    } catch (const la::KernelError& e) {
      threw = std::string(e.code()) == "ERR_BAD_SHAPE";
    }
    Check(threw, isa + ": a start past rows - W must throw ERR_BAD_SHAPE");
  }
}

int main() {
  std::vector<int64_t> stride1(67), scattered = {200, 0, 37, 37, 150, 3};
  for (int64_t i = 0; i < 67; i++) stride1[i] = i;
  Case(64, 8, {32}, {16}, la::Gate::Sigmoid, true, 67 + 63, stride1);
  Case(12, 3, {5}, {7}, la::Gate::HardSigmoid, true, 260, scattered);
  Case(9, 5, {17, 5}, {3, 9}, la::Gate::Sigmoid, false, 260, scattered);
  Case(16, 20, {48}, {33, 40}, la::Gate::Sigmoid, true, 230, {0, 214});
  Case(2, 2, {3}, {2}, la::Gate::Sigmoid, true, 230, stride1);
  Case(1, 1, {1}, {1}, la::Gate::HardSigmoid, true, 1, {0});
  std::puts("ok: LSTM-AE scorer sanitized");
  return 0;
}
