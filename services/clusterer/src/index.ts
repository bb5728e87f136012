export { createClusterer, createClusterWorker, type ClustererModule } from './module';
export { loadClustererConfig, type ClustererConfig } from './config';
