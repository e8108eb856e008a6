// What `clientForCommand` and commands load on first use: the client, and Apache Arrow with it (about
// 170 ms), which `slate --help` and commands that never connect do not pay for. A module of its own, not
// `import('@slate/client')`: a dynamic import of the package would keep all of it in the eager chunk.
export {
  createSlateClient,
  DEFAULT_API_SERVER,
  deleteSecret,
  downloadModelPart,
  getDatasetStatus,
  getEnvironment,
  getModelVersion,
  listDatasets,
  listEnvironments,
  listModels,
  listModelVersions,
  listSecrets,
  loadCredentials,
  promoteModel,
  registerModelVersion,
  setSecret,
  submitOfflineQuery,
  uploadModelPart,
} from '@slate/client';
export {
  clearTokenCache,
  configFolder,
  createFileTokenCache,
  credentialsFolder,
  loginCredentialsPath,
} from './auth/file-token-cache.ts';
