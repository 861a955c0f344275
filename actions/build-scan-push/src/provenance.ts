// SLSA build provenance v1 (https://slsa.dev/spec/v1.0/provenance) of one build, as the runner describes it:
// the builder (the workflow that ran), the source repository and revision, the workflow and its trigger, and
// the build's parameters (build arguments, platforms, Dockerfile). Pure.
import type { Layout } from '../../shared/src/oci-layout.js';
import type { Inputs } from './inputs.js';

export const BUILD_TYPE = 'https://github.com/opennebula-kubernetes/build-scan-push/v1';

export function provenance(inputs: Inputs, layout: Layout, env: NodeJS.ProcessEnv) {
  const server = env.GITHUB_SERVER_URL || 'https://github.com';
  const repository = env.GITHUB_REPOSITORY ? `${server}/${env.GITHUB_REPOSITORY}` : '';
  const buildArgs = Object.fromEntries(
    (inputs.version ? [['ONE_VERSION', inputs.version]] : []).concat(inputs.buildArgs),
  );
  const run = env.GITHUB_RUN_ID ? `${repository}/actions/runs/${env.GITHUB_RUN_ID}` : '';
  return {
    buildDefinition: {
      buildType: BUILD_TYPE,
      externalParameters: {
        workflow: { ref: env.GITHUB_REF ?? '', repository, path: workflowPath(env.GITHUB_WORKFLOW_REF) },
        buildArgs,
        platforms: inputs.platforms,
        context: inputs.context,
        file: inputs.file,
        tags: inputs.tags,
      },
      internalParameters: {
        github: {
          event_name: env.GITHUB_EVENT_NAME ?? '',
          repository_id: env.GITHUB_REPOSITORY_ID ?? '',
          repository_owner_id: env.GITHUB_REPOSITORY_OWNER_ID ?? '',
          runner_environment: env.RUNNER_ENVIRONMENT ?? '',
        },
      },
      resolvedDependencies: repository
        ? [{ uri: `git+${repository}@${env.GITHUB_REF ?? ''}`, digest: { gitCommit: env.GITHUB_SHA ?? '' } }]
        : [],
    },
    runDetails: {
      builder: { id: env.GITHUB_WORKFLOW_REF ? `${server}/${env.GITHUB_WORKFLOW_REF}` : BUILD_TYPE },
      metadata: {
        invocationId: run ? `${run}/attempts/${env.GITHUB_RUN_ATTEMPT ?? '1'}` : '',
      },
      byproducts: layout.images.map((image) => ({
        name: image.platform,
        digest: { sha256: image.descriptor.digest.replace(/^sha256:/, '') },
      })),
    },
  };
}

/** `owner/repo/.github/workflows/x.yml@refs/…` → `.github/workflows/x.yml`. */
function workflowPath(workflowRef: string | undefined): string {
  if (!workflowRef) return '';
  return workflowRef.split('@')[0]!.split('/').slice(2).join('/');
}
