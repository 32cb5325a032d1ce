import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { asArray, logicalId, only, resourcesOfType, synth } from './helpers';

test('web bucket is private: all public access blocked, no public grant, TLS only', () => {
  const { stack, template } = synth();
  const bucketId = logicalId(stack, stack.web.bucket);
  const bucket = template.toJSON().Resources[bucketId].Properties;
  assert.deepEqual(bucket.PublicAccessBlockConfiguration, {
    BlockPublicAcls: true,
    BlockPublicPolicy: true,
    IgnorePublicAcls: true,
    RestrictPublicBuckets: true,
  });
  assert.equal(bucket.WebsiteConfiguration, undefined);
  const policy = only(template, 'AWS::S3::BucketPolicy', { Bucket: { Ref: bucketId } }).Properties;
  for (const statement of policy.PolicyDocument.Statement) {
    const everyone = statement.Principal === '*' || statement.Principal?.AWS === '*';
    if (everyone) assert.equal(statement.Effect, 'Deny', 'anonymous access may only be denied');
  }
  assert.ok(
    policy.PolicyDocument.Statement.some(
      (s: any) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false',
    ),
  );
});

test('CloudFront reads the bucket through Origin Access Control, for this distribution only', () => {
  const { stack, template } = synth();
  const oac = only(template, 'AWS::CloudFront::OriginAccessControl').Properties.OriginAccessControlConfig;
  assert.equal(oac.OriginAccessControlOriginType, 's3');
  assert.equal(oac.SigningBehavior, 'always');

  const distId = logicalId(stack, stack.web.distribution);
  const dist = template.toJSON().Resources[distId].Properties.DistributionConfig;
  const [origin] = dist.Origins;
  assert.ok(origin.OriginAccessControlId);
  assert.equal(origin.S3OriginConfig.OriginAccessIdentity, '');
  assert.equal(dist.DefaultCacheBehavior.ViewerProtocolPolicy, 'redirect-to-https');
  assert.equal(dist.DefaultRootObject, 'index.html');

  const bucketId = logicalId(stack, stack.web.bucket);
  const policy = only(template, 'AWS::S3::BucketPolicy', { Bucket: { Ref: bucketId } }).Properties;
  const read = policy.PolicyDocument.Statement.find(
    (s: any) => s.Principal?.Service === 'cloudfront.amazonaws.com',
  );
  assert.deepEqual(asArray(read.Action), ['s3:GetObject']);
  assert.match(JSON.stringify(read.Condition.StringEquals['AWS:SourceArn']), new RegExp(distId));
});

test('the built app and a config.json naming the WebSocket and room API URLs are deployed together', () => {
  const { stack, template, outdir } = synth();
  const deployment = only(template, 'Custom::CDKBucketDeployment').Properties;
  assert.equal(deployment.DestinationBucketName.Ref, logicalId(stack, stack.web.bucket));
  assert.equal(deployment.SourceObjectKeys.length, 2);
  assert.deepEqual(deployment.DistributionPaths, ['/*']);
  // Source.jsonData stages config.json with markers that the deployment replaces by
  // the deploy-time values it carries as SourceMarkers.
  const staged = fs
    .readdirSync(outdir)
    .map((d) => path.join(outdir, d, 'config.json'))
    .find((f) => fs.existsSync(f));
  assert.ok(staged, 'config.json is staged as an asset');
  const markers: Record<string, unknown> = Object.assign({}, ...deployment.SourceMarkers);
  const config: Record<string, string> = JSON.parse(fs.readFileSync(staged!, 'utf8'));
  const refsIn = (value: string) =>
    [...value.matchAll(/<<marker:0xbaba:\d+>>/g)].map((m) => (markers[m[0]] as { Ref: string }).Ref);
  assert.deepEqual(Object.keys(config).sort(), ['apiUrl', 'wsUrl']);
  assert.match(
    config.wsUrl,
    /^wss:\/\/<<marker:0xbaba:\d+>>\.execute-api\.us-east-1\.<<marker:0xbaba:\d+>>\/prod$/,
  );
  assert.deepEqual(refsIn(config.wsUrl), [logicalId(stack, stack.signaling.api), 'AWS::URLSuffix']);
  // The app calls `${apiUrl}/rooms`: the room API serves that under /api.
  assert.match(
    config.apiUrl,
    /^https:\/\/<<marker:0xbaba:\d+>>\.execute-api\.us-east-1\.<<marker:0xbaba:\d+>>\/api$/,
  );
  assert.deepEqual(refsIn(config.apiUrl), [logicalId(stack, stack.roomApi.api), 'AWS::URLSuffix']);
});

test('the built app comes from -c webDist; a missing one is a clear error', () => {
  const { outdir } = synth();
  const staged = fs.readdirSync(outdir).some((d) => fs.existsSync(path.join(outdir, d, 'index.html')));
  assert.ok(staged, 'index.html from webDist is staged');
  assert.throws(() => synth({ webDist: '/nonexistent/web/dist' }), /\/nonexistent\/web\/dist does not exist/);
});

test('outputs: web URL, WebSocket URL, room API URL', () => {
  const { template } = synth();
  const outputs = template.toJSON().Outputs;
  assert.match(JSON.stringify(outputs.WebUrl.Value), /https:\/\/.*DomainName/);
  assert.match(JSON.stringify(outputs.WebSocketUrl.Value), /wss:\/\/.*execute-api.*\/prod/);
  assert.match(JSON.stringify(outputs.RoomApiUrl.Value), /https:\/\/.*execute-api/);
});

test('custom domain: certificate validated in the hosted zone, alias records, no lookups', () => {
  const { stack, template, outdir } = synth({
    domainName: 'meet.example.com',
    hostedZoneId: 'Z0123456789ABC',
    hostedZoneName: 'example.com',
  });
  template.hasResourceProperties('AWS::CertificateManager::Certificate', {
    DomainName: 'meet.example.com',
    DomainValidationOptions: [{ DomainName: 'meet.example.com', HostedZoneId: 'Z0123456789ABC' }],
  });
  const dist =
    template.toJSON().Resources[logicalId(stack, stack.web.distribution)].Properties.DistributionConfig;
  assert.deepEqual(dist.Aliases, ['meet.example.com']);
  assert.equal(dist.ViewerCertificate.MinimumProtocolVersion, 'TLSv1.2_2021');
  for (const Type of ['A', 'AAAA']) {
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'meet.example.com.',
      Type,
      HostedZoneId: 'Z0123456789ABC',
      AliasTarget: Match.objectLike({ DNSName: Match.anyValue() }),
    });
  }
  assert.match(JSON.stringify(template.toJSON().Outputs.WebUrl.Value), /https:\/\/meet\.example\.com/);
  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
  assert.equal(manifest.missing, undefined, 'no context lookups');
});

test('custom domain outside us-east-1 needs an existing us-east-1 certificate', () => {
  const domain = {
    domainName: 'meet.example.com',
    hostedZoneId: 'Z0123456789ABC',
    hostedZoneName: 'example.com',
  };
  assert.throws(() => synth({ ...domain, region: 'eu-west-1' }), /certificateArn/);
  const arn = 'arn:aws:acm:us-east-1:123456789012:certificate/abc';
  const { template } = synth({ ...domain, region: 'eu-west-1', certificateArn: arn });
  // Only TURN's, which its load balancer needs in the stack's own region.
  assert.deepEqual(
    Object.values(resourcesOfType(template, 'AWS::CertificateManager::Certificate')).map(
      (c) => c.Properties.DomainName,
    ),
    ['turn.meet.example.com'],
  );
  template.hasResourceProperties('AWS::CloudFront::Distribution', {
    DistributionConfig: Match.objectLike({ ViewerCertificate: Match.objectLike({ AcmCertificateArn: arn }) }),
  });
  assert.throws(
    () => synth({ domainName: 'meet.example.com' }),
    /needs all of domainName, hostedZoneId, hostedZoneName/,
  );
});

test('no custom domain: no Route 53 or certificate resources', () => {
  const { template } = synth();
  assert.deepEqual(Object.keys(resourcesOfType(template, 'AWS::Route53::RecordSet')), []);
  template.resourceCountIs('AWS::CertificateManager::Certificate', 0);
});
