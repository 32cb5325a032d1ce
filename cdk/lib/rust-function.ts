import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { managedPolicyFinding } from './nag';
import { LambdaArch, LambdaBinary, VeetConfig, lambdaAssetDir } from './config';

export interface RustFunctionProps {
  readonly config: VeetConfig;
  readonly binary: LambdaBinary;
  readonly description: string;
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly environment: Record<string, string>;
}

const ARCHITECTURES: Record<LambdaArch, lambda.Architecture> = {
  x86_64: lambda.Architecture.X86_64,
  arm64: lambda.Architecture.ARM_64,
};

/**
 * A Lambda function running one binary of the workspace crate `lambdas/`, as built by
 * `cargo lambda build` (`target/lambda/<binary>/bootstrap`), inside the VPC.
 */
export class RustFunction extends Construct {
  readonly fn: lambda.Function;

  constructor(scope: Construct, id: string, props: RustFunctionProps) {
    super(scope, id);

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.fn = new lambda.Function(this, 'Function', {
      description: props.description,
      runtime: lambda.Runtime.PROVIDED_AL2023,
      handler: 'bootstrap',
      architecture: ARCHITECTURES[props.config.lambdaArch],
      code: lambda.Code.fromAsset(lambdaAssetDir(props.config, props.binary)),
      memorySize: 256,
      // Redis round trips and a few PostToConnection calls; far below API Gateway's 29 s.
      timeout: Duration.seconds(10),
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      securityGroups: [props.securityGroup],
      environment: { RUST_LOG: 'info', ...props.environment },
      logGroup,
    });

    // Logs and the VPC network interface: AWS-maintained, minimal policies.
    for (const policy of ['AWSLambdaBasicExecutionRole', 'AWSLambdaVPCAccessExecutionRole']) {
      Validations.of(this.fn).acknowledge({
        id: managedPolicyFinding(`service-role/${policy}`),
        reason: `${policy} is the minimal AWS-maintained policy for a Lambda function in a VPC.`,
      });
    }
  }
}
