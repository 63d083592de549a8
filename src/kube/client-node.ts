/**
 * The parts of @kubernetes/client-node the function uses, imported from the modules that define
 * them. The package's index also loads exec, attach, port-forward and cp, whose WebSocket and tar
 * dependencies (about 0.1 MB minified) esbuild cannot drop, and which every cold start would parse.
 * Same classes as the index exports (it re-exports these modules): types from
 * `@kubernetes/client-node` still match. Values the Lambda path needs come from here; type-only
 * imports may keep naming the package.
 */
export { KubeConfig } from '@kubernetes/client-node/dist/config.js';
export { createConfiguration } from '@kubernetes/client-node/dist/gen/configuration.js';
export { ServerConfiguration } from '@kubernetes/client-node/dist/gen/servers.js';
// The index exports these as CoreV1Api, PolicyV1Api, AppsV1Api, CoordinationV1Api and StorageV1Api;
// only the groups a drain calls (coordination: the disruption budget's Lease; storage: the node's
// VolumeAttachments, awaited before its lifecycle hooks are completed).
export {
  ObjectAppsV1Api as AppsV1Api,
  ObjectCoordinationV1Api as CoordinationV1Api,
  ObjectCoreV1Api as CoreV1Api,
  ObjectPolicyV1Api as PolicyV1Api,
  ObjectStorageV1Api as StorageV1Api,
} from '@kubernetes/client-node/dist/gen/types/ObjectParamAPI.js';
export { setHeaderOptions } from '@kubernetes/client-node/dist/middleware.js';
export { PatchStrategy } from '@kubernetes/client-node/dist/patch.js';
export { Watch } from '@kubernetes/client-node/dist/watch.js';
