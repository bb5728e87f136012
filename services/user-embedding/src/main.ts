import { tracing } from './tracing';
import { runMain } from '@ralm/platform';
import { loadUserEmbeddingConfig } from './config';
import { createUserEmbedding } from './module';

runMain({ name: 'user-embedding', tracing, loadConfig: loadUserEmbeddingConfig, create: createUserEmbedding });
