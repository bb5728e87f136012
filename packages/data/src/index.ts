/**
 * @ralm/data — RALM datasets: the on-disk format (schema.json, users.csv,
 * items.csv, events.csv), its validating reader and writer, and the synthetic
 * generator.
 */
export type { Dataset, Events, FieldColumn, FieldKind, FieldSpec, Items, Schema, Users } from './types';
export { DatasetError } from './errors';
export { DATASET_FILES, type DatasetFile } from './format';
export { readDataset, type OpenFile, type ReadOptions } from './read';
export { writeDataset } from './write';
export { fingerprintOf } from './serialize';
export { synthesize, synthesizeToDir, SYNTH_SCHEMA, type ClickModel, type SynthOptions } from './synth';
export { synthesizeV2, synthesizeV2ToDir, SYNTH_V2_SCHEMA, type ClickModelV2, type SynthV2Options } from './synth-v2';
export { importMovieLens, importTencentLookalike, importToDir, IMPORT_KINDS, MOVIELENS_SCHEMA, type ImportKind, type ImportSummary, type MovieLensOptions } from './import';
