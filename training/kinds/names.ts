/**
 * Names of the built-in model kinds, without loading them (the CLI lists them in `--help` and
 * must not load tfjs to do so). training/kinds/index.ts registers exactly these.
 */
export const BUILTIN_KINDS = ['lstm-ae', 'dc-vae', 'deepant', 'dense-ae', 'vae', 'pca', 'bigan', 'ocsvm'] as const;
export type BuiltinKind = (typeof BUILTIN_KINDS)[number];
