export * from './assignment';
export { hash64, hashFraction } from './hash';
export { HyperLogLog } from './hll';
export * from './measures';
export * from './window';
export * from './config';
