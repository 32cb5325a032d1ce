import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig } from './config';
import { VeetStack } from './veet-stack';

export const STACK_NAME = 'Veet';

/** Feature flags the stack relies on; cdk.json context can still override them. */
const FEATURE_FLAGS = {
  // New accounts cannot create launch configurations; the SFU instances need a launch template.
  '@aws-cdk/aws-autoscaling:generateLaunchTemplateInsteadOfLaunchConfig': true,
};

export interface BuildOptions {
  /** Context values, as `-c key=value` would give them. */
  readonly context?: Record<string, unknown>;
  readonly outdir?: string;
  /** Run cdk-nag's AwsSolutions checks during synthesis (on by default). */
  readonly nag?: boolean;
}

/** The app with its one stack: shared by `bin/veet.ts` and the tests. */
export function buildApp(options: BuildOptions = {}): { app: App; stack: VeetStack } {
  const app = new App({ context: { ...FEATURE_FLAGS, ...options.context }, outdir: options.outdir });
  const config = loadConfig(app.node);
  const stack = new VeetStack(app, STACK_NAME, {
    config,
    env: { account: config.account, region: config.region },
    description: 'Veet video meetings: signaling, room API, SFU fleet, Redis and web app',
  });
  // Any unacknowledged finding fails synthesis.
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}
