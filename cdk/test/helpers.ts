import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../lib/app';
import { REPO_ROOT } from '../lib/config';
import { VeetStack } from '../lib/veet-stack';

export { REPO_ROOT };
export const CDK_DIR = path.join(REPO_ROOT, 'cdk');

/** Temporary directories of this test process, removed when it exits (assets are large). */
const scratch: string[] = [];
process.on('exit', () => scratch.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

let webDist: string | undefined;

/** The built web app if there is one, else a stand-in, so the tests need no web build. */
export function webDistForTests(): string {
  if (webDist) return webDist;
  const built = path.join(REPO_ROOT, 'web', 'dist');
  if (fs.existsSync(path.join(built, 'index.html'))) return (webDist = built);
  webDist = tempDir('veet-cdk-web-');
  fs.writeFileSync(path.join(webDist, 'index.html'), '<!doctype html><title>Veet</title>\n');
  return webDist;
}

export interface Synthesized {
  readonly stack: VeetStack;
  readonly template: Template;
  /** The cloud assembly directory (assets staged there). */
  readonly outdir: string;
}

const cache = new Map<string, Synthesized>();

/** Synthesizes the app (cdk-nag included) with the given context; memoized per context. */
export function synth(context: Record<string, unknown> = {}): Synthesized {
  const key = JSON.stringify(context);
  const hit = cache.get(key);
  if (hit) return hit;
  const outdir = tempDir('veet-cdk-out-');
  const { stack } = buildApp({
    // Metadata as the CDK CLI writes it; cfn-lint recognises CDK templates by it.
    context: {
      'aws:cdk:enable-path-metadata': true,
      'aws:cdk:version-reporting': true,
      webDist: webDistForTests(),
      ...context,
    },
    outdir,
  });
  const result = { stack, template: Template.fromStack(stack), outdir };
  cache.set(key, result);
  return result;
}

type Resources = Record<string, { Type: string; Properties?: any; DependsOn?: unknown }>;

/** Resources of one type, by logical id. */
export function resourcesOfType(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

/** The only resource of a type matching `props`; fails unless there is exactly one. */
export function only(template: Template, type: string, props?: unknown): { id: string; Properties: any } {
  const found = Object.entries(template.findResources(type, props ? { Properties: props } : undefined));
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  const [id, resource] = found[0];
  return { id, Properties: (resource as any).Properties };
}

/** The logical id of a construct's CloudFormation resource. */
export function logicalId(stack: VeetStack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as any);
}

/** Policy statements attached to a role (inline policies and AWS::IAM::Policy resources). */
export function statementsOfRole(template: Template, roleLogicalId: string): any[] {
  const statements: any[] = [];
  for (const policy of Object.values(resourcesOfType(template, 'AWS::IAM::Policy'))) {
    const roles = policy.Properties.Roles ?? [];
    if (roles.some((r: any) => r.Ref === roleLogicalId)) {
      statements.push(...policy.Properties.PolicyDocument.Statement);
    }
  }
  const role = template.toJSON().Resources[roleLogicalId];
  for (const inline of role?.Properties?.Policies ?? []) statements.push(...inline.PolicyDocument.Statement);
  return statements;
}

export const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** A construct's own CloudFormation resource, found by its logical id. */
export function resourceOf(
  stack: VeetStack,
  template: Template,
  construct: { node: { defaultChild?: unknown } },
): { id: string; Properties: any } {
  const id = logicalId(stack, construct);
  return { id, Properties: template.toJSON().Resources[id].Properties };
}
