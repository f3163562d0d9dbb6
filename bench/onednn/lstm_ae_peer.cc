// oneDNN scoring peer for bench/onednn-peer.ts: the reference LSTM-AE (window 64, 8 channels,
// encoder LSTM 8->32, decoder LSTM 32->16, per-frame Linear 16->8) scored on ONE thread with
// oneDNN's fused lstm_forward primitive (the path PyTorch 2.x's CPU nn.LSTM takes through
// aten::mkldnn_rnn_layer) and a matmul for the Linear, the score as bench/pytorch/score_bench.py
// computes it: per-window mean squared reconstruction error and its per-channel shares.
// Windows are gathered from one span of batch + 63 frames, as seismo's graph does.
//
// Usage: lstm_ae_peer [--batch 64] [--rounds 5] [--seconds 2] [--params FILE]
//   --params: float32 little-endian, span [batch+63, 8] then PyTorch's tensors in
//   state_dict order (encoder w_ih [128,8], w_hh [128,32], b_ih [128], b_hh [128], decoder w_ih
//   [64,32], w_hh [64,16], b_ih [64], b_hh [64], out weight [8,16], out bias [8]); the JSON then
//   carries the scores of that span for a parity check. Without it, seeded random values.
// Debian's oneDNN runs on OpenMP (DNNL_CPU_RUNTIME=OMP): one thread is OMP_NUM_THREADS=1, and
// "threads" reports omp_get_max_threads() as oneDNN sees it (build with -fopenmp).
// Prints {"windowsPerSec", "rounds", "threads", ...} as one JSON line on stdout.
#include <oneapi/dnnl/dnnl.hpp>

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

static const int W = 64, C = 8, ENC = 32, DEC = 16, G = 4;

struct Params {
  std::vector<float> span, ewih, ewhh, ebih, ebhh, dwih, dwhh, dbih, dbhh, ow, ob;
};

static void fail(const std::string &msg) {
  std::fprintf(stderr, "lstm_ae_peer: %s\n", msg.c_str());
  std::exit(2);
}

int main(int argc, char **argv) {
  int B = 64, rounds = 5;
  double seconds = 2.0;
  const char *params = nullptr;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--batch") B = std::atoi(argv[i + 1]);
    else if (a == "--rounds") rounds = std::atoi(argv[i + 1]);
    else if (a == "--seconds") seconds = std::atof(argv[i + 1]);
    else if (a == "--params") params = argv[i + 1];
    else fail("unknown option " + a);
  }
  if (B < 1 || rounds < 1 || !(seconds > 0)) fail("--batch, --rounds and --seconds must be positive");
  const int rows = B + W - 1;
  Params p;
  std::vector<std::pair<std::vector<float> *, size_t>> parts = {
      {&p.span, size_t(rows) * C}, {&p.ewih, size_t(G * ENC) * C}, {&p.ewhh, size_t(G * ENC) * ENC},
      {&p.ebih, G * ENC}, {&p.ebhh, G * ENC}, {&p.dwih, size_t(G * DEC) * ENC},
      {&p.dwhh, size_t(G * DEC) * DEC}, {&p.dbih, G * DEC}, {&p.dbhh, G * DEC},
      {&p.ow, size_t(C) * DEC}, {&p.ob, C}};
  if (params) {
    FILE *f = std::fopen(params, "rb");
    if (!f) fail(std::string("cannot open ") + params);
    for (auto &[v, n] : parts) {
      v->resize(n);
      if (std::fread(v->data(), sizeof(float), n, f) != n) fail("params file too short for batch " + std::to_string(B));
    }
    std::fclose(f);
  } else {
    // The cost of a forward pass does not depend on the values; seeded so runs are repeatable.
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-0.17f, 0.17f);
    for (auto &[v, n] : parts) {
      v->resize(n);
      for (auto &x : *v) x = u(rng);
    }
  }

  engine eng(engine::kind::cpu, 0);
  stream s(eng);

  // One LSTM layer: src [T, N, in] (tnc), the last hidden state and/or the whole output wanted.
  struct Layer {
    lstm_forward prim;
    std::unordered_map<int, memory> args;
    memory src, dst, dst_iter;
  };
  auto make_layer = [&](int in, int hid, const std::vector<float> &wih, const std::vector<float> &whh,
                        const std::vector<float> &bih, const std::vector<float> &bhh) {
    memory::desc src_md({W, B, in}, dt::f32, tag::tnc);
    memory::desc dst_md({W, B, hid}, dt::f32, tag::tnc);
    memory::desc iter_md({1, 1, B, hid}, dt::f32, tag::ldnc);
    memory::desc citer_md({1, 1, B, hid}, dt::f32, tag::ldnc);
    // Weights: the primitive picks its layout (format any), reordered once from PyTorch's
    // [G*hid, in] = ldgoi (gate order i, f, g, o is the same in both).
    memory::desc wl_any({1, 1, in, G, hid}, dt::f32, tag::any);
    memory::desc wi_any({1, 1, hid, G, hid}, dt::f32, tag::any);
    memory::desc bias_md({1, 1, G, hid}, dt::f32, tag::ldgo);
    lstm_forward::desc d(prop_kind::forward_inference, rnn_direction::unidirectional_left2right, src_md,
                         memory::desc(), memory::desc(), wl_any, wi_any, bias_md, dst_md, iter_md, citer_md);
    lstm_forward::primitive_desc pd(d, eng);
    memory wl_user({{1, 1, in, G, hid}, dt::f32, tag::ldgoi}, eng, const_cast<float *>(wih.data()));
    memory wi_user({{1, 1, hid, G, hid}, dt::f32, tag::ldgoi}, eng, const_cast<float *>(whh.data()));
    memory wl(pd.weights_layer_desc(), eng), wi(pd.weights_iter_desc(), eng), bias(bias_md, eng);
    reorder(wl_user, wl).execute(s, wl_user, wl);
    reorder(wi_user, wi).execute(s, wi_user, wi);
    float *b = static_cast<float *>(bias.get_data_handle());
    for (int i = 0; i < G * hid; i++) b[i] = bih[i] + bhh[i];
    Layer L{lstm_forward(pd), {}, memory(src_md, eng), memory(dst_md, eng), memory(iter_md, eng)};
    memory cdst(citer_md, eng), ws;
    L.args = {{DNNL_ARG_SRC_LAYER, L.src}, {DNNL_ARG_WEIGHTS_LAYER, wl}, {DNNL_ARG_WEIGHTS_ITER, wi},
              {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST_LAYER, L.dst}, {DNNL_ARG_DST_ITER, L.dst_iter},
              {DNNL_ARG_DST_ITER_C, cdst}};
    if (pd.scratchpad_desc().get_size() > 0) L.args[DNNL_ARG_SCRATCHPAD] = memory(pd.scratchpad_desc(), eng);
    return L;
  };
  Layer enc = make_layer(C, ENC, p.ewih, p.ewhh, p.ebih, p.ebhh);
  Layer dec = make_layer(ENC, DEC, p.dwih, p.dwhh, p.dbih, p.dbhh);
  s.wait();

  // The per-frame Linear as one matmul over all W*B frames: [W*B, 16] x [16, 8] + bias.
  memory::desc a_md({W * B, DEC}, dt::f32, tag::ab), o_md({W * B, C}, dt::f32, tag::ab);
  memory::desc lw_user_md({DEC, C}, dt::f32, tag::ba);  // PyTorch's weight [8, 16] read transposed
  memory::desc lw_any({DEC, C}, dt::f32, tag::any), lb_md({1, C}, dt::f32, tag::ab);
  matmul::primitive_desc mpd(matmul::desc(a_md, lw_any, lb_md, o_md), eng);
  memory lw_user(lw_user_md, eng, p.ow.data()), lw(mpd.weights_desc(), eng), lb(lb_md, eng, p.ob.data());
  reorder(lw_user, lw).execute(s, lw_user, lw);
  s.wait();
  memory a_mem(a_md, eng, dec.dst.get_data_handle()), o_mem(o_md, eng);
  matmul mm(mpd);
  std::unordered_map<int, memory> margs = {{DNNL_ARG_SRC, a_mem}, {DNNL_ARG_WEIGHTS, lw}, {DNNL_ARG_BIAS, lb}, {DNNL_ARG_DST, o_mem}};

  std::vector<float> score(B), channel(size_t(B) * C);
  float *x = static_cast<float *>(enc.src.get_data_handle());
  float *code = static_cast<float *>(dec.src.get_data_handle());
  const float *h = static_cast<const float *>(enc.dst_iter.get_data_handle());
  const float *rec = static_cast<const float *>(o_mem.get_data_handle());
  auto forward = [&]() {
    // Gather: x[t, n, :] = span[n + t, :].
    for (int t = 0; t < W; t++)
      for (int n = 0; n < B; n++) std::memcpy(x + (size_t(t) * B + n) * C, p.span.data() + size_t(n + t) * C, C * sizeof(float));
    enc.prim.execute(s, enc.args);
    // The decoder's input: the encoder's last hidden state repeated at every frame.
    for (int t = 0; t < W; t++) std::memcpy(code + size_t(t) * B * ENC, h, size_t(B) * ENC * sizeof(float));
    dec.prim.execute(s, dec.args);
    mm.execute(s, margs);
    s.wait();
    std::fill(channel.begin(), channel.end(), 0.f);
    for (int t = 0; t < W; t++)
      for (int n = 0; n < B; n++)
        for (int c = 0; c < C; c++) {
          size_t i = (size_t(t) * B + n) * C + c;
          float e = rec[i] - x[i];
          channel[size_t(n) * C + c] += e * e;
        }
    for (int n = 0; n < B; n++) {
      float sum = 0;
      for (int c = 0; c < C; c++) {
        float v = channel[size_t(n) * C + c] / W / C;
        channel[size_t(n) * C + c] = v;
        sum += v;
      }
      score[n] = sum;
    }
  };

  using clk = std::chrono::steady_clock;
  for (int i = 0; i < 20; i++) forward();
  std::vector<double> rates;
  for (int r = 0; r < rounds; r++) {
    long n = 0;
    auto t0 = clk::now();
    double el = 0;
    while (el < seconds) {
      forward();
      n += B;
      el = std::chrono::duration<double>(clk::now() - t0).count();
    }
    rates.push_back(n / el);
  }
  std::vector<double> sorted = rates;
  std::sort(sorted.begin(), sorted.end());
  size_t m = sorted.size();
  double med = m % 2 ? sorted[m / 2] : 0.5 * (sorted[m / 2 - 1] + sorted[m / 2]);
  const dnnl_version_t *v = dnnl_version();
  std::printf("{\"windowsPerSec\":%.3f,\"rounds\":[", med);
  for (size_t i = 0; i < rates.size(); i++) std::printf("%s%.3f", i ? "," : "", rates[i]);
  std::printf("],\"batch\":%d,\"threads\":%d,\"dnnl\":\"%d.%d.%d\",\"cpuRuntime\":%d", B, omp_get_max_threads(),
              v->major, v->minor, v->patch, int(v->cpu_runtime));
  if (params) {
    std::printf(",\"score\":[");
    for (int n = 0; n < B; n++) std::printf("%s%.9g", n ? "," : "", score[n]);
    std::printf("],\"channelScore\":[");
    for (int i = 0; i < B * C; i++) std::printf("%s%.9g", i ? "," : "", channel[i]);
    std::printf("]");
  }
  std::printf("}\n");
  return 0;
}
