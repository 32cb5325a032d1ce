import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { asArray, logicalId, only, resourcesOfType, statementsOfRole, synth } from './helpers';

test('WebSocket API routes on the action field, with every route wired to the signaling Lambda', () => {
  const { stack, template } = synth();
  const api = only(template, 'AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET' });
  assert.equal(api.Properties.RouteSelectionExpression, '$request.body.action');

  const routes = Object.values(resourcesOfType(template, 'AWS::ApiGatewayV2::Route')).filter(
    (r) => r.Properties.ApiId.Ref === api.id,
  );
  assert.deepEqual(routes.map((r) => r.Properties.RouteKey).sort(), [
    '$connect',
    '$default',
    '$disconnect',
    'admit_guest',
    'chat',
    'deny_guest',
    'end_meeting',
    'join',
    'leave',
    'lock_meeting',
    'lower_hand',
    'mute',
    'mute_participant',
    'ping',
    'raise_hand',
    'react',
    'remove_participant',
    'set_lobby',
    'signal',
    'view',
  ]);

  const fnId = logicalId(stack, stack.signaling.function.fn);
  const integrations = resourcesOfType(template, 'AWS::ApiGatewayV2::Integration');
  for (const route of routes) {
    const integrationId = route.Properties.Target['Fn::Join'][1][1].Ref;
    const uri = JSON.stringify(integrations[integrationId].Properties.IntegrationUri);
    assert.ok(uri.includes(fnId), `${route.Properties.RouteKey} must invoke ${fnId}`);
    // API Gateway may invoke the function for exactly this route.
    template.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] },
      Principal: 'apigateway.amazonaws.com',
      SourceArn: Match.objectLike({
        'Fn::Join': ['', Match.arrayWith([`/*${route.Properties.RouteKey}`])],
      }),
    });
  }
});

test('signaling Lambda is the Rust bootstrap on provided.al2023, in the private subnets', () => {
  const { stack, template } = synth();
  const fn = template.toJSON().Resources[logicalId(stack, stack.signaling.function.fn)].Properties;
  assert.equal(fn.Runtime, 'provided.al2023');
  assert.equal(fn.Handler, 'bootstrap');
  assert.deepEqual(fn.Architectures, ['x86_64']);

  const privateSubnets = stack.network.vpc.privateSubnets.map((s) => stack.resolve(s.subnetId));
  assert.equal(privateSubnets.length, 2);
  assert.deepEqual(fn.VpcConfig.SubnetIds, privateSubnets);

  const env = fn.Environment.Variables;
  assert.match(
    JSON.stringify(env.VEET_REDIS_URL),
    /rediss:\/\/.*PrimaryEndPoint\.Address.*PrimaryEndPoint\.Port/,
  );
  assert.match(JSON.stringify(env.VEET_APIGW_ENDPOINT), /https:\/\/.*execute-api.*\/prod/);
  for (const name of ['VEET_TOKEN_SECRET_ARN', 'VEET_REDIS_AUTH_SECRET_ARN', 'VEET_WEBHOOK_SECRET_ARN']) {
    assert.ok(env[name]?.Ref, `${name} must reference a secret`);
  }
});

test('arm64 Lambdas are a deploy-time option', () => {
  const { stack, template } = synth({ lambdaArch: 'arm64' });
  const fn = template.toJSON().Resources[logicalId(stack, stack.signaling.function.fn)].Properties;
  assert.deepEqual(fn.Architectures, ['arm64']);
});

test('ManageConnections is granted on this API stage connections only', () => {
  const { stack, template } = synth();
  const apiId = logicalId(stack, stack.signaling.api);
  const manage = Object.values(resourcesOfType(template, 'AWS::IAM::Policy'))
    .flatMap((p) => p.Properties.PolicyDocument.Statement)
    .filter((s) => asArray(s.Action).some((a: string) => a.startsWith('execute-api:')));
  assert.equal(manage.length, 3, 'the signaling Lambda, the room API Lambda and the SFU task need it');
  for (const statement of manage) {
    assert.deepEqual(asArray(statement.Action), ['execute-api:ManageConnections']);
    for (const resource of asArray(statement.Resource)) {
      const parts = (resource as any)['Fn::Join'][1];
      assert.deepEqual(
        parts.find((p: any) => p.Ref?.startsWith('Signaling')),
        { Ref: apiId },
      );
      assert.match(parts[parts.length - 1], /^\/prod\/(POST|GET|DELETE)\/@connections\/\*$/);
    }
  }
});

test('signaling reads exactly the secrets its environment names', () => {
  const { stack, template } = synth();
  const fnResource = template.toJSON().Resources[logicalId(stack, stack.signaling.function.fn)];
  const env = fnResource.Properties.Environment.Variables;
  const named = Object.keys(env)
    .filter((k) => k.endsWith('_SECRET_ARN'))
    .map((k) => env[k].Ref)
    .sort();
  const roleId = fnResource.Properties.Role['Fn::GetAtt'][0];
  const reads = statementsOfRole(template, roleId).filter((s) =>
    asArray(s.Action).some((a: string) => a.startsWith('secretsmanager:')),
  );
  assert.equal(reads.length, 1);
  assert.deepEqual(asArray(reads[0].Action), ['secretsmanager:GetSecretValue']);
  assert.deepEqual(
    asArray(reads[0].Resource)
      .map((r: any) => r.Ref)
      .sort(),
    named,
  );
  // token, redisAuth, webhook and turn
  assert.equal(named.length, 4);
});

test('WebSocket stage is throttled and writes access logs', () => {
  const { stack, template } = synth();
  template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
    ApiId: { Ref: logicalId(stack, stack.signaling.api) },
    StageName: 'prod',
    AutoDeploy: true,
    DefaultRouteSettings: { ThrottlingRateLimit: Match.anyValue(), ThrottlingBurstLimit: Match.anyValue() },
    AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('connectionId') },
  });
  // WebSocket access logs go through the account's API Gateway CloudWatch role.
  template.resourceCountIs('AWS::ApiGateway::Account', 1);
});
