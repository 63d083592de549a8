'use strict';
/**
 * A local osls plugin: the role's log permissions name each function's own log group, exactly.
 *
 * osls grants every role `logs:CreateLogGroup`, `logs:CreateLogStream` and `logs:TagResource` on
 * `log-group:/aws/lambda/<service>-<stage>*:*`, and `logs:PutLogEvents` below it. The wildcard after
 * the stage lets stage `prod` write into the log group of stage `prod-2` (or of any function whose
 * name starts the same); the stack creates the log group itself, so CreateLogGroup is never needed,
 * and the function tags nothing. This plugin replaces those two statements, once the template is
 * compiled, by `logs:CreateLogStream` on each function's own log group and `logs:PutLogEvents` on its
 * streams. If osls ever stops generating them as expected, packaging fails instead of deploying a
 * wider role.
 */

const OSLS_LOG_ACTIONS = ['logs:CreateLogStream', 'logs:CreateLogGroup', 'logs:TagResource'];
const ROLE_LOGICAL_ID = 'IamRoleLambdaExecution';

const logGroupArn = (logGroupName, suffix) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:${logGroupName}${suffix}`,
});

const sameActions = (statement, actions) => {
  const list = [].concat(statement.Action);
  return list.length === actions.length && actions.every((action) => list.includes(action));
};

class ExactLogPermissions {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:package:finalize': () => this.narrow() };
  }

  narrow() {
    const { service } = this.serverless;
    const role = service.provider.compiledCloudFormationTemplate.Resources[ROLE_LOGICAL_ID];
    if (!role) return; // a role given by ARN: its permissions are not ours to shape
    const statements = role.Properties.Policies[0].PolicyDocument.Statement;
    const streams = statements.findIndex((s) => sameActions(s, OSLS_LOG_ACTIONS));
    const events = statements.findIndex((s) => sameActions(s, ['logs:PutLogEvents']));
    if (streams < 0 || events < 0) {
      throw new Error(
        'exact-log-permissions: osls no longer generates the log statements this plugin narrows; check the role by hand',
      );
    }
    const logGroups = service
      .getAllFunctions()
      .map((name) => service.getFunction(name))
      .filter((fn) => !fn.disableLogs)
      .map((fn) => `/aws/lambda/${fn.name}`);
    statements[streams] = {
      Effect: 'Allow',
      Action: ['logs:CreateLogStream'],
      Resource: logGroups.map((group) => logGroupArn(group, ':*')),
    };
    statements[events] = {
      Effect: 'Allow',
      Action: ['logs:PutLogEvents'],
      Resource: logGroups.map((group) => logGroupArn(group, ':log-stream:*')),
    };
  }
}

module.exports = ExactLogPermissions;
