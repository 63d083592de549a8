'use strict';
/**
 * Outcome events (README "Outcome events"): the bus the function puts them on, by
 * `--param outcomeEventBus=<name or event-bus ARN>` (default: `default`, the account's own bus), and
 * an IAM policy that lets the role put events on that one bus; none with `--param outcomeEvents=false`.
 *
 * Used as `${file(./deploy/serverless/outcome-events.cjs):<key>}`.
 */

const { readBool, readString } = require('./params.cjs');

// The same rule as EVENT_BUS_PATTERN in src/notify/outcome-events.ts, which the function applies again
// at start: a name of this account and region (no slash: partner buses take no PutEvents), or an ARN.
const BUS_NAME = /^[A-Za-z0-9._-]{1,256}$/;
const BUS_ARN =
  /^arn:aws[a-z-]*:events:[a-z]{2,4}(?:-[a-z]+)+-\d{1,2}:\d{12}:event-bus\/[A-Za-z0-9._-]{1,256}$/;
// The role osls creates for the functions of the service.
const ROLE_LOGICAL_ID = 'IamRoleLambdaExecution';

/** The bus named by the params; throws on a value that is neither a bus name nor an event-bus ARN. */
async function outcomeBus(resolveVariable) {
  const bus = await readString(resolveVariable, 'outcomeEventBus');
  if (!BUS_NAME.test(bus) && !BUS_ARN.test(bus)) {
    throw new Error(`param "outcomeEventBus": expected an event bus name or an event-bus ARN, got "${bus}"`);
  }
  return bus;
}

/** The bus's ARN: given, or the name's in the stack's own account and region. */
function busArn(bus) {
  if (BUS_ARN.test(bus)) return bus;
  return { 'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:event-bus/${bus}` };
}

module.exports = {
  /** OUTCOME_EVENT_BUS: the bus as given. */
  busName: async ({ resolveVariable }) => outcomeBus(resolveVariable),
  /** A `resources` array item: the role's permission to put events on the bus, or nothing when they are off. */
  putPolicy: async ({ resolveVariable }) => {
    const bus = await outcomeBus(resolveVariable);
    if (!(await readBool(resolveVariable, 'outcomeEvents'))) return {};
    return {
      Resources: {
        OutcomeEventsPutPolicy: {
          Type: 'AWS::IAM::RolePolicy',
          Properties: {
            RoleName: { Ref: ROLE_LOGICAL_ID },
            PolicyName: 'put-outcome-events',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: busArn(bus) }],
            },
          },
        },
      },
    };
  },
};
