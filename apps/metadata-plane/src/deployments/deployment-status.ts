export { DEPLOYMENT_STATUSES, type DeploymentStatus } from '@slate/graph';
