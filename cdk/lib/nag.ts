import * as iam from 'aws-cdk-lib/aws-iam';
import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import { rules } from 'cdk-nag';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import { IConstruct } from 'constructs';

/*
 * cdk-nag reports one finding per offending policy or resource (`Rule[finding]`), and each
 * must be acknowledged on its own, with a reason. These helpers name findings the way
 * cdk-nag does, so acknowledgements follow the code instead of hard-coded logical ids.
 */

/** The IAM4 finding for one AWS-managed policy, e.g. `service-role/AWSLambdaBasicExecutionRole`. */
export function managedPolicyFinding(policyName: string): string {
  return `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${policyName}]`;
}

/** Acknowledges, on `scope`, the IAM5 findings for the wildcard resources of one statement. */
export function acknowledgeWildcardResources(
  scope: IConstruct,
  statement: iam.PolicyStatement,
  reason: string,
): void {
  const stack = Stack.of(scope);
  for (const resource of statement.resources) {
    const flat = flattenCfnReference(stack.resolve(resource));
    if (flat.includes('*')) {
      Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${flat}]`, reason });
    }
  }
}

/**
 * Acknowledges every IAM5 finding in `scope` as it stands now. Only for roles whose policies
 * CDK writes (asset deployment, the ECS agent): call it after the last grant.
 */
export function acknowledgeCdkManagedWildcards(scope: IConstruct, reason: string): void {
  for (const node of scope.node.findAll()) {
    if (!CfnResource.isCfnResource(node)) continue;
    const findings = rules.iam.IAMNoWildcardPermissions(node);
    if (!Array.isArray(findings)) continue;
    for (const finding of findings) {
      Validations.of(node).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
    }
  }
}
