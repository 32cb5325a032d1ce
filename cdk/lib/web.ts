import * as fs from 'node:fs';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { DomainConfig } from './config';
import { acknowledgeCdkManagedWildcards, managedPolicyFinding } from './nag';

export interface WebProps {
  /** The built web app (`web/dist`). */
  readonly distDir: string;
  readonly domain?: DomainConfig;
}

/** What the web app reads from `/config.json` to find the backend. */
export interface WebAppConfig {
  /** The signaling WebSocket (`wss://…/prod`). */
  readonly wsUrl: string;
  /** Base of the room API's public endpoints; the app appends `/rooms`, `/rooms/{code}/token`. */
  readonly apiUrl: string;
}

/**
 * The web app: a private bucket that only this CloudFront distribution can read (Origin
 * Access Control), optionally on a custom domain.
 */
export class Web extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  /** `https://` origins the app is served from; the first is the canonical one. */
  readonly origins: string[];
  private readonly distDir: string;

  constructor(scope: Construct, id: string, props: WebProps) {
    super(scope, id);
    if (!fs.existsSync(props.distDir)) {
      throw new Error(
        `${props.distDir} does not exist: build the web app (npm run build in web/) ` +
          'or point -c webDist=DIR at a built copy',
      );
    }
    this.distDir = props.distDir;

    const logs = new s3.Bucket(this, 'Logs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      // CloudFront standard logs are delivered with object ACLs.
      objectOwnership: s3.ObjectOwnership.OBJECT_WRITER,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });
    Validations.of(logs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log bucket; logging it into itself would loop.',
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      serverAccessLogsBucket: logs,
      serverAccessLogsPrefix: 's3/',
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });

    const custom = props.domain && this.customDomain(props.domain);
    const origin = origins.S3BucketOrigin.withOriginAccessControl(this.bucket);
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Veet web app',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
      },
      additionalBehaviors: {
        // Read on every page load; a redeploy's new backend URLs must show up at once.
        '/config.json': {
          origin,
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
          cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        },
      },
      // Room links (/abc-defg-hij) are client-side routes: serve the app for them.
      errorResponses: [403, 404].map((httpStatus) => ({
        httpStatus,
        responseHttpStatus: 200,
        responsePagePath: '/index.html',
        ttl: Duration.seconds(10),
      })),
      // Only selectable with a custom certificate; the default one is fixed by CloudFront.
      minimumProtocolVersion: custom ? cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 : undefined,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: logs,
      logFilePrefix: 'cloudfront/',
      domainNames: custom ? [custom.domain.domainName] : undefined,
      certificate: custom?.certificate,
    });

    const cloudfrontOrigin = `https://${this.distribution.distributionDomainName}`;
    this.origins = custom ? [`https://${custom.domain.domainName}`, cloudfrontOrigin] : [cloudfrontOrigin];
    if (custom) {
      const target = route53.RecordTarget.fromAlias(new targets.CloudFrontTarget(this.distribution));
      new route53.ARecord(this, 'AliasV4', {
        zone: custom.zone,
        recordName: custom.domain.domainName,
        target,
      });
      new route53.AaaaRecord(this, 'AliasV6', {
        zone: custom.zone,
        recordName: custom.domain.domainName,
        target,
      });
    }

    Validations.of(this.distribution).acknowledge(
      { id: 'AwsSolutions-CFR1', reason: 'Meetings are for anyone, anywhere: no geo restriction.' },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'Static files only; the APIs behind the app are throttled at API Gateway. Add WAF when abuse shows.',
      },
      ...(custom
        ? []
        : [
            {
              id: 'AwsSolutions-CFR4',
              reason:
                'Without a custom domain CloudFront serves its default *.cloudfront.net certificate, ' +
                'whose TLS policy cannot be chosen; with -c domainName the policy is TLSv1.2_2021.',
            },
          ]),
    );
  }

  /** The app's URL (custom domain if any, else the CloudFront one). */
  get url(): string {
    return this.origins[0];
  }

  /** Uploads the built app and a `config.json` naming the backend, then invalidates the cache. */
  publish(appConfig: WebAppConfig): void {
    const deployment = new s3deploy.BucketDeployment(this, 'Deploy', {
      // One deployment for both, so pruning old app files never deletes config.json.
      sources: [s3deploy.Source.asset(this.distDir), s3deploy.Source.jsonData('config.json', appConfig)],
      destinationBucket: this.bucket,
      distribution: this.distribution,
      distributionPaths: ['/*'],
      memoryLimit: 512,
    });

    // The copying Lambda is CDK's own, shared stack-wide; its runtime and policy are CDK's.
    const handler = deployment.handlerRole.node.scope!;
    const reason = "CDK's BucketDeployment handler: CDK picks its runtime and writes its policy.";
    Validations.of(handler).acknowledge(
      { id: 'AwsSolutions-L1', reason },
      { id: managedPolicyFinding('service-role/AWSLambdaBasicExecutionRole'), reason },
    );
    acknowledgeCdkManagedWildcards(handler, reason);
  }

  private customDomain(domain: DomainConfig) {
    // Attributes, not a lookup: synth stays offline even with a domain.
    const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
      hostedZoneId: domain.hostedZoneId,
      zoneName: domain.hostedZoneName,
    });
    let certificate: acm.ICertificate;
    if (domain.certificateArn) {
      certificate = acm.Certificate.fromCertificateArn(this, 'Certificate', domain.certificateArn);
    } else if (Stack.of(this).region === 'us-east-1') {
      certificate = new acm.Certificate(this, 'Certificate', {
        domainName: domain.domainName,
        validation: acm.CertificateValidation.fromDns(zone),
      });
    } else {
      throw new Error(
        'CloudFront only uses certificates from us-east-1: pass -c certificateArn=<an ACM ' +
          'certificate there for ' +
          domain.domainName +
          '> or deploy to us-east-1',
      );
    }
    return { domain, zone, certificate };
  }
}
