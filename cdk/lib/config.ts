import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Node } from 'constructs';

/** The repository root: this file runs compiled as cdk/dist/lib/config.js. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** The Lambda functions built from the workspace crate `lambdas/` (one binary each). */
export const LAMBDA_BINARIES = ['veet-signaling', 'veet-room-api'] as const;
export type LambdaBinary = (typeof LAMBDA_BINARIES)[number];

export type LambdaArch = 'x86_64' | 'arm64';

/** Optional custom domain for the web app; every field comes from context. */
export interface DomainConfig {
  readonly domainName: string;
  readonly hostedZoneId: string;
  readonly hostedZoneName: string;
  /** An existing ACM certificate in us-east-1; created in the hosted zone when omitted. */
  readonly certificateArn?: string;
}

/** Everything that can be tuned with `cdk deploy -c key=value`. */
export interface VeetConfig {
  readonly region: string;
  readonly account: string;
  readonly availabilityZones: string[];
  readonly natGateways: number;
  readonly redisNodeType: string;
  readonly lambdaArch: LambdaArch;
  /** Directory holding `<binary>/bootstrap`, as `cargo lambda build` writes it. */
  readonly lambdaAssets: string;
  readonly webDist: string;
  readonly sfuInstanceType: string;
  readonly sfuDesiredCount: number;
  readonly sfuMaxCount: number;
  readonly sfuUdpPortMin: number;
  readonly sfuUdpPortMax: number;
  readonly sfuHttpPort: number;
  readonly domain?: DomainConfig;
  /** Where outgoing webhooks go (`VEET_WEBHOOK_URLS`); none by default. */
  readonly webhookUrls: string[];
  /** TURN instances (one coturn each); 0 deploys no TURN, and clients get none. */
  readonly turnCount: number;
  readonly turnInstanceType: string;
  /** coturn's relay ports on each TURN instance. */
  readonly turnRelayPortMin: number;
  readonly turnRelayPortMax: number;
  /** The coturn image (the project's official one by default). */
  readonly turnImage: string;
}

/** Reads and validates the app's context; throws with a message naming the bad key. */
export function loadConfig(node: Node, env: NodeJS.ProcessEnv = process.env): VeetConfig {
  const str = (key: string): string | undefined => {
    const v = node.tryGetContext(key);
    return v === undefined || v === null || v === '' ? undefined : String(v);
  };
  const int = (key: string, fallback: number, min: number, max: number): number => {
    const raw = str(key);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new Error(`context ${key}=${raw}: expected an integer in ${min}..${max}`);
    }
    return n;
  };

  const lambdaArch = str('lambdaArch') ?? 'x86_64';
  if (lambdaArch !== 'x86_64' && lambdaArch !== 'arm64') {
    throw new Error(`context lambdaArch=${lambdaArch}: expected x86_64 or arm64`);
  }

  const sfuDesiredCount = int('sfuDesiredCount', 2, 1, 100);
  const sfuMaxCount = int('sfuMaxCount', 6, 1, 100);
  if (sfuMaxCount < sfuDesiredCount) {
    throw new Error(`context sfuMaxCount=${sfuMaxCount} is below sfuDesiredCount=${sfuDesiredCount}`);
  }
  const sfuUdpPortMin = int('sfuUdpPortMin', 50000, 1024, 65535);
  const sfuUdpPortMax = int('sfuUdpPortMax', 60000, 1024, 65535);
  if (sfuUdpPortMax < sfuUdpPortMin) {
    throw new Error(`context sfuUdpPortMax=${sfuUdpPortMax} is below sfuUdpPortMin=${sfuUdpPortMin}`);
  }

  const turnRelayPortMin = int('turnRelayPortMin', 49152, 1024, 65535);
  const turnRelayPortMax = int('turnRelayPortMax', 65535, 1024, 65535);
  if (turnRelayPortMax < turnRelayPortMin) {
    throw new Error(
      `context turnRelayPortMax=${turnRelayPortMax} is below turnRelayPortMin=${turnRelayPortMin}`,
    );
  }
  if (turnRelayPortMin <= 3478 && 3478 <= turnRelayPortMax) {
    throw new Error(
      `context turnRelayPortMin..turnRelayPortMax (${turnRelayPortMin}..${turnRelayPortMax}) includes the TURN port 3478`,
    );
  }

  const domainKeys = ['domainName', 'hostedZoneId', 'hostedZoneName'] as const;
  const given = domainKeys.filter((k) => str(k) !== undefined);
  if (given.length > 0 && given.length < domainKeys.length) {
    throw new Error(`a custom domain needs all of ${domainKeys.join(', ')}; got only ${given.join(', ')}`);
  }
  const domain: DomainConfig | undefined =
    given.length === 0
      ? undefined
      : {
          domainName: str('domainName')!,
          hostedZoneId: str('hostedZoneId')!,
          hostedZoneName: str('hostedZoneName')!,
          certificateArn: str('certificateArn'),
        };

  // A list in cdk.json, or comma-separated on the command line.
  const rawWebhookUrls = node.tryGetContext('webhookUrls');
  const webhookUrls = parseWebhookUrls(
    Array.isArray(rawWebhookUrls) ? rawWebhookUrls.join(',') : (str('webhookUrls') ?? ''),
  );

  // Fixed fallbacks let `cdk synth` run offline without credentials.
  const region = str('region') ?? env.CDK_DEFAULT_REGION ?? 'us-east-1';
  const availabilityZones = (str('availabilityZones') ?? `${region}a,${region}b`)
    .split(',')
    .map((az) => az.trim())
    .filter((az) => az !== '');
  if (availabilityZones.length < 2) {
    throw new Error('context availabilityZones: Redis Multi-AZ needs at least two zones');
  }

  return {
    region,
    account: env.CDK_DEFAULT_ACCOUNT ?? '123456789012',
    availabilityZones,
    natGateways: int('natGateways', 2, 1, 3),
    redisNodeType: str('redisNodeType') ?? 'cache.t4g.small',
    lambdaArch,
    // By default where `cargo lambda build` puts them, honouring CARGO_TARGET_DIR as cargo does.
    lambdaAssets: path.resolve(
      str('lambdaAssets') ?? path.resolve(REPO_ROOT, env.CARGO_TARGET_DIR ?? 'target', 'lambda'),
    ),
    webDist: path.resolve(str('webDist') ?? path.join(REPO_ROOT, 'web', 'dist')),
    sfuInstanceType: str('sfuInstanceType') ?? 'c6i.large',
    sfuDesiredCount,
    sfuMaxCount,
    sfuUdpPortMin,
    sfuUdpPortMax,
    sfuHttpPort: int('sfuHttpPort', 9090, 1024, 65535),
    domain,
    webhookUrls,
    turnCount: int('turnCount', 2, 0, 20),
    // Relaying is network-bound: a network-optimised Graviton instance.
    turnInstanceType: str('turnInstanceType') ?? 'c6gn.medium',
    turnRelayPortMin,
    turnRelayPortMax,
    turnImage: str('turnImage') ?? 'coturn/coturn:4.6',
  };
}

/**
 * Comma-separated webhook URLs, each an absolute `https://` URL. Refused: other schemes (the
 * events leave AWS over the internet), credentials in the URL (they would sit in plain text in
 * the template and the functions' environment; events are signed with the webhook secret
 * instead), and duplicates (one queue per URL: a repeat would queue every event twice).
 */
export function parseWebhookUrls(raw: string): string[] {
  const urls = raw
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  const seen = new Set<string>();
  for (const u of urls) {
    const bad = (why: string) => new Error(`context webhookUrls: ${u}: ${why}`);
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      throw bad('not a URL (expected https://host/path, comma-separated)');
    }
    if (parsed.protocol !== 'https:') throw bad('expected an https:// URL');
    if (parsed.hostname === '') throw bad('no host');
    if (parsed.username !== '' || parsed.password !== '') {
      throw bad(
        'credentials in the URL would be stored in plain text; receivers verify the Veet-Signature header instead',
      );
    }
    if (/\s/.test(u)) throw bad('contains whitespace');
    if (seen.has(u)) throw bad('listed twice');
    seen.add(u);
  }
  return urls;
}

/** `VEET_WEBHOOK_URLS` for the Rust binaries when webhooks are configured, else nothing. */
export function webhookEnvironment(config: VeetConfig): Record<string, string> {
  return config.webhookUrls.length > 0 ? { VEET_WEBHOOK_URLS: config.webhookUrls.join(',') } : {};
}

/** The directory holding one binary's `bootstrap`, or a clear error saying how to build it. */
export function lambdaAssetDir(config: VeetConfig, binary: LambdaBinary): string {
  const dir = path.join(config.lambdaAssets, binary);
  if (!fs.existsSync(path.join(dir, 'bootstrap'))) {
    throw new Error(
      `${dir}/bootstrap is missing: build it first with ` +
        `\`cargo lambda build --release -p veet-lambdas --bin ${binary}\`` +
        (config.lambdaArch === 'arm64' ? ' --arm64' : '') +
        ' (or point -c lambdaAssets=DIR at the built binaries)',
    );
  }
  return dir;
}
