export { startMesh, SERVICES, type Mesh, type MeshOptions, type ServiceName } from './mesh';
export { connectClients, type MeshClients } from './clients';
export { waitFor } from './wait';
export { featuresOf } from './features';
