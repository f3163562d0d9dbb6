/**
 * The model kinds that `trainModel` can train and export, by name: each lives in its own folder
 * (config: its settings schema; model: the tfjs model, its scores and training; export: its ONNX
 * graph; spec: how the shared pipeline drives it). More plug in with {@link registerKind}.
 */
import { SeismoError } from '../../src/errors';
import type { BaseTrainConfig } from '../fit';
import type { ModelKindSpec } from '../kind-spec';
import { BUILTIN_KINDS, type BuiltinKind } from './names';
import { biganSpec } from './bigan/spec';
import type { BiganConfig } from './bigan/config';
import { dcVaeSpec } from './dc-vae/spec';
import type { DcVaeConfig } from './dc-vae/config';
import { deepAntSpec } from './deepant/spec';
import type { DeepAntConfig } from './deepant/config';
import { denseAeSpec } from './dense-ae/spec';
import type { DenseAeConfig } from './dense-ae/config';
import { lstmAeSpec } from './lstm-ae/spec';
import type { LstmAeConfig } from './lstm-ae/config';
import { ocsvmSpec } from './ocsvm/spec';
import type { OcsvmConfig } from './ocsvm/config';
import { pcaSpec } from './pca/spec';
import type { PcaConfig } from './pca/config';
import { vaeSpec } from './vae/spec';
import type { VaeConfig } from './vae/config';

/** Configs of the built-in kinds by name, for typed requests. */
export interface KindConfigs extends Record<BuiltinKind, unknown> {
  'lstm-ae': LstmAeConfig;
  'dc-vae': DcVaeConfig;
  deepant: DeepAntConfig;
  'dense-ae': DenseAeConfig;
  vae: VaeConfig;
  pca: PcaConfig;
  bigan: BiganConfig;
  ocsvm: OcsvmConfig;
}

// Kinds are stored type-erased; each spec is only ever called with the config it resolved itself.
const kinds = new Map<string, ModelKindSpec<any>>();

/**
 * Registers a model kind.
 * @throws SeismoError `ERR_INVALID_OPTION` when the name is taken (re-registering would silently
 *   change what existing model directories mean).
 */
export function registerKind<Config extends BaseTrainConfig>(spec: ModelKindSpec<Config>): void {
  if (kinds.has(spec.kind)) throw new SeismoError('ERR_INVALID_OPTION', `Model kind "${spec.kind}" is already registered.`, { kind: spec.kind });
  kinds.set(spec.kind, spec);
}

/**
 * Looks a kind up.
 * @throws SeismoError `ERR_TRAINING` for an unknown kind, listing the known ones.
 */
export function getKind(kind: string): ModelKindSpec<BaseTrainConfig> {
  const spec = kinds.get(kind);
  if (!spec) throw new SeismoError('ERR_TRAINING', `Unknown model kind "${kind}". Known kinds: ${[...kinds.keys()].join(', ')}.`, { kind, known: [...kinds.keys()] });
  return spec;
}

/** Names of the registered kinds. */
export function listKinds(): string[] {
  return [...kinds.keys()];
}

const builtin: { [K in BuiltinKind]: ModelKindSpec<KindConfigs[K]> } = {
  'lstm-ae': lstmAeSpec,
  'dc-vae': dcVaeSpec,
  deepant: deepAntSpec,
  'dense-ae': denseAeSpec,
  vae: vaeSpec,
  pca: pcaSpec,
  bigan: biganSpec,
  ocsvm: ocsvmSpec,
};
for (const name of BUILTIN_KINDS) registerKind(builtin[name] as ModelKindSpec<any>);
