export { createUserEmbedding, type UserEmbeddingModule } from './module';
export { loadUserEmbeddingConfig, type UserEmbeddingConfig } from './config';
