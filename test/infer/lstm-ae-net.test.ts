import assert from 'node:assert/strict';
import { onnx } from 'onnx-proto';
import { extractLstmAeNet, type LstmAeNet } from '../../src/infer/lstm-ae-net';
import { generateSeries } from '../../src/ingest/synthetic';
import { kerasToOnnxGates } from '../../training/export/blocks';
import { trainModel } from '../../training/index';
import { LSTM_AE_LAYERS } from '../../training/kinds/lstm-ae/model';
import { alterGraph, lstmAeGraph } from '../helpers/lstm-ae-graphs';
import { tinyModel } from '../helpers/tiny-model';

const A = onnx.AttributeProto.AttributeType;

function net(bytes: Uint8Array): LstmAeNet {
  const r = extractLstmAeNet(bytes);
  assert.ok(r.net, `not recognised: ${r.reason}`);
  return r.net;
}

function lstmNodes(g: onnx.GraphProto): onnx.NodeProto[] {
  return g.node.filter((n) => n.opType === 'LSTM') as onnx.NodeProto[];
}

/** The encoder's last LSTM: the one that gives Y_h. */
function encoderLast(g: onnx.GraphProto): onnx.NodeProto {
  return lstmNodes(g).find((n) => n.output[0] === '')!;
}

function init(g: onnx.GraphProto, name: string): onnx.TensorProto {
  return g.initializer.find((t) => t.name === name) as onnx.TensorProto;
}

function int64Raw(values: number[]): Uint8Array {
  return new Uint8Array(BigInt64Array.from(values, (v) => BigInt(v)).buffer);
}

function setAttr(n: onnx.NodeProto, a: onnx.IAttributeProto): void {
  n.attribute = [...n.attribute.filter((x) => x.name !== a.name), onnx.AttributeProto.create(a)];
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('infer/lstm-ae-net: an exported LSTM-AE read out of model.onnx', function () {
  this.timeout(120_000);

  it('reads a trained model: window, channels, scaler, layers, outputs', async () => {
    const m = await tinyModel();
    const { spec, outputs } = net(m.onnx);
    assert.equal(spec.window, m.manifest.window);
    assert.equal(spec.channels, m.manifest.channels.length);
    assert.deepEqual(Array.from(spec.scalerMean), m.manifest.scaler.mean.map(Math.fround));
    assert.deepEqual(Array.from(spec.scalerStd), m.manifest.scaler.std.map(Math.fround));
    assert.deepEqual(spec.encoder.map((l) => [l.inputSize, l.units, l.gate]), [[3, 8, 'sigmoid']]);
    assert.deepEqual(spec.decoder.map((l) => [l.inputSize, l.units, l.gate]), [[8, 4, 'sigmoid']]);
    assert.equal(spec.outKernel.length, 4 * 3);
    assert.equal(spec.outBias?.length, 3);
    assert.deepEqual([...outputs].sort(), ['channel_activity', 'channel_score', 'reconstruction', 'score']);
  });

  it('reads every layer of a deep hardSigmoid model with the exporter`s ONNX layouts', async () => {
    const g = await lstmAeGraph({ window: 10, channels: 4, encoderUnits: [7, 5], decoderUnits: [6, 3], gate: 'hardSigmoid' });
    const { spec } = net(g.onnx);
    assert.equal(spec.window, 10);
    assert.equal(spec.channels, 4);
    assert.deepEqual(spec.encoder.map((l) => [l.inputSize, l.units, l.gate]), [[4, 7, 'hardSigmoid'], [7, 5, 'hardSigmoid']]);
    assert.deepEqual(spec.decoder.map((l) => [l.inputSize, l.units, l.gate]), [[5, 6, 'hardSigmoid'], [6, 3, 'hardSigmoid']]);
    // Layer by layer: W and R re-laid by the exporter (gates i, o, f, c), Keras' bias in Wb, Rb zero.
    const layers = [...spec.encoder.map((l, i) => [l, LSTM_AE_LAYERS.encoder(i)] as const), ...spec.decoder.map((l, i) => [l, LSTM_AE_LAYERS.decoder(i)] as const)];
    for (const [l, name] of layers) {
      const [kernel, recurrent, bias] = g.weights[name]!;
      assert.deepEqual(l.W, kerasToOnnxGates(kernel!, l.inputSize, l.units), name);
      assert.deepEqual(l.R, kerasToOnnxGates(recurrent!, l.units, l.units), name);
      const H = l.units;
      const order = [0, 3, 1, 2]; // ONNX gate position -> Keras block
      for (let og = 0; og < 4; og++) assert.deepEqual(l.B.subarray(og * H, (og + 1) * H), bias!.subarray(order[og]! * H, (order[og]! + 1) * H), name);
      assert.ok(l.B.subarray(4 * H).every((v) => v === 0));
    }
    const [k, b] = g.weights[LSTM_AE_LAYERS.output]!;
    assert.deepEqual(spec.outKernel, k);
    assert.deepEqual(spec.outBias, b);
  });

  it('reads a model without biases (outBias null, B zero)', async () => {
    const { spec } = net((await lstmAeGraph({ window: 5, channels: 2, encoderUnits: [3], decoderUnits: [3], bias: false })).onnx);
    assert.equal(spec.outBias, null);
    assert.ok(spec.encoder[0]!.B.every((v) => v === 0));
  });

  it('reads a window of 2 (no channel_activity output)', async () => {
    const r = net((await lstmAeGraph({ window: 2, channels: 3, encoderUnits: [4], decoderUnits: [2] })).onnx);
    assert.equal(r.spec.window, 2);
    assert.ok(!r.outputs.includes('channel_activity'));
  });

  it('does not recognise other kinds, or bytes that are no model', async () => {
    const data = generateSeries({ length: 200, channels: 2, seed: 4, anomalies: [] });
    const dense = await trainModel({ kind: 'dense-ae', frames: data.table.frames, channels: data.table.channels, config: { window: 4, epochs: 1 }, seed: 1 });
    try {
      const r = extractLstmAeNet(dense.onnx);
      assert.equal(r.net, undefined);
      assert.match(r.reason!, /expected|not/);
    } finally {
      dense.dispose();
    }
    assert.match(extractLstmAeNet(new Uint8Array([1, 2, 3, 4, 5])).reason!, /could not be read|no graph/);
  });

  describe('graphs that differ from the exporter`s are not recognised, with the reason', () => {
    let sigmoid: Uint8Array;
    let hard: Uint8Array;
    const W = 6;
    before(async () => {
      sigmoid = (await lstmAeGraph({ window: W, channels: 3, encoderUnits: [5, 4], decoderUnits: [4, 3] })).onnx;
      hard = (await lstmAeGraph({ window: W, channels: 3, encoderUnits: [4], decoderUnits: [3], gate: 'hardSigmoid' })).onnx;
    });

    const cases: { what: string; from?: 'hard'; change: (m: onnx.ModelProto, g: onnx.GraphProto) => void; reason: RegExp }[] = [
      { what: 'a Tanh gate', change: (_m, g) => setAttr(encoderLast(g), { name: 'activations', type: A.STRINGS, strings: ['Tanh', 'Tanh', 'Tanh'].map(utf8) }), reason: /gate activation Tanh/ },
      { what: 'a Relu cell activation', change: (_m, g) => setAttr(lstmNodes(g)[0]!, { name: 'activations', type: A.STRINGS, strings: ['Sigmoid', 'Relu', 'Tanh'].map(utf8) }), reason: /activations/ },
      { what: 'a clip', change: (_m, g) => setAttr(lstmNodes(g)[1]!, { name: 'clip', type: A.FLOAT, f: 3 }), reason: /attribute clip/ },
      { what: 'a bidirectional layer', change: (_m, g) => setAttr(lstmNodes(g)[2]!, { name: 'direction', type: A.STRING, s: utf8('bidirectional') }), reason: /direction bidirectional/ },
      { what: 'a reversed layer', change: (_m, g) => setAttr(lstmNodes(g)[3]!, { name: 'direction', type: A.STRING, s: utf8('reverse') }), reason: /direction reverse/ },
      { what: 'batch-major layout', change: (_m, g) => setAttr(lstmNodes(g)[0]!, { name: 'layout', type: A.INT, i: 1 }), reason: /layout/ },
      { what: 'coupled input-forget gates', change: (_m, g) => setAttr(lstmNodes(g)[0]!, { name: 'input_forget', type: A.INT, i: 1 }), reason: /input_forget/ },
      {
        what: 'HardSigmoid with another alpha',
        from: 'hard',
        change: (_m, g) => setAttr(encoderLast(g), { name: 'activation_alpha', type: A.FLOATS, floats: [0.25] }),
        reason: /HardSigmoid/,
      },
      {
        what: 'HardSigmoid with another beta',
        from: 'hard',
        change: (_m, g) => setAttr(lstmNodes(g)[1]!, { name: 'activation_beta', type: A.FLOATS, floats: [0.4] }),
        reason: /HardSigmoid/,
      },
      {
        what: 'an initial hidden state',
        change: (_m, g) => {
          const n = lstmNodes(g)[1]!;
          g.initializer.push(onnx.TensorProto.create({ name: 'h0', dataType: 1, dims: [1, 1, 4], floatData: [0, 0, 0, 0] }));
          n.input = [...n.input, '', 'h0'];
        },
        reason: /initial states/,
      },
      {
        what: 'peepholes',
        change: (_m, g) => {
          const n = lstmNodes(g)[0]!;
          g.initializer.push(onnx.TensorProto.create({ name: 'peep', dataType: 1, dims: [1, 15], floatData: new Array(15).fill(0.1) }));
          n.input = [...n.input, '', '', '', 'peep'];
        },
        reason: /peepholes/,
      },
      {
        what: 'the last encoder layer giving Y instead of Y_h',
        change: (_m, g) => {
          const n = encoderLast(g);
          n.output = [n.output[1]!];
        },
        reason: /only its Y_h output/,
      },
      { what: 'a repeat of another length', change: (_m, g) => (init(g, 'repeat_shape').rawData = int64Raw([W - 1, 1, 1])), reason: /repeat shape/ },
      { what: 'other window offsets', change: (_m, g) => (init(g, 'window_offsets').rawData = int64Raw([0, 2, 4, 6, 8, 10])), reason: /window offsets/ },
      { what: 'a Gather on another axis', change: (_m, g) => setAttr(g.node.find((n) => n.opType === 'Gather') as onnx.NodeProto, { name: 'axis', type: A.INT, i: 1 }), reason: /Gather axis/ },
      { what: 'a Transpose with another perm', change: (_m, g) => setAttr(g.node.find((n) => n.opType === 'Transpose') as onnx.NodeProto, { name: 'perm', type: A.INTS, ints: [0, 1, 2] }), reason: /perm/ },
      { what: 'a scaler that multiplies', change: (_m, g) => (g.node.find((n) => n.output?.[0] === 'scaled')!.opType = 'Mul'), reason: /scaler|residual/ },
      { what: 'another channel count in channel_score', change: (_m, g) => (init(g, 'channel_count').rawData = new Uint8Array(Float32Array.of(4).buffer)), reason: /divides by 4/ },
      { what: 'a kept dimension in the channel mean', change: (_m, g) => setAttr(g.node.find((n) => n.opType === 'ReduceMean') as onnx.NodeProto, { name: 'keepdims', type: A.INT, i: 1 }), reason: /keepdims/ },
      { what: 'an activity over other frames', change: (_m, g) => (init(g, 'slice_start').rawData = int64Raw([2])), reason: /activity later/ },
      {
        what: 'an extra node',
        change: (_m, g) => g.node.push(onnx.NodeProto.create({ opType: 'Relu', name: 'extra', input: ['scaled'], output: ['extra_out'] })),
        reason: /not part of the exported LSTM-AE/,
      },
      {
        what: 'an extra node between the decoder and the Dense',
        change: (_m, g) => {
          const mm = g.node.find((n) => n.opType === 'MatMul') as onnx.NodeProto;
          const input = mm.input[0]!;
          mm.input[0] = 'relu_between';
          g.node.push(onnx.NodeProto.create({ opType: 'Relu', name: 'relu_between', input: [input], output: ['relu_between'] }));
        },
        reason: /Transpose/,
      },
      {
        what: 'an output the native scorer does not give',
        change: (_m, g) => g.output.push(onnx.ValueInfoProto.create({ name: 'scaled', type: { tensorType: { elemType: 1 } } })),
        reason: /output scaled/,
      },
      { what: 'no channel_score output', change: (_m, g) => (g.output = g.output.filter((o) => o.name !== 'channel_score')), reason: /channel_score is not an output/ },
      { what: 'an initializer that is also an input', change: (_m, g) => g.input.push(onnx.ValueInfoProto.create({ name: 'scaler_mean', type: { tensorType: { elemType: 1 } } })), reason: /graph inputs/ },
      { what: 'opset 18 (ReduceMean axes as an input)', change: (m) => (m.opsetImport[0]!.version = 18), reason: /opset 18/ },
      { what: 'a Dense kernel of the wrong width', change: (_m, g) => (init(g, 'out_kernel').dims = [1, 9]), reason: /dense kernel/ },
    ];
    for (const c of cases) {
      it(c.what, () => {
        const r = extractLstmAeNet(alterGraph(c.from === 'hard' ? hard : sigmoid, c.change));
        assert.equal(r.net, undefined, `recognised a graph with ${c.what}`);
        assert.match(r.reason!, c.reason);
      });
    }

    it('the unaltered graphs are recognised (the cases above fail for their change alone)', () => {
      assert.ok(extractLstmAeNet(alterGraph(sigmoid, () => {})).net);
      assert.equal(net(alterGraph(hard, () => {})).spec.encoder[0]!.gate, 'hardSigmoid');
    });
  });
});
