import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { asArray, logicalId, only, resourcesOfType, statementsOfRole, synth } from './helpers';

test('room HTTP API serves /rooms, /rooms/{proxy+} and /api/{proxy+} from the room API Lambda', () => {
  const { stack, template } = synth();
  const api = only(template, 'AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
  const routes = Object.values(resourcesOfType(template, 'AWS::ApiGatewayV2::Route')).filter(
    (r) => r.Properties.ApiId.Ref === api.id,
  );
  assert.deepEqual(routes.map((r) => r.Properties.RouteKey).sort(), [
    'ANY /api/{proxy+}',
    'ANY /rooms',
    'ANY /rooms/{proxy+}',
  ]);
  const fnId = logicalId(stack, stack.roomApi.function.fn);
  const integration = only(template, 'AWS::ApiGatewayV2::Integration', { ApiId: { Ref: api.id } });
  assert.equal(integration.Properties.PayloadFormatVersion, '2.0');
  assert.ok(JSON.stringify(integration.Properties.IntegrationUri).includes(fnId));
  // The browser app calls it from the CloudFront origin, and only from there.
  assert.deepEqual(
    stack.resolve(api.Properties.CorsConfiguration.AllowOrigins),
    stack.resolve(stack.web.origins),
  );
});

test('room API Lambda: Rust bootstrap in the VPC, configured with URLs and secret ARNs', () => {
  const { stack, template } = synth();
  const fn = template.toJSON().Resources[logicalId(stack, stack.roomApi.function.fn)].Properties;
  assert.equal(fn.Runtime, 'provided.al2023');
  assert.equal(fn.Handler, 'bootstrap');
  assert.equal(fn.VpcConfig.SubnetIds.length, 2);
  const env = fn.Environment.Variables;
  for (const name of ['VEET_REDIS_URL', 'VEET_PUBLIC_URL', 'VEET_WS_URL']) assert.ok(env[name], name);
  for (const name of [
    'VEET_TOKEN_SECRET_ARN',
    'VEET_REDIS_AUTH_SECRET_ARN',
    'VEET_WEBHOOK_SECRET_ARN',
    'VEET_API_SECRET_ARN',
  ]) {
    assert.ok(env[name]?.Ref, `${name} must reference a secret`);
  }
});

test('room API stage is throttled and writes access logs', () => {
  const { stack, template } = synth();
  const stage = only(template, 'AWS::ApiGatewayV2::Stage', {
    ApiId: { Ref: logicalId(stack, stack.roomApi.api) },
  });
  assert.equal(stage.Properties.StageName, '$default');
  assert.ok(stage.Properties.DefaultRouteSettings.ThrottlingRateLimit > 0);
  assert.ok(stage.Properties.AccessLogSettings.DestinationArn);
});

test('room API Lambda may manage the signaling API connections (close rooms, remove participants), nothing more', () => {
  const { stack, template } = synth();
  const fnResource = template.toJSON().Resources[logicalId(stack, stack.roomApi.function.fn)];
  const env = fnResource.Properties.Environment.Variables;
  assert.deepEqual(stack.resolve(env.VEET_APIGW_ENDPOINT), stack.resolve(stack.signaling.managementEndpoint));
  assert.match(JSON.stringify(env.VEET_APIGW_ENDPOINT), /https:\/\/.*\.execute-api\.us-east-1\..*\/prod/);

  const statements = statementsOfRole(template, fnResource.Properties.Role['Fn::GetAtt'][0]);
  const manage = statements.filter((s) =>
    asArray(s.Action).some((a: string) => a.startsWith('execute-api:')),
  );
  assert.equal(manage.length, 1);
  assert.deepEqual(asArray(manage[0].Action), ['execute-api:ManageConnections']);
  const apiId = logicalId(stack, stack.signaling.api);
  const resources = asArray(manage[0].Resource).map((r: any) => {
    const parts = r['Fn::Join'][1];
    assert.deepEqual(
      parts.filter((p: any) => p.Ref && p.Ref !== 'AWS::Partition' && !p.Ref.startsWith('AWS::')),
      [{ Ref: apiId }],
      'the signaling WebSocket API, not the room HTTP API',
    );
    return parts[parts.length - 1];
  });
  assert.deepEqual(resources.sort(), [
    '/prod/DELETE/@connections/*',
    '/prod/GET/@connections/*',
    '/prod/POST/@connections/*',
  ]);
  // Besides that: reading its four secrets; no other grant.
  assert.deepEqual(statements.map((s) => asArray(s.Action).join(',')).sort(), [
    'execute-api:ManageConnections',
    'secretsmanager:GetSecretValue',
  ]);
});
